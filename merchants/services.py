"""Every write to merchants, their teams, sites and stores. Views and admin actions call these."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from common.errors import NotAllowedError, TransitionError
from common.geocoding import GeoPoint
from notifications.services import notification_email

from .models import ApiKey, Closure, Invitation, Membership, Merchant, OpeningHours, Site, Store

User = get_user_model()

INVITATION_LIFETIME = timedelta(days=7)

# The only moves a merchant's status may make; anything else is refused.
MERCHANT_TRANSITIONS = {
    Merchant.Status.PENDING: {Merchant.Status.APPROVED, Merchant.Status.SUSPENDED},
    Merchant.Status.APPROVED: {Merchant.Status.SUSPENDED},
    Merchant.Status.SUSPENDED: {Merchant.Status.APPROVED},
}


def user_email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists()


def _user_create(*, email: str, full_name: str, password: str):
    first, _, last = full_name.strip().partition(" ")
    return User.objects.create_user(
        username=email.lower(), email=email.lower(), password=password, first_name=first, last_name=last.strip()
    )


@transaction.atomic
def merchant_signup(*, business_name: str, owner_name: str, email: str, password: str, phone: str = "") -> Membership:
    """Create a pending merchant with its owner's login, and tell the program admins."""
    if user_email_taken(email):
        raise ValidationError({"email": "An account with this email already exists. Log in or reset your password."})
    user = _user_create(email=email, full_name=owner_name, password=password)
    merchant = Merchant.objects.create(
        legal_name=business_name,
        display_name=business_name,
        contact_name=owner_name,
        contact_email=user.email,
        contact_phone=phone,
    )
    membership = Membership.objects.create(user=user, merchant=merchant, role=Membership.Role.OWNER)
    notification_email(
        to=program_admin_emails(),
        template="merchant_signup",
        context={"merchant": merchant, "admin_url": reverse("admin:merchants_merchant_change", args=[merchant.pk])},
    )
    return membership


def program_admin_emails() -> list[str]:
    """Who hears about program events: active staff users with an email, plus PROGRAM_ADMIN_EMAILS."""
    staff = User.objects.filter(is_staff=True, is_active=True).exclude(email="").values_list("email", flat=True)
    return sorted({*staff, *settings.PROGRAM_ADMIN_EMAILS})


def merchant_block_reason(merchant: Merchant) -> str:
    """Why a merchant may not create stores or orders yet, in the merchant's words."""
    if merchant.status == Merchant.Status.PENDING:
        return "Your account is waiting for approval by the program team, so you cannot add stores or orders yet."
    reason = f" Reason: {merchant.status_reason}" if merchant.status_reason else ""
    return f"Your account is suspended, so you cannot add stores or orders.{reason}"


def merchant_approve(*, merchant: Merchant) -> Merchant:
    return _merchant_transition(merchant=merchant, to=Merchant.Status.APPROVED, reason="")


def merchant_suspend(*, merchant: Merchant, reason: str = "") -> Merchant:
    return _merchant_transition(merchant=merchant, to=Merchant.Status.SUSPENDED, reason=reason)


@transaction.atomic
def _merchant_transition(*, merchant: Merchant, to: str, reason: str) -> Merchant:
    locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
    if to not in MERCHANT_TRANSITIONS[locked.status]:
        raise TransitionError(f"{locked} is {locked.get_status_display().lower()} and cannot become {to}.")
    locked.status = to
    locked.status_reason = reason
    stamp = "approved_at" if to == Merchant.Status.APPROVED else "suspended_at"
    setattr(locked, stamp, timezone.now())
    locked.save(update_fields=["status", "status_reason", stamp, "updated_at"])
    notification_email(
        to=locked.memberships.filter(role=Membership.Role.OWNER).values_list("user__email", flat=True),
        template=f"merchant_{to}",
        context={"merchant": locked},
    )
    return locked


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(*, merchant: Merchant, email: str, invited_by) -> Invitation:
    """Email a link that lets a new staff member set a password and join the merchant's team."""
    if user_email_taken(email):
        raise ValidationError({"email": "This person already has an account in the portal."})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        merchant=merchant,
        email=email.lower(),
        token_hash=_token_hash(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    notification_email(
        to=[invitation.email],
        template="team_invitation",
        context={
            "merchant": merchant,
            "inviter": invited_by,
            "invitation": invitation,
            "accept_path": reverse("invitation_accept", args=[token]),
        },
        secret=True,
    )
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """The open invitation behind an emailed link, or None if it is unknown, used or expired."""
    return (
        Invitation.objects.select_related("merchant")
        .filter(token_hash=_token_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, full_name: str, password: str) -> Membership:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise TransitionError("This invitation has already been used.")
    if user_email_taken(locked.email):
        raise ValidationError("An account with this email already exists. Log in instead.")
    user = _user_create(email=locked.email, full_name=full_name, password=password)
    locked.accepted_at = timezone.now()
    locked.save(update_fields=["accepted_at", "updated_at"])
    return Membership.objects.create(user=user, merchant=locked.merchant, role=locked.role)


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Take a staff member off the team; the login is deactivated, its history kept."""
    if membership.is_owner:
        raise TransitionError("Owners cannot be removed from the team here; ask a program admin.")
    user = membership.user
    membership.delete()
    user.is_active = False
    user.save(update_fields=["is_active"])


@dataclass(frozen=True)
class StandaloneAddress:
    """A standalone store's own address, already placed on the map."""

    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    point: GeoPoint


@transaction.atomic
def store_save(
    *,
    merchant: Merchant,
    store: Store,
    mall: Site | None,
    address: StandaloneAddress | None,
    hours: dict[int, tuple[time, time]],
    closures: list[tuple],
) -> Store:
    """Create or update a store with its site, weekly hours and closures, all or nothing.

    A store is either in a mall (an existing site) or at its own address (a standalone site
    that belongs to this store alone and follows its address).
    """
    if not merchant.is_approved:
        raise NotAllowedError(merchant_block_reason(merchant))
    store.merchant = merchant
    store.site = mall or _standalone_site(store=store, address=address)
    store.save()
    store.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(store=store, weekday=weekday, opens=opens, closes=closes)
        for weekday, (opens, closes) in sorted(hours.items())
    )
    store.closures.all().delete()
    Closure.objects.bulk_create(Closure(store=store, date=day, reason=reason) for day, reason in sorted(closures))
    return store


def _standalone_site(*, store: Store, address: StandaloneAddress) -> Site:
    current = store.site if store.site_id else None
    site = current if current is not None and current.kind == Site.Kind.STANDALONE else Site(kind=Site.Kind.STANDALONE)
    site.name = store.name
    site.address_line1 = address.address_line1
    site.address_line2 = address.address_line2
    site.city = address.city
    site.state = address.state.upper()
    site.postal_code = address.postal_code
    site.latitude = address.point.latitude
    site.longitude = address.point.longitude
    site.timezone = address.point.timezone
    site.full_clean()
    site.save()
    return site


API_KEY_PREFIX = "mpk_"


@transaction.atomic
def api_key_create(*, merchant: Merchant, name: str, created_by, raw: str = "") -> tuple[ApiKey, str]:
    """A new API key; the full key is returned once, to show the owner, and never stored.

    `raw` lets demo data use a known key; real keys are always random.
    """
    raw = raw or API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        merchant=merchant, name=name, prefix=raw[:12], key_hash=_token_hash(raw), created_by=created_by
    )
    return api_key, raw


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key


def api_key_exists(raw: str) -> bool:
    return ApiKey.objects.filter(key_hash=_token_hash(raw)).exists()


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key behind a bearer token, or None; notes its use at most once a minute."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    api_key = (
        ApiKey.objects.select_related("merchant").filter(key_hash=_token_hash(raw), revoked_at__isnull=True).first()
    )
    if api_key is not None:
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key
