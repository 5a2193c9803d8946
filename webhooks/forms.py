from django import forms

from .catalogue import EVENTS


class EndpointForm(forms.Form):
    """Add an endpoint; the service checks the URL (https in production, a public address) and the events."""

    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where your system receives events, e.g. https://shop.example/webhooks/mall-pickup.",
    )
    events = forms.MultipleChoiceField(
        choices=list(EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave them all unticked to receive every event, including ones we add later.",
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="A note for your team, e.g. “Order sync on our website”."
    )
