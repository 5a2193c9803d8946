"""Every write to merchants, their teams, sites and stores. Views and admin actions call these."""

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from common.compiled import CompiledRead, columns, instance
from common.errors import TooManyAttemptsError, TransitionError
from common.geocoding import GeoPoint
from common.tasks import enqueue_on_commit
from notifications.services import notification_email

from . import standing
from .models import ApiKey, Closure, Invitation, Membership, Merchant, OpeningHours, Site, Store

User = get_user_model()

INVITATION_LIFETIME = timedelta(days=7)
CONFIRMATION_LINK_LIFETIME = timedelta(days=2)
CONFIRMATION_SALT = "merchants.signup-confirmation"

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
def merchant_signup(
    *, business_name: str, owner_name: str, email: str, password: str, phone: str = "", client: str = ""
) -> Membership:
    """Create a pending, unconfirmed merchant with its owner's login and email the owner a link to
    confirm the address; the program admins hear of it only once it is confirmed, so a made-up or
    someone else's address never reaches them. SIGNUP_RATE_LIMIT per client."""
    email_limit_hit(SIGNUP, client=client)
    if user_email_taken(email):
        raise ValidationError({"email": "An account with this email already exists. Log in or reset your password."})
    user = _user_create(email=email, full_name=owner_name, password=password)
    merchant = Merchant.objects.create(
        legal_name=business_name,
        display_name=business_name,
        contact_name=owner_name,
        contact_email=user.email,
        contact_phone=phone,
        email_confirmed_at=None,
    )
    membership = Membership.objects.create(user=user, merchant=merchant, role=Membership.Role.OWNER)
    _confirmation_send(merchant, user)
    return membership


def merchant_confirmation_resend(*, merchant: Merchant, user, client: str = "") -> None:
    """Email the confirmation link again (a new one; older ones keep working until they expire).
    Counted against SIGNUP_RATE_LIMIT per account and per client."""
    if merchant.email_confirmed_at is not None:
        return
    email_limit_hit(SIGNUP, account=f"merchant:{merchant.pk}", client=client)
    _confirmation_send(merchant, user)


def _confirmation_send(merchant: Merchant, user) -> None:
    token = signing.dumps({"merchant": merchant.pk, "email": merchant.contact_email}, salt=CONFIRMATION_SALT)
    notification_email(
        to=[merchant.contact_email],
        template="merchant_confirm_email",
        context={
            "merchant": merchant,
            "confirm_path": reverse("email_confirm", args=[token]),
            "valid_days": CONFIRMATION_LINK_LIFETIME.days,
        },
        user=user,
        secret=True,
    )


class ConfirmationLinkError(Exception):
    """A confirmation link that is too old, altered, or for an address the account no longer has."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def merchant_for_confirmation(token: str) -> Merchant:
    """The merchant an emailed confirmation link is for; ConfirmationLinkError says why not."""
    try:
        data = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_LINK_LIFETIME)
    except signing.SignatureExpired:
        raise ConfirmationLinkError(
            f"This confirmation link has expired: links work for {CONFIRMATION_LINK_LIFETIME.days} days.", expired=True
        ) from None
    except signing.BadSignature:
        raise ConfirmationLinkError("This confirmation link is not valid: it may be cut short or mistyped.") from None
    merchant = Merchant.objects.filter(pk=data.get("merchant")).first()
    if merchant is None or merchant.contact_email.lower() != str(data.get("email", "")).lower():
        raise ConfirmationLinkError("This confirmation link is not valid any more: the account's email has changed.")
    return merchant


@transaction.atomic
def merchant_email_confirm(*, merchant: Merchant) -> Merchant:
    """The owner clicked the link: the address is theirs, so now the program admins are asked to approve.

    A conditional UPDATE, so a second click (or two at once) confirms once and emails the admins once.
    """
    now = timezone.now()
    if Merchant.objects.filter(pk=merchant.pk, email_confirmed_at__isnull=True).update(
        email_confirmed_at=now, updated_at=now
    ):
        merchant.refresh_from_db()
        notification_email(
            to=program_admin_emails(),
            template="merchant_signup",
            context={"merchant": merchant, "admin_url": reverse("admin:merchants_merchant_change", args=[merchant.pk])},
        )
    return merchant


def program_admin_emails() -> list[str]:
    """Who hears about program events: active staff users with an email, plus PROGRAM_ADMIN_EMAILS."""
    staff = User.objects.filter(is_staff=True, is_active=True).exclude(email="").values_list("email", flat=True)
    return sorted({*staff, *settings.PROGRAM_ADMIN_EMAILS})


def merchant_approve(*, merchant: Merchant) -> Merchant:
    """Approve a merchant, or reinstate a suspended one: the assignment sweep schedules its ready orders again."""
    return _merchant_transition(merchant=merchant, to=Merchant.Status.APPROVED, reason="")


def merchant_suspend(*, merchant: Merchant, reason: str = "") -> Merchant:
    """Suspend a merchant (see merchants.standing for what it may still do). Its orders leave their
    pickup windows right after: pickups owns them, so its task is queued by name, and the assignment
    sweep withdraws whatever a lost task left."""
    merchant = _merchant_transition(merchant=merchant, to=Merchant.Status.SUSPENDED, reason=reason)
    enqueue_on_commit("pickups.tasks.withdraw_orders", merchant_id=merchant.pk)
    return merchant


@transaction.atomic
def _merchant_transition(*, merchant: Merchant, to: str, reason: str) -> Merchant:
    locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
    if to not in MERCHANT_TRANSITIONS[locked.status]:
        raise TransitionError(f"{locked} is {locked.get_status_display().lower()} and cannot become {to}.")
    if to == Merchant.Status.APPROVED and locked.email_confirmed_at is None:
        raise TransitionError(f"{locked} has not confirmed its email address yet, so it cannot become approved.")
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
def invitation_create(*, merchant: Merchant, email: str, invited_by, client: str = "") -> Invitation:
    """Email a link that lets a new staff member set a password and join the merchant's team.

    Approved merchants only; INVITATION_RATE_LIMIT per merchant and per client."""
    standing.merchant_check(merchant, standing.INVITE)
    email_limit_hit(INVITATION, account=f"merchant:{merchant.pk}", client=client)
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
    standing.merchant_check(locked.merchant, standing.TEAM_JOIN)
    if user_email_taken(locked.email):
        raise ValidationError("An account with this email already exists. Log in instead.")
    user = _user_create(email=locked.email, full_name=full_name, password=password)
    locked.accepted_at = timezone.now()
    locked.save(update_fields=["accepted_at", "updated_at"])
    return Membership.objects.create(user=user, merchant=locked.merchant, role=locked.role)


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Take a staff member off the team; the login is deactivated, its history kept."""
    standing.merchant_check(membership.merchant, standing.ACCESS_REMOVE)
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
    standing.merchant_check(merchant, standing.ADD)
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
PUBLISHABLE_KEY_PREFIX = "mpk_pub_"
MAX_ALLOWED_ORIGINS = 20


@transaction.atomic
def api_key_create(
    *,
    merchant: Merchant,
    name: str,
    created_by,
    kind: str = ApiKey.Kind.SECRET,
    allowed_origins: Iterable[str] = (),
    raw: str = "",
) -> tuple[ApiKey, str]:
    """A new API key; the full key is returned once, to show the owner, and never stored.

    A publishable key (`mpk_pub_…`) lists the web origins whose pages may use it, at least one;
    a secret key lists none. `raw` lets demo data use a known key; real keys are always random.
    """
    if kind not in ApiKey.Kind.values:
        raise ValueError(f"Unknown kind of API key: {kind}")
    standing.merchant_check(merchant, standing.API_KEY_CREATE)
    publishable = kind == ApiKey.Kind.PUBLISHABLE
    origins = api_key_origins_clean(allowed_origins)
    if publishable and not origins:
        raise ValidationError(
            {"allowed_origins": "List the web address of at least one page that will show the delivery promise."}
        )
    if not publishable and origins:
        raise ValidationError(
            {"allowed_origins": "Only publishable keys list web addresses: a secret key must never be in a web page."}
        )
    prefix = PUBLISHABLE_KEY_PREFIX if publishable else API_KEY_PREFIX
    raw = raw or prefix + secrets.token_urlsafe(32)
    if not raw.startswith(prefix):
        raise ValueError(f"A {kind} key starts with {prefix}.")
    api_key = ApiKey.objects.create(
        merchant=merchant,
        kind=kind,
        name=name,
        allowed_origins=origins,
        prefix=raw[:12],
        key_hash=_token_hash(raw),
        created_by=created_by,
    )
    if publishable:
        transaction.on_commit(_publishable_origins_forget)
    return api_key, raw


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    standing.merchant_check(api_key.merchant, standing.ACCESS_REMOVE)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        if api_key.is_publishable:
            transaction.on_commit(_publishable_origins_forget)
    return api_key


def api_key_exists(raw: str) -> bool:
    return ApiKey.objects.filter(key_hash=_token_hash(raw)).exists()


def api_key_for_raw(raw: str) -> ApiKey | None:
    """The key (active or revoked) behind a full key someone already holds, e.g. a demo key; None if unknown."""
    return ApiKey.objects.select_related("merchant").filter(key_hash=_token_hash(raw)).first()


# How fresh a key's `last_used_at` is kept: a write per request would make every API call a write on one row.
KEY_USE_NOTED_EVERY = timedelta(minutes=1)


# Read by every API request: compiled once (common.compiled), the key with its merchant, as select_related would.
_active_key = CompiledRead(
    lambda key_hash: ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values(
        *columns(ApiKey), *columns(Merchant, "merchant__")
    ),
    key_hash="sample key hash",
)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key behind a bearer token, or None; notes its use at most once a minute.

    A key of a merchant that is not approved is still returned: the API's permission refuses it
    with the reason (merchants.standing), so a suspension stops keys without revoking them."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    rows = _active_key(key_hash=_token_hash(raw))
    if not rows:
        return None
    api_key = instance(ApiKey, rows[0])
    api_key.merchant = instance(Merchant, rows[0], prefix="merchant__")
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= KEY_USE_NOTED_EVERY:
        # Conditional, so of the requests that all saw a stale time at once only the first writes.
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - KEY_USE_NOTED_EVERY)
        ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
    return api_key


def api_key_origins_clean(values: Iterable[str]) -> list[str]:
    """Web origins typed by an owner, as browsers send them in the Origin header: `scheme://host[:port]`,
    lower case, the host in ASCII (punycode), no default port, no path. Raises ValidationError naming each
    bad one. Duplicates and blank lines are dropped."""
    origins, problems = [], []
    for value in values:
        if not value.strip():
            continue
        try:
            origin = _origin_clean(value.strip())
        except ValidationError as error:
            problems += error.messages
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ALLOWED_ORIGINS:
        problems.append(f"A key lists at most {MAX_ALLOWED_ORIGINS} web addresses; make another key for the rest.")
    if problems:
        raise ValidationError({"allowed_origins": problems})
    return origins


ORIGIN_EXAMPLE = "e.g. https://shop.example or http://localhost:8000"


def _origin_clean(text: str) -> str:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValidationError(f"“{text}” is not a web address ({ORIGIN_EXAMPLE}).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"“{text}”: start with https:// or http:// and a host name ({ORIGIN_EXAMPLE}).")
    if parts.username is not None or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValidationError(
            f"“{text}”: give only the scheme, host and port, without a path ({ORIGIN_EXAMPLE}): "
            "every page of that site may then show the promise."
        )
    host = parts.hostname
    if "*" in host:
        raise ValidationError(f"“{text}”: wildcards are not allowed; list each web address.")
    if ":" not in host:  # not an IPv6 address: a name as browsers send it (punycode), or IPv4
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValidationError(f"“{text}” has an invalid host name.") from None
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", host) or ".." in host:
            raise ValidationError(f"“{text}” has an invalid host name.")
    else:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default_port else "")


# Every request to the quote endpoint asks whether its Origin is listed (the CORS check, embed.cors), so
# the origins of all active publishable keys are kept in the shared cache as one set: forgotten when a
# publishable key is created or revoked (after commit), and after PUBLISHABLE_ORIGINS_SECONDS in any case.
PUBLISHABLE_ORIGINS_CACHE_KEY = "api-keys:publishable-origins"
PUBLISHABLE_ORIGINS_SECONDS = 300


def api_key_origin_listed(origin: str) -> bool:
    """Does an active publishable key list this web origin? One query per cache period, not per request."""
    if not origin:
        return False
    origins = cache.get(PUBLISHABLE_ORIGINS_CACHE_KEY)
    if origins is None:
        listed = ApiKey.objects.filter(kind=ApiKey.Kind.PUBLISHABLE, revoked_at__isnull=True).values_list(
            "allowed_origins", flat=True
        )
        origins = frozenset(value for values in listed for value in values)
        cache.set(PUBLISHABLE_ORIGINS_CACHE_KEY, origins, timeout=PUBLISHABLE_ORIGINS_SECONDS)
    return origin in origins


def _publishable_origins_forget() -> None:
    cache.delete(PUBLISHABLE_ORIGINS_CACHE_KEY)


# Emails anyone can make us send (invitations, signup confirmations, password resets) are limited
# per account and per client, in the shared cache. Each limit is a setting like "10/hour".
INVITATION, SIGNUP, PASSWORD_RESET = "invitation", "signup", "password_reset"
EMAIL_LIMITS = {
    # kind: (setting, what was refused)
    INVITATION: ("INVITATION_RATE_LIMIT", "invitations have been sent"),
    SIGNUP: ("SIGNUP_RATE_LIMIT", "sign-ups or confirmation emails have been asked for from here"),
    PASSWORD_RESET: ("PASSWORD_RESET_RATE_LIMIT", "password resets have been asked for"),
}
PERIODS = {"s": ("second", 1), "m": ("minute", 60), "h": ("hour", 3600), "d": ("day", 86400)}


def email_limit(kind: str) -> tuple[int, str, int]:
    """(how many, per what, in seconds) for one kind of email, from its setting."""
    name, _ = EMAIL_LIMITS[kind]
    count, _, period = str(getattr(settings, name)).partition("/")
    word, seconds = PERIODS[period.strip()[:1].lower() or "h"]
    return int(count), word, seconds


def email_limit_hit(kind: str, **keys: str) -> None:
    """Count one request for this kind of email against each non-empty key (an account, a client
    address, an email address); over the limit on any raises TooManyAttemptsError and nothing is sent.

    A fixed window per key, started by its first request: cache.add then cache.incr, atomic in
    Redis and memcached. Refused requests count too.
    """
    limit, word, seconds = email_limit(kind)
    over = False
    for scope, value in sorted(keys.items()):
        if not value:
            continue
        key = "email-limit:" + hashlib.sha256(f"{kind}:{scope}:{value.lower()}".encode()).hexdigest()
        cache.add(key, 0, timeout=seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=seconds)
            count = 1
        over = over or count > limit
    if over:
        article = "an" if word == "hour" else "a"
        raise TooManyAttemptsError(
            f"Too many {EMAIL_LIMITS[kind][1]} for now (at most {limit} {article} {word}): "
            "nothing was sent. Please try again later."
        )


def password_reset_limit_hit(*, email: str, client: str = "") -> None:
    """PASSWORD_RESET_RATE_LIMIT per client and per address, whether or not an account uses the address."""
    email_limit_hit(PASSWORD_RESET, address=email.strip(), client=client)
