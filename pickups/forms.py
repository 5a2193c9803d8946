from django import forms

from common.geocoding import validate_zip_code
from merchants.models import Store

from .csv_orders import MAX_IMPORT_BYTES, too_big
from .intake import MAX_NOTES_LENGTH, ORDER_FIELDS, OrderDraft, PackageDraft
from .models import MAX_PACKAGES, Order, Package


class OrderForm(forms.ModelForm):
    """A new order typed in the portal; the rules are checked by the intake service."""

    required_css_class = "required"  # the label of each required field is marked (portal.css)

    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False)
    postal_code = forms.CharField(label="ZIP code", max_length=10, validators=[validate_zip_code])
    notes = forms.CharField(max_length=MAX_NOTES_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = Order
        fields = ORDER_FIELDS

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        stores = Store.objects.filter(merchant=merchant, is_active=True).select_related("site")
        self.fields["store"].queryset = stores
        # A merchant with one store has nothing to choose: it is chosen for them.
        only = list(stores[:2])
        if len(only) == 1 and not self.is_bound:
            self.initial["store"] = only[0].pk

    def draft(self, packages: list[PackageDraft]) -> OrderDraft:
        data = self.cleaned_data
        fields = {name: data[name] for name in self.Meta.fields if name != "store"}
        return OrderDraft(store_id=data["store"].pk, packages=packages, **fields)

    def add_rule_errors(self, errors: dict[str, list[str]]) -> None:
        """Errors from the intake rules, on their field where the form has it."""
        for field, messages in errors.items():
            self.add_error(field if field in self.fields else None, messages)


class PackageForm(forms.ModelForm):
    class Meta:
        model = Package
        fields = ["weight_lb", "length_in", "width_in", "height_in"]
        error_messages = {"weight_lb": {"required": "Give this package's weight, or remove it."}}
        # Formsets leave `required` off their inputs; the weight is, and screen readers should say so.
        widgets = {"weight_lb": forms.NumberInput(attrs={"required": True})}


class BasePackageFormSet(forms.BaseFormSet):
    item_name = "Package"  # in the error summary: "Package 2 weight (lb): ..."

    def get_form_kwargs(self, index):
        """Every row counts, added ones too: a package row left empty is an error to fix or remove, never
        dropped in silence (Django lets rows past `min_num` be empty and skips them)."""
        return {**super().get_form_kwargs(index), "empty_permitted": False}


PackageFormSet = forms.formset_factory(
    PackageForm,
    formset=BasePackageFormSet,
    extra=0,
    min_num=1,
    max_num=MAX_PACKAGES,
    validate_min=True,
    validate_max=True,
)


def package_drafts(formset) -> list[PackageDraft]:
    return [PackageDraft(**form.cleaned_data) for form in formset if form.cleaned_data]


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why the order is cancelled; shown in the order's history.")


class OrderImportForm(forms.Form):
    file = forms.FileField(help_text="A CSV file in our template's format, up to 2 MB and 5,000 orders.")

    def clean_file(self):
        """Refused by its real size, before any of it is read (the view reads at most the limit)."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(too_big(upload.size))
        return upload
