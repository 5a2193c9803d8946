from collections import Counter

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from common.errors import TransitionError
from common.ids import object_id
from pickups.models import PickupWindow
from pickups.work_queues import windows_at_risk

from .dispatch import dispatch_candidates, window_assign_driver, window_offer_wider
from .models import Driver, Offer


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "status", "vehicle_type", "capacity_packages", "max_distance_miles"]
    list_filter = ["status", "vehicle_type"]
    search_fields = ["user__first_name", "user__last_name", "user__username", "phone"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

    def get_urls(self):
        dispatch = self.admin_site.admin_view
        return [
            path("dispatch/", dispatch(self.dispatch_view), name="deliveries_dispatch"),
            path("dispatch/<int:window_id>/", dispatch(self.dispatch_window_view), name="deliveries_dispatch_window"),
            *super().get_urls(),
        ]

    def dispatch_view(self, request):
        """The at-risk queue: pickups close to their start with no driver, why, and what to do."""
        windows = list(windows_at_risk().select_related("site").order_by("starts_at"))
        answers = Counter()
        for row in Offer.objects.filter(window__in=windows).values("window_id", "status").annotate(count=Count("pk")):
            answers[row["window_id"], row["status"]] = row["count"]
        rows = [(window, {status: answers[window.pk, status] for status in Offer.Status.values}) for window in windows]
        return self._render(request, "admin/deliveries/dispatch.html", "Pickups at risk: no driver yet", rows=rows)

    def dispatch_window_view(self, request, window_id):
        """One pickup at risk: offer it again wider, or give it to a driver reached by phone."""
        window = get_object_or_404(PickupWindow.objects.select_related("site"), pk=window_id)
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied("Only admins who may change drivers dispatch them.")
            return self._dispatch(request, window)
        title = f"Find a driver: {window.site.name}"
        return self._render(
            request,
            "admin/deliveries/dispatch_window.html",
            title,
            window=window,
            candidates=dispatch_candidates(window),
        )

    def _dispatch(self, request, window):
        try:
            if request.POST.get("action") == "wider":
                offers = window_offer_wider(window_id=window.pk)
                if not offers:
                    self.message_user(
                        request, "No other driver is within reach: give it to one below.", messages.WARNING
                    )
                    return redirect("admin:deliveries_dispatch_window", window.pk)
                self.message_user(request, f"Offered again to {len(offers)} more driver(s), farther out.")
            else:
                driver = get_object_or_404(Driver, pk=object_id(request.POST.get("driver", "")))
                window_assign_driver(window_id=window.pk, driver_id=driver.pk)
                self.message_user(request, f"{driver} has the pickup and has been told.")
        except TransitionError as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return redirect("admin:deliveries_dispatch_window", window.pk)
        return redirect("admin:deliveries_dispatch")

    def _render(self, request, template, title, **context):
        context = self.admin_site.each_context(request) | {"title": title, "opts": self.model._meta, **context}
        context["windows_url"] = reverse("admin:pickups_pickupwindow_changelist")
        return TemplateResponse(request, template, context)


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["window", "driver", "wave", "distance_miles", "status", "offered_at", "expires_at", "responded_at"]
    list_filter = ["status", "wave", "window__site"]
    search_fields = ["driver__user__first_name", "driver__user__last_name", "window__site__name"]
    list_select_related = ["window__site", "driver__user"]
    readonly_fields = [field.name for field in Offer._meta.fields]

    def has_add_permission(self, request):
        return False
