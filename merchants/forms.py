from django import forms
from django.contrib import messages
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.forms.formsets import BaseFormSet
from django.utils.text import capfirst

from common.clients import client_address
from common.errors import TooManyAttemptsError
from common.geocoding import GeocodingError, GeoPoint, geocode, validate_zip_code
from common.timezones import US_TIMEZONES
from notifications.services import notification_email

from .models import ApiKey, Closure, OpeningHours, Store
from .selectors import malls
from .services import StandaloneAddress, api_key_origins_clean, password_reset_limit_hit


def error_summary(*forms) -> list[tuple[str, str]]:
    """Every problem of these forms and formsets as (id of the field to link to, or "" for the whole form; text).

    The text names the field as its label does, and a formset's row by its `item_name` and place ("Closure 2
    date: ..."), so that the list at the top of a page reads on its own.
    """
    problems = []
    for form in forms:
        if isinstance(form, BaseFormSet):
            problems += [("", str(error)) for error in form.non_form_errors()]
            for number, row in enumerate(form.forms, start=1):
                problems += _form_problems(row, f"{getattr(form, 'item_name', 'Row')} {number} ")
        else:
            problems += _form_problems(form, "")
    return problems


def _form_problems(form, prefix: str) -> list[tuple[str, str]]:
    if not form.is_bound:
        return []
    problems = [("", f"{prefix}{error}".strip()) for error in form.non_field_errors()]
    for field in form:
        label = f"{prefix}{field.label[:1].lower()}{field.label[1:]}" if prefix else capfirst(field.label)
        anchor = "" if field.is_hidden else field.id_for_label
        problems += [(anchor, f"{label}: {error}") for error in field.errors]
    return problems


class PasswordPairForm(forms.Form):
    """A new password typed twice and checked against the password rules."""

    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password and password != data.get("password_again"):
            self.add_error("password_again", "The two passwords are not the same.")
        elif password:
            try:
                validate_password(password)
            except ValidationError as error:
                self.add_error("password", error)
        return data


class SignupForm(PasswordPairForm):
    business_name = forms.CharField(max_length=200, help_text="The name customers know your shop by.")
    owner_name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(help_text="You log in with this address.")
    phone = forms.CharField(max_length=30, required=False)

    field_order = ["business_name", "owner_name", "email", "phone", "password", "password_again"]


class SetPasswordForm(PasswordPairForm):
    """For an invited team member: their name and a new password."""

    full_name = forms.CharField(label="Your name", max_length=200)

    field_order = ["full_name", "password", "password_again"]


class InvitationForm(forms.Form):
    email = forms.EmailField(help_text="We email them a link to set a password and join your team.")


class StoreForm(forms.ModelForm):
    """A store's details and where it is: in one of the program's malls, or at its own address."""

    required_css_class = "required"  # the label of each required field is marked (portal.css)

    mall = forms.ModelChoiceField(
        queryset=malls(), required=False, empty_label="Not in a mall: my store has its own address"
    )
    address_line1 = forms.CharField(label="Street address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2, required=False, help_text="Two letters, e.g. AZ.")
    postal_code = forms.CharField(label="ZIP code", max_length=10, required=False, validators=[validate_zip_code])
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False)
    timezone = forms.ChoiceField(label="Time zone", choices=[("", "From the ZIP code"), *US_TIMEZONES], required=False)

    ADDRESS_REQUIRED = ("address_line1", "city", "state", "postal_code")

    class Meta:
        model = Store
        fields = [
            "name",
            "unit",
            "phone",
            "text_on_arrival",
            "service_radius_miles",
            "same_day_cutoff",
            "pickup_instructions",
            "notify_customers",
        ]
        widgets = {
            "same_day_cutoff": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "pickup_instructions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        site = self.instance.site if self.instance.site_id else None
        if site is not None:
            self.initial["mall"] = site if site.kind == site.Kind.MALL else None
            if site.kind == site.Kind.STANDALONE:
                for name in ("address_line1", "address_line2", "city", "state", "postal_code", "latitude", "longitude"):
                    self.initial[name] = getattr(site, name)
                self.initial["timezone"] = site.timezone

    def clean(self):
        data = super().clean()
        if data.get("mall"):
            return data
        for name in self.ADDRESS_REQUIRED:
            if not data.get(name) and name not in self.errors:
                self.add_error(name, "Needed when the store is not in one of our malls.")
        if not self.errors:
            self.standalone_point = self._place(data)
        return data

    def _place(self, data) -> GeoPoint | None:
        """Coordinates from the form if given, otherwise from the ZIP code; the zone likewise."""
        latitude, longitude, zone = data.get("latitude"), data.get("longitude"), data.get("timezone")
        if (latitude is None) != (longitude is None):
            self.add_error("longitude" if latitude is not None else "latitude", "Give both coordinates, or neither.")
            return None
        try:
            found = geocode(data["postal_code"])
        except GeocodingError as error:
            if latitude is None or not zone:
                self.add_error("postal_code", f"{error} Or give the store's coordinates and time zone.")
                return None
            found = None
        return GeoPoint(
            latitude=latitude if latitude is not None else found.latitude,
            longitude=longitude if longitude is not None else found.longitude,
            timezone=zone or found.timezone,
            city=data["city"],
            state=data["state"],
        )

    def standalone_address(self) -> StandaloneAddress | None:
        data = self.cleaned_data
        if data.get("mall"):
            return None
        return StandaloneAddress(
            address_line1=data["address_line1"],
            address_line2=data["address_line2"],
            city=data["city"],
            state=data["state"],
            postal_code=data["postal_code"],
            point=self.standalone_point,
        )


class WeeklyHoursForm(forms.Form):
    """Opening and closing time for each weekday; both empty means closed that day."""

    def __init__(self, *args, store: Store | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        current = {hours.weekday: hours for hours in store.opening_hours.all()} if store and store.pk else {}
        for weekday, label in OpeningHours.Weekday.choices:
            day = label.lower()
            widget = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            self.fields[f"{day}_opens"] = forms.TimeField(label=f"{label} opens", required=False, widget=widget)
            self.fields[f"{day}_closes"] = forms.TimeField(label=f"{label} closes", required=False, widget=widget)
            if weekday in current:
                self.initial[f"{day}_opens"] = current[weekday].opens
                self.initial[f"{day}_closes"] = current[weekday].closes

    def days(self):
        """(label, opens field, closes field) per weekday, for the template's table."""
        for _weekday, label in OpeningHours.Weekday.choices:
            day = label.lower()
            yield label, self[f"{day}_opens"], self[f"{day}_closes"]

    def clean(self):
        data = super().clean()
        self.hours = {}
        for weekday, label in OpeningHours.Weekday.choices:
            day = label.lower()
            opens, closes = data.get(f"{day}_opens"), data.get(f"{day}_closes")
            if f"{day}_opens" in self.errors or f"{day}_closes" in self.errors or (opens is None and closes is None):
                continue
            if opens is None or closes is None:
                missing = f"{day}_opens" if opens is None else f"{day}_closes"
                self.add_error(missing, f"Give both times for {label}, or leave both empty if closed.")
            elif closes <= opens:
                self.add_error(f"{day}_closes", f"On {label} the closing time must be after the opening time.")
            else:
                self.hours[weekday] = (opens, closes)
        if not self.errors and not self.hours:
            raise ValidationError("Give the opening hours of at least one day of the week.")
        return data


class BaseClosureFormSet(BaseInlineFormSet):
    item_name = "Closure"  # in the error summary: "Closure 2 date: ..."


ClosureFormSet = inlineformset_factory(
    Store,
    Closure,
    formset=BaseClosureFormSet,
    fields=["date", "reason"],
    extra=2,
    can_delete=True,
    widgets={"date": forms.DateInput(attrs={"type": "date"})},
)


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's password reset, with the email written to the outbox so an outage cannot lose it,
    and at most PASSWORD_RESET_RATE_LIMIT requests per client and per address.

    Given the request (merchants.views.PasswordResetView), a request over the limit is a form error;
    without it (Django's own view), it is counted when the form sends: nothing is sent, and the next
    page says why.
    """

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.rate_limited = False

    def clean(self):
        data = super().clean()
        if self.request is not None and data.get("email"):
            try:
                password_reset_limit_hit(email=data["email"], client=client_address(self.request))
            except TooManyAttemptsError as error:
                self.rate_limited = True
                raise ValidationError(str(error), code="rate_limited") from None
        return data

    def save(self, *args, request=None, **kwargs):
        if self.request is None and request is not None:
            try:
                password_reset_limit_hit(email=self.cleaned_data["email"], client=client_address(request))
            except TooManyAttemptsError as error:
                messages.error(request, str(error))
                return
        super().save(*args, request=request, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        notification_email(to=[to_email], template="password_reset", context=context, user=context["user"], secret=True)


class ApiKeyForm(forms.Form):
    """A new key: secret (servers, the whole API) or publishable (web pages: quotes only, from listed origins)."""

    name = forms.CharField(max_length=100, help_text="What will use the key, e.g. “Website checkout”.")
    kind = forms.ChoiceField(
        label="Kind",
        choices=[
            (ApiKey.Kind.SECRET, "Secret key: for your servers, the whole API; never put it in a web page"),
            (ApiKey.Kind.PUBLISHABLE, "Publishable key: for your web pages, delivery quotes only (checkout widget)"),
        ],
        widget=forms.RadioSelect,
        initial=ApiKey.Kind.SECRET,
        required=False,
    )
    allowed_origins = forms.CharField(
        label="Web addresses allowed to use it",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example"}),
        required=False,
        help_text="Publishable keys only: the sites whose pages show the delivery promise, one per line, as "
        "scheme://host[:port] without a path, e.g. https://shop.example or https://www.shop.example.",
    )

    def clean_kind(self):
        return self.cleaned_data["kind"] or ApiKey.Kind.SECRET

    def clean_allowed_origins(self) -> list[str]:
        lines = self.cleaned_data["allowed_origins"].replace(",", "\n").split()
        try:
            return api_key_origins_clean(lines)
        except ValidationError as error:
            raise ValidationError(error.message_dict["allowed_origins"]) from None

    def clean(self):
        data = super().clean()
        origins = data.get("allowed_origins")
        if data.get("kind") == ApiKey.Kind.PUBLISHABLE and origins == []:
            self.add_error("allowed_origins", "List the web address of at least one page that will show the promise.")
        elif data.get("kind") == ApiKey.Kind.SECRET and origins:
            self.add_error(
                "allowed_origins",
                "Only publishable keys list web addresses: choose “Publishable key”, or leave this empty.",
            )
        return data
