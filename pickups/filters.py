import django_filters

from .models import Order
from .selectors import orders_search


class OrderFilter(django_filters.FilterSet):
    """The order list's filters, shared by the API and the portal page."""

    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    store = django_filters.NumberFilter(field_name="store_id")
    service_level = django_filters.ChoiceFilter(choices=Order.ServiceLevel.choices)
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="Created from")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="Created until")
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Order
        fields = ["status", "store", "service_level", "created_after", "created_before", "search"]

    def filter_search(self, queryset, name, value):
        return orders_search(queryset, value)
