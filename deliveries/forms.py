from django import forms

from pickups.models import DELIVERY_PLACES, FAILURE_REASONS


class ScanForm(forms.Form):
    """The scan page's form, for drivers' phones without JavaScript: one store, its code, a label."""

    store = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    store_code = forms.CharField(max_length=12, error_messages={"required": "Enter the store's code."})
    label_codes = forms.CharField(max_length=40, error_messages={"required": "Scan or type a label."})

    def clean_label_codes(self) -> list[str]:
        return [self.cleaned_data["label_codes"]]


def posted_location(data) -> tuple | None:
    """The phone's location sent with a check-in, if both halves are numbers (else none was shared)."""
    number = forms.DecimalField(max_digits=9, decimal_places=6, required=False)
    try:
        latitude, longitude = number.clean(data.get("latitude")), number.clean(data.get("longitude"))
    except forms.ValidationError:
        return None
    return (latitude, longitude) if latitude is not None and longitude is not None else None


class DeliverForm(forms.Form):
    left_at = forms.ChoiceField(choices=DELIVERY_PLACES.items())
    recipient_name = forms.CharField(max_length=200, required=False)
    photo = forms.FileField(required=False)


class FailForm(forms.Form):
    reason = forms.ChoiceField(choices=FAILURE_REASONS.items())
    note = forms.CharField(max_length=500, required=False)
