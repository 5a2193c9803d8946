from django import forms

from common.geocoding import validate_zip_code
from merchants.models import Store

from .csv_orders import MAX_IMPORT_BYTES, too_big
from .intake import MAX_NOTES_LENGTH, ORDER_FIELDS, OrderDraft, PackageDraft
from .models import MAX_PACKAGES, Order, Package
from .services import ORDER_EDITABLE_FIELDS, ORDER_FIXED_FIELDS


class OrderForm(forms.ModelForm):
    """A new order typed in the portal, or a new order's changes (`order`); the rules are checked by the intake
    service. When changing an order, the fields it keeps (services.ORDER_FIXED_FIELDS) are shown, not editable."""

    required_css_class = "required"  # the label of each required field is marked (portal.css)

    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False)
    postal_code = forms.CharField(label="ZIP code", max_length=10, validators=[validate_zip_code])
    notes = forms.CharField(max_length=MAX_NOTES_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = Order
        fields = ORDER_FIELDS

    def __init__(self, *args, merchant, order: Order | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if order is not None:
            self._fill_from(order)
            return
        stores = Store.objects.filter(merchant=merchant, is_active=True).select_related("site")
        self.fields["store"].queryset = stores
        # A merchant with one store has nothing to choose: it is chosen for them.
        only = list(stores[:2])
        if len(only) == 1 and not self.is_bound:
            self.initial["store"] = only[0].pk

    def _fill_from(self, order: Order) -> None:
        """Prefilled with the order as it is; what cannot change is shown disabled (a browser does not send it,
        Django takes the order's value)."""
        self.initial = {name: getattr(order, name) for name in self.Meta.fields if name != "store"}
        self.initial["store"] = order.store_id
        self.fields["store"].queryset = Store.objects.filter(pk=order.store_id)
        for name in ORDER_FIXED_FIELDS:
            self.fields[name].disabled = True

    def edits(self, packages: list[PackageDraft]) -> dict:
        """The changes for `services.order_edit`: every field the merchant may change, as typed, and the packages."""
        return {name: self.cleaned_data[name] for name in ORDER_EDITABLE_FIELDS} | {"packages": packages}

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


def packages_initial(order: Order) -> list[dict]:
    """An order's packages as the rows of a PackageFormSet, to change them."""
    return [{name: getattr(package, name) for name in PackageForm.Meta.fields} for package in order.packages.all()]


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why the order is cancelled; shown in the order's history.")
    # A cancel cannot be undone: the merchant says so with a tick, which works without JavaScript.
    confirm = forms.BooleanField(
        label="Yes, cancel this order",
        error_messages={"required": "Tick “Yes, cancel this order” to cancel it."},
    )


class OrderImportForm(forms.Form):
    file = forms.FileField(help_text="A CSV file in our template's format, up to 2 MB and 5,000 orders.")

    def clean_file(self):
        """Refused by its real size, before any of it is read (the view reads at most the limit)."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(too_big(upload.size))
        return upload
