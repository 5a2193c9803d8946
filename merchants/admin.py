from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path

from common.actors import Actor
from common.errors import TransitionError

from . import services
from .models import Closure, Invitation, Membership, Merchant, OpeningHours, Site, Store


# Stacked, not tabular: Django's tabular inlines give their inputs no labels (axe-core: critical for a
# screen reader), and the merchant's page is where an approval email sends the program team.
class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class StoreInline(admin.StackedInline):
    model = Store
    extra = 0
    fields = ["name", "site", "unit", "phone", "is_active"]
    show_change_link = True


def _approve(*, merchant, actor):
    return services.merchant_approve(merchant=merchant)


def _suspend(*, merchant, actor):
    return services.merchant_suspend(merchant=merchant, reason=merchant.status_reason)


def _transition_action(service, verb):
    def action(modeladmin, request, queryset):
        done = 0
        for merchant in queryset:
            try:
                service(merchant=merchant, actor=Actor.of_user(request.user))
            except TransitionError as error:
                modeladmin.message_user(request, str(error), messages.WARNING)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{verb.capitalize()} {done} merchant(s); their owners were emailed.")

    action.__name__ = f"{verb}_selected"
    return admin.action(description=f"{verb.capitalize()} selected merchants")(action)


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["display_name", "status", "contact_name", "contact_email", "store_count", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["display_name", "legal_name", "contact_email", "contact_name"]
    # Status only moves through the approve/suspend actions, which check the move and email the owner.
    # Suspending also takes the merchant's scheduled orders out of their pickup windows; the reason
    # shown to the merchant is the one saved in the form.
    readonly_fields = ["status", "email_confirmed_at", "approved_at", "suspended_at", "created_at", "updated_at"]
    inlines = [MembershipInline, StoreInline]
    actions = [
        _transition_action(_approve, "approved"),
        _transition_action(_suspend, "suspended"),
    ]

    change_form_template = "admin/merchants/merchant/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(store_count=Count("stores"))

    def get_urls(self):
        """Approve and Suspend as buttons on the merchant's page, where the approval email points."""
        decide = self.admin_site.admin_view(self.decide)
        return [path("<int:pk>/decide/<str:verb>/", decide, name="merchants_merchant_decide"), *super().get_urls()]

    def decide(self, request, pk, verb):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        merchant = get_object_or_404(Merchant, pk=pk)
        try:
            if verb == "approve":
                services.merchant_approve(merchant=merchant)
            elif verb == "suspend":
                reason = request.POST.get("reason", "").strip()[:300]
                if not reason:
                    raise TransitionError("Say why the merchant is suspended: the owner reads it.")
                services.merchant_suspend(merchant=merchant, reason=reason)
            else:
                raise Http404
        except TransitionError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            done = {"approve": "approved", "suspend": "suspended"}[verb]
            self.message_user(request, f"{merchant} is {done}; its owners were emailed.", messages.SUCCESS)
        return redirect("admin:merchants_merchant_change", pk)

    @admin.display(ordering="store_count", description="stores")
    def store_count(self, merchant):
        return merchant.store_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username", "merchant__display_name"]
    list_select_related = ["user", "merchant"]
    raw_id_fields = ["user", "merchant"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "merchant", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["accepted_at", "role"]
    search_fields = ["email", "merchant__display_name"]
    list_select_related = ["merchant", "invited_by"]
    readonly_fields = ["token_hash"]
    raw_id_fields = ["merchant", "invited_by"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "city", "state", "postal_code", "timezone", "store_count"]
    list_filter = ["kind", "state", "timezone"]
    search_fields = ["name", "city", "postal_code", "address_line1"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(store_count=Count("stores"))

    @admin.display(ordering="store_count", description="stores")
    def store_count(self, site):
        return site.store_count


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0
    max_num = 7


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "site", "unit", "service_radius_miles", "same_day_cutoff", "is_active"]
    list_filter = ["is_active", "site__kind", "site"]
    search_fields = ["name", "merchant__display_name", "site__name", "unit"]
    list_select_related = ["merchant", "site"]
    raw_id_fields = ["merchant"]
    inlines = [OpeningHoursInline, ClosureInline]
