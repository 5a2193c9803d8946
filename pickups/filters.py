import django_filters

from merchants.models import Store

from .models import Order
from .selectors import orders_created, orders_search


class OrderFilter(django_filters.FilterSet):
    """The order list's filters, shared by the API and the portal page."""

    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    store = django_filters.ModelChoiceFilter(queryset=lambda request: _own_stores(request), empty_label="All stores")
    service_level = django_filters.ChoiceFilter(choices=Order.ServiceLevel.choices)
    created_after = django_filters.DateFilter(method="filter_created", label="Created from")
    created_before = django_filters.DateFilter(method="filter_created", label="Created until")
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Order
        fields = ["status", "store", "service_level", "created_after", "created_before", "search"]

    def filter_search(self, queryset, name, value):
        return orders_search(queryset, value)

    def filter_created(self, queryset, name, value):
        """A day is the store's local day: 2027-01-04 in Chandler and in Tysons are different instants."""
        return orders_created(
            queryset,
            after=value if name == "created_after" else None,
            before=value if name == "created_before" else None,
        )


def _own_stores(request):
    """Only the caller's stores are choices; another merchant's store id is "not a valid choice"."""
    merchant = getattr(request, "merchant", None)
    return Store.objects.filter(merchant=merchant).select_related("site") if merchant else Store.objects.none()
