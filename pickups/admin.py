from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from common.admin import ReadOnlyInline
from merchants.models import Site

from .custody import chains_verify, intact_text, windows_custody_zip
from .models import BulkAction, Order, OrderEvent, OrderImport, Package, PickupWindow, WindowEvent
from .site_week import site_week
from .templatetags.operations import local_time
from .work_queues import ORDER_QUEUES, WINDOW_QUEUES


class QueueFilter(admin.SimpleListFilter):
    """The work queues of the admin index (pickups.work_queues), as a filter of this list."""

    title = "work queue"
    parameter_name = "queue"
    queues: dict = {}

    def lookups(self, request, model_admin):
        return [(key, key.replace("_", " ")) for key in self.queues]

    def queryset(self, request, queryset):
        rows = self.queues.get(self.value())
        return queryset.filter(pk__in=rows().values("pk")) if rows else queryset


class OrderQueueFilter(QueueFilter):
    queues = ORDER_QUEUES


class WindowQueueFilter(QueueFilter):
    queues = WINDOW_QUEUES


class PackageInline(admin.TabularInline):
    model = Package
    extra = 0
    readonly_fields = ["sequence", "label_code", "weight_lb", "length_in", "width_in", "height_in"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(ReadOnlyInline):
    """The ledger, read-only: events are never edited or deleted."""

    model = OrderEvent
    fields = ["occurred_at", "type", "actor_label", "from_status", "to_status", "details"]


def status_badge(row):
    """The status as a coloured badge (its words stay the text, so colour is never the only sign)."""
    return format_html('<span class="status-badge status-{}">{}</span>', row.status, row.get_status_display())


class OperationsMedia:
    css = {"all": ["css/admin_operations.css"]}


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["external_id", "merchant", "store", "status_shown", "pickup", "attempt", "why_waiting", "created"]
    list_filter = [OrderQueueFilter, "status", "return_overdue", "service_level", "store__site", "created_at"]
    search_fields = ["external_id", "tracking_code", "customer_name", "merchant__display_name"]
    list_select_related = ["merchant", "store__site", "pickup_window"]
    Media = OperationsMedia
    # Orders change only through the services (portal, API, workers), which check the rules and
    # write the ledger; here admins read them and may add a note.
    readonly_fields = [field.name for field in Order._meta.fields if field.name != "notes"]
    inlines = [PackageInline, OrderEventInline]
    actions = ["verify_ledger"]

    @admin.display(description="status", ordering="status")
    def status_shown(self, order):
        return status_badge(order)

    @admin.display(description="pickup (local), driver")
    def pickup(self, order):
        window = order.pickup_window
        if window is None:
            return "–"
        return format_html(
            "{} · {}", local_time(window.starts_at, order.store.site.timezone), window.driver_name or "no driver"
        )

    @admin.display(description="created", ordering="created_at")
    def created(self, order):
        return local_time(order.created_at, order.store.site.timezone)

    @admin.display(description="why it waits")
    def why_waiting(self, order):
        return order.not_scheduled_reason or "–"

    @admin.action(description="Verify the custody ledger", permissions=["view"])
    def verify_ledger(self, request, queryset):
        """Check the selected orders' custody chains: name each first broken link, or say all hold."""
        orders = events = broken = 0
        for check in chains_verify(queryset):
            orders, events = orders + 1, events + check.events
            if check.broken is not None:
                broken += 1
                self.message_user(request, str(check), messages.ERROR)
        if not broken:
            self.message_user(request, intact_text(orders, events), messages.SUCCESS)


class PickupWindowForm(forms.ModelForm):
    """Site and times while the window is empty; then only its capacity and the at-risk flag, as the
    admin leaves the others out of the form (they are read-only)."""

    class Meta:
        model = PickupWindow
        fields = ["site", "local_date", "starts_at", "ends_at", "capacity_packages", "at_risk"]

    def clean_capacity_packages(self):
        capacity = self.cleaned_data["capacity_packages"]
        if self.instance.pk and capacity < self.instance.booked_packages:
            raise forms.ValidationError(
                f"{self.instance.booked_packages} packages are already booked; the capacity cannot be lower."
            )
        return capacity

    def clean(self):
        """Where and when, while editable: the window starts and ends on its local day at its site, as the
        stores' hours it must lie within are that day's."""
        cleaned = super().clean()
        site, day, starts, ends = (cleaned.get(name) for name in ("site", "local_date", "starts_at", "ends_at"))
        if site and day and starts and ends:
            zone = ZoneInfo(site.timezone)
            if not starts.astimezone(zone).date() == ends.astimezone(zone).date() == day:
                raise forms.ValidationError(
                    f"The window must start and end on {day:%A %B} {day.day} at {site.name}, in its time zone "
                    f"({site.timezone}): make one window per day."
                )
        return cleaned


class WindowEventInline(ReadOnlyInline):
    """The window's ledger, read-only: events are never edited or deleted."""

    model = WindowEvent
    fields = ["occurred_at", "actor_label", "from_status", "to_status", "reason", "details"]

    def has_change_permission(self, request, obj=None):
        return False


class SiteWeekForm(forms.Form):
    site = forms.ModelChoiceField(Site.objects.order_by("name"), empty_label=None)
    start = forms.DateField(required=False, label="from", help_text="The site's local day; today unless given.")


# Where and when a window is: fixed once it has bookings, as its orders, their promises and the
# driver's offer were worked out from them.
BOOKED_READONLY = ["site", "local_date", "starts_at", "ends_at"]


@admin.register(PickupWindow)
class PickupWindowAdmin(admin.ModelAdmin):
    form = PickupWindowForm
    list_display = ["site", "starts", "ends", "status_shown", "booked", "driver_name", "at_risk"]
    list_filter = [WindowQueueFilter, "status", "at_risk", "site", "local_date"]
    search_fields = ["site__name", "driver_name"]
    list_select_related = ["site"]
    Media = OperationsMedia
    date_hierarchy = "local_date"
    fields = [
        "site",
        "local_date",
        "starts_at",
        "ends_at",
        "capacity_packages",
        "booked_packages",
        "at_risk",
        "status",
        "driver",
        "driver_name",
        "driver_vehicle",
        "accepted_at",
        "arrived_at",
        "completed_at",
        "offer_wave",
        "next_wave_at",
    ]
    readonly_fields = [
        "booked_packages",
        "status",
        "driver",
        "driver_name",
        "driver_vehicle",
        "accepted_at",
        "arrived_at",
        "completed_at",
        "offer_wave",
        "next_wave_at",
    ]
    inlines = [WindowEventInline]
    actions = ["download_custody_records"]

    @admin.display(description="starts (local)", ordering="starts_at")
    def starts(self, window):
        return local_time(window.starts_at, window.site.timezone)

    @admin.display(description="ends", ordering="ends_at")
    def ends(self, window):
        return local_time(window.ends_at, window.site.timezone, "g:i A T")

    @admin.display(description="status", ordering="status")
    def status_shown(self, window):
        return status_badge(window)

    @admin.display(description="booked / capacity")
    def booked(self, window):
        return f"{window.booked_packages} / {window.capacity_packages}"

    def get_urls(self):
        week = path("week/", self.admin_site.admin_view(self.week_view), name="pickups_pickupwindow_week")
        return [week, *super().get_urls()]

    def week_view(self, request):
        """A site's week: one row per local day, its windows as bars by status and bookings."""
        form = SiteWeekForm(request.GET or {"site": Site.objects.order_by("name").values_list("pk", flat=True).first()})
        week = site_week(**form.cleaned_data) if form.is_valid() else None
        context = self.admin_site.each_context(request) | {
            "title": f"A week at {week.site.name}" if week else "A week at a site",
            "opts": self.model._meta,
            "form": form,
            "week": week,
            "statuses": PickupWindow.Status.choices,
        }
        return TemplateResponse(request, "admin/pickups/pickupwindow/site_week.html", context)

    def get_readonly_fields(self, request, obj=None):
        """A read-only field is left out of the form, so the form neither shows nor requires it."""
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.booked_packages > 0:
            readonly = BOOKED_READONLY + readonly
        return readonly

    @admin.action(description="Download custody records (ZIP)", permissions=["view"])
    def download_custody_records(self, request, queryset):
        """One custody record (PDF) per order that is or was in the selected windows, in one zip."""
        content, count = windows_custody_zip(queryset)
        if not count:
            self.message_user(request, "No order was ever in the selected windows.", messages.WARNING)
            return None
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="custody-records.zip"'
        return response


@admin.register(OrderImport)
class OrderImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "merchant", "status", "total_rows", "created_count", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["filename", "merchant__display_name"]
    list_select_related = ["merchant"]
    exclude = ["content"]
    readonly_fields = [
        "merchant",
        "created_by",
        "filename",
        "status",
        "total_rows",
        "checked_rows",
        "created_count",
        "errors",
        "finished_at",
    ]


@admin.register(BulkAction)
class BulkActionAdmin(admin.ModelAdmin):
    """The order list's bulk actions done by workers: read-only, to see what one did or why it stopped."""

    list_display = ["pk", "merchant", "kind", "status", "total", "done_count", "changed_count", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["merchant__display_name"]
    list_select_related = ["merchant"]
    exclude = ["order_ids"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
