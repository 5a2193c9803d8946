from django.contrib import admin

from .models import Driver, Offer


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "status", "vehicle_type", "capacity_packages", "max_distance_miles"]
    list_filter = ["status", "vehicle_type"]
    search_fields = ["user__first_name", "user__last_name", "user__username", "phone"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["window", "driver", "wave", "distance_miles", "status", "offered_at", "expires_at", "responded_at"]
    list_filter = ["status", "wave", "window__site"]
    search_fields = ["driver__user__first_name", "driver__user__last_name", "window__site__name"]
    list_select_related = ["window__site", "driver__user"]
    readonly_fields = [field.name for field in Offer._meta.fields]

    def has_add_permission(self, request):
        return False
