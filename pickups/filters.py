from dataclasses import dataclass

import django_filters
from django.db.models import Count, QuerySet

from merchants.models import Store

from .models import Order
from .selectors import orders_created, orders_search

Status = Order.Status


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

    def _cleaned(self) -> dict:
        """The valid filters' values ({} unbound); a value that is not valid drops its filter (the API says 400)."""
        if not self.is_bound:
            return {}
        self.is_valid()  # cleans the form once; cleaned_data keeps the valid values
        return self.form.cleaned_data

    @property
    def statuses(self) -> frozenset[str]:
        """The statuses asked for; none: every status."""
        return frozenset(self._cleaned().get("status") or ())

    def qs_but_status(self) -> QuerySet[Order]:
        """The orders every filter but the status lets through: what the list's status tabs count."""
        if not hasattr(self, "_qs_but_status"):
            orders = self.queryset.all()
            for name, value in self._cleaned().items():
                if name != "status":
                    orders = self.filters[name].filter(orders, value)
            self._qs_but_status = orders
        return self._qs_but_status

    @property
    def qs(self) -> QuerySet[Order]:
        """`qs_but_status`, then the status: the tabs and the list share the other filters' work (the local days
        of `created_after` read the sites' zones once)."""
        if not hasattr(self, "_qs"):
            self._qs = self.filters["status"].filter(self.qs_but_status(), self._cleaned().get("status") or [])
        return self._qs

    @property
    def active(self) -> int:
        """How many filters besides the status narrow the list (the page opens its filter fold for them)."""
        return sum(1 for name, value in self._cleaned().items() if name != "status" and value not in (None, ""))


def _own_stores(request):
    """Only the caller's stores are choices; another merchant's store id is "not a valid choice"."""
    merchant = getattr(request, "merchant", None)
    return Store.objects.filter(merchant=merchant).select_related("site") if merchant else Store.objects.none()


@dataclass(frozen=True)
class StatusTab:
    """A tab of the order list: a group of statuses, how many orders the other filters leave in it, its link."""

    key: str
    label: str
    statuses: tuple[str, ...]
    count: int = 0
    query: str = ""
    current: bool = False


# The order list's tabs: every status in exactly one tab, grouped by what the merchant does next.
STATUS_TABS = (
    StatusTab("all", "All", ()),
    StatusTab("to_flag", "To flag ready", (Status.CREATED,)),
    StatusTab("waiting", "Waiting for pickup", (Status.READY, Status.SCHEDULED)),
    StatusTab("on_the_way", "On the way", (Status.PICKED_UP,)),
    StatusTab("failed", "Failed or returned", (Status.DELIVERY_FAILED, Status.RETURNED)),
    StatusTab("delivered", "Delivered or collected", (Status.DELIVERED, Status.COLLECTED)),
    StatusTab("cancelled", "Cancelled", (Status.CANCELLED,)),
)


def status_counts(orders: QuerySet[Order]) -> dict[str, int]:
    """{status: orders} of `orders`, in one grouped query."""
    rows = orders.order_by().values("status").annotate(count=Count("id"))
    return {row["status"]: row["count"] for row in rows}


def status_tabs(orders: OrderFilter, query) -> tuple[list[StatusTab], int]:
    """The tabs with their counts (one grouped query over the other filters' orders), each linking to its statuses
    with the other filters kept; and how many orders the list shows (its statuses' counts: no COUNT of its own).

    `query` is the page's query (a QueryDict) without its page number."""
    counts = status_counts(orders.qs_but_status())
    chosen = orders.statuses
    others = query.copy()
    others.pop("status", None)
    tabs = []
    for tab in STATUS_TABS:
        link = others.copy()
        link.setlist("status", list(tab.statuses))
        shown = tab.statuses or Status.values
        tabs.append(
            StatusTab(
                tab.key,
                tab.label,
                tab.statuses,
                count=sum(counts.get(status, 0) for status in shown),
                query=link.urlencode(),
                current=chosen == frozenset(tab.statuses),
            )
        )
    listed = sum(counts.get(status, 0) for status in (chosen or Status.values))
    return tabs, listed


def filters_in_words(orders: OrderFilter) -> list[tuple[str, str]]:
    """[(filter, its value in words)] of the filters in use, for a page that says which orders it means."""
    cleaned = orders._cleaned()
    words = []
    if cleaned.get("status"):
        chosen = frozenset(cleaned["status"])
        tab = next((tab for tab in STATUS_TABS if tab.statuses and frozenset(tab.statuses) == chosen), None)
        labels = dict(Status.choices)
        words.append(("Status", tab.label if tab else ", ".join(labels[status] for status in sorted(chosen))))
    if cleaned.get("store"):
        words.append(("Store", cleaned["store"].name))
    if cleaned.get("service_level"):
        words.append(("Service", Order.ServiceLevel(cleaned["service_level"]).label))
    if cleaned.get("created_after"):
        words.append(("Created from", f"{cleaned['created_after']:%b %-d, %Y}"))
    if cleaned.get("created_before"):
        words.append(("Created until", f"{cleaned['created_before']:%b %-d, %Y}"))
    if cleaned.get("search"):
        words.append(("Search", f"“{cleaned['search']}”"))
    return words
