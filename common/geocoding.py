"""Coordinates and a time zone for a US address, without any network service.

The project calls `geocode(postal_code)`; which function answers is the GEOCODER setting, so a
paid geocoder can replace the offline ZIP code data set without touching callers.
"""

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import zipcodes
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class GeoPoint:
    latitude: Decimal
    longitude: Decimal
    timezone: str
    city: str
    state: str


logger = logging.getLogger(__name__)

# What a US ZIP code looks like: 5 ASCII digits, optionally ZIP+4. Not `\d`, which also matches Arabic-Indic,
# fullwidth and other digits that int() accepts and the `zipcodes` library panics on.
ZIP_CODE = re.compile(r"[0-9]{5}(-[0-9]{4})?")
# Ends of the process, never to be swallowed by "anything else went wrong".
PROCESS_EXITS = (KeyboardInterrupt, SystemExit, GeneratorExit)


class GeocodingError(ValueError):
    """The address cannot be placed on the map; the message is meant for the merchant."""


def is_zip_code(value) -> bool:
    return isinstance(value, str) and ZIP_CODE.fullmatch(value) is not None


def zip_code_problem(value) -> str:
    """What is wrong with a ZIP code as typed, in the merchant's words; "" if nothing."""
    if is_zip_code(value):
        return ""
    text = value if isinstance(value, str) else ""
    shown = text if len(text) <= 10 else f"{text[:10]}…"
    return f"We don't know the ZIP code “{shown}”. Use a 5-digit ZIP code, e.g. 85226."


def validate_zip_code(value) -> None:
    """For forms and serializers: the same check, the same words, at every entrance."""
    if problem := zip_code_problem(value):
        raise ValidationError(problem, code="invalid")


def geocode(postal_code: str) -> GeoPoint:
    """The configured geocoder's answer, or GeocodingError: it only ever sees a well-formed ZIP code, and
    nothing but GeocodingError (or the process being stopped) ever escapes it, whatever it raises."""
    if problem := zip_code_problem(postal_code):
        raise GeocodingError(problem)
    try:
        return import_string(settings.GEOCODER)(postal_code)
    except (GeocodingError, *PROCESS_EXITS):
        raise
    except BaseException:  # e.g. pyo3's PanicException from native code, which is not an Exception
        logger.exception("The geocoder failed on the ZIP code %r.", postal_code)
        raise GeocodingError(_lookup_failed(postal_code)) from None


def zipcode_geocoder(postal_code: str) -> GeoPoint:
    """Centre of the ZIP code area, from the `zipcodes` package's bundled data.

    The package's native code panics (a BaseException) on input it cannot slice, e.g. Unicode digits:
    it only gets ASCII ZIP codes, and whatever it raises anyway becomes a GeocodingError.
    """
    if problem := zip_code_problem(postal_code):
        raise GeocodingError(problem)
    try:
        point = _centre(zipcodes.matching, postal_code[:5])
    except PROCESS_EXITS:
        raise
    except BaseException:
        logger.exception("The zipcodes package failed on the ZIP code %r.", postal_code)
        raise GeocodingError(_lookup_failed(postal_code)) from None
    if point is None:
        raise GeocodingError(f"We don't know the ZIP code “{postal_code}”. Check it.")
    return point


@lru_cache(maxsize=4096)
def _centre(matching, zip_code: str) -> GeoPoint | None:
    """A ZIP code's centre, kept once looked up: `zipcodes.matching` scans the whole bundled list on each
    call (tens of milliseconds, most of an order's creation) and the list never changes. Keyed by the
    lookup function too, so one put in its place (as tests do) is asked afresh; failures are not kept."""
    matches = matching(zip_code)
    return _point(matches[0]) if matches else None


def _point(match: dict) -> GeoPoint:
    return GeoPoint(
        latitude=Decimal(match["lat"]).quantize(Decimal("0.000001")),
        longitude=Decimal(match["long"]).quantize(Decimal("0.000001")),
        timezone=match["timezone"],
        city=match["city"].title(),
        state=match["state"],
    )


def _lookup_failed(postal_code: str) -> str:
    return f"We could not look up the ZIP code “{postal_code}” just now. Try again in a moment."
