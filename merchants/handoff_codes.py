"""Store codes: a 6-digit code on the store's screen that a driver types in to prove they stand at its counter.

RFC 6238 TOTP (HMAC-SHA1, 6 digits, T0 = the Unix epoch) with a 5-minute step and a secret per store.
pyotp's TOTP class refuses steps longer than 120 seconds, so the time step is counted here and the code
comes from pyotp's HOTP, which is exactly how RFC 6238 defines TOTP: HOTP(secret, floor(unix time / step)).
Pure functions: no database, "now" can be passed in.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyotp
from django.core.cache import cache
from django.utils import timezone
from pyotp.utils import strings_equal

from common.errors import NotAllowedError, TooManyAttemptsError

if TYPE_CHECKING:
    from .models import Store

STEP_SECONDS = 300
STEP = timedelta(seconds=STEP_SECONDS)
# Time steps back from the current one whose code is still accepted: the current and the previous,
# so a driver who reads the code just before it changes has at least 5 minutes to type it. Never a later step.
ACCEPTED_STEPS_BACK = (0, 1)

_CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class StoreCode:
    code: str
    valid_until: datetime  # aware UTC: when the next code replaces this one on the store's screen
    accepted_until: datetime  # aware UTC: when a driver typing this code is refused


def new_handoff_secret() -> str:
    """A random base32 secret of 160 bits for a new store (the default of Store.handoff_secret)."""
    return pyotp.random_base32()


def store_code(store: "Store", *, at: datetime | None = None) -> StoreCode:
    """The code the store shows at `at` (default now); it changes every 5 minutes, on the clock's 5-minute marks."""
    step = _time_step(at)
    valid_until = datetime.fromtimestamp((step + 1) * STEP_SECONDS, tz=UTC)
    return StoreCode(code=_hotp(store).at(step), valid_until=valid_until, accepted_until=valid_until + STEP)


def store_code_is_valid(store: "Store", code: str | None, *, at: datetime | None = None) -> bool:
    """Whether `code` is the store's current or previous code at `at` (default now).

    The next step's code is refused: only someone who saw the store's screen can know it. Spaces are
    ignored; anything but 6 digits is simply not valid. Compared in constant time.
    """
    if not isinstance(code, str):
        return False
    code = "".join(code.split())
    if not _CODE.fullmatch(code):
        return False
    step, hotp = _time_step(at), _hotp(store)
    matches = [strings_equal(code, hotp.at(step - back)) for back in ACCEPTED_STEPS_BACK]
    return any(matches)


# Wrong codes allowed for one store in one scope (a pickup, a driver's returns) within LOCK_SECONDS.
ATTEMPTS = 5
LOCK_SECONDS = 300


def store_code_check(store: "Store", code: str | None, *, at: datetime, scope: str) -> None:
    """Refuse a wrong or expired code (NotAllowedError). After ATTEMPTS wrong codes in one scope the
    store is locked for LOCK_SECONDS (TooManyAttemptsError), so six digits cannot be guessed."""
    key = f"store-code-misses:{scope}:{store.pk}"
    misses = cache.get(key, 0)
    if misses >= ATTEMPTS:
        raise TooManyAttemptsError("Too many wrong store codes: wait 5 minutes, then ask the store for its code.")
    if not store_code_is_valid(store, code, at=at):
        cache.set(key, misses + 1, LOCK_SECONDS)
        raise NotAllowedError(f"Wrong or expired store code: ask {store.name} for the code on its Handoff page.")


def _time_step(at: datetime | None) -> int:
    at = timezone.now() if at is None else at
    if timezone.is_naive(at):
        raise ValueError("store codes need an aware datetime")
    return int(at.timestamp()) // STEP_SECONDS


def _hotp(store: "Store") -> pyotp.HOTP:
    return pyotp.HOTP(store.handoff_secret, digits=6)
