"""Tenant-scoped reads: every query a view makes on merchant data starts here."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import ApiKey, Invitation, Membership, Merchant, Site, Store


def membership_for_user(user) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("merchant").filter(user=user).first()


def stores_for_merchant(merchant: Merchant) -> QuerySet[Store]:
    return Store.objects.filter(merchant=merchant).select_related("site").prefetch_related("opening_hours", "closures")


def store_for_merchant(*, merchant: Merchant, pk: int) -> Store:
    """The merchant's own store, or 404 for anyone else's."""
    return get_object_or_404(stores_for_merchant(merchant), pk=pk)


def malls() -> QuerySet[Site]:
    return Site.objects.filter(kind=Site.Kind.MALL)


def team_for_merchant(merchant: Merchant) -> QuerySet[Membership]:
    return merchant.memberships.select_related("user").order_by("role", "user__email")


def member_for_merchant(*, merchant: Merchant, pk: int) -> Membership:
    return get_object_or_404(team_for_merchant(merchant), pk=pk)


def open_invitations(merchant: Merchant) -> QuerySet[Invitation]:
    return merchant.invitations.filter(accepted_at__isnull=True).order_by("-created_at")


def api_keys_for_merchant(merchant: Merchant) -> QuerySet[ApiKey]:
    return merchant.api_keys.select_related("created_by").order_by("revoked_at", "-created_at")


def api_key_for_merchant(*, merchant: Merchant, pk: int) -> ApiKey:
    return get_object_or_404(api_keys_for_merchant(merchant), pk=pk)
