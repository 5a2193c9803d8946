"""Coordinates and a time zone for a US address, without any network service.

The project calls `geocode(postal_code)`; which function answers is the GEOCODER setting, so a
paid geocoder can replace the offline ZIP code data set without touching callers.
"""

from dataclasses import dataclass
from decimal import Decimal

import zipcodes
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class GeoPoint:
    latitude: Decimal
    longitude: Decimal
    timezone: str
    city: str
    state: str


class GeocodingError(ValueError):
    """The address cannot be placed on the map; the message is meant for the merchant."""


def geocode(postal_code: str) -> GeoPoint:
    return import_string(settings.GEOCODER)(postal_code)


def zipcode_geocoder(postal_code: str) -> GeoPoint:
    """Centre of the ZIP code area, from the `zipcodes` package's bundled data."""
    code = (postal_code or "").strip()[:5]
    try:
        matches = zipcodes.matching(code)
    except (ValueError, TypeError):
        matches = []
    if not matches:
        raise GeocodingError(f"We don't know the ZIP code “{postal_code}”. Check it, or enter the coordinates.")
    match = matches[0]
    return GeoPoint(
        latitude=Decimal(match["lat"]).quantize(Decimal("0.000001")),
        longitude=Decimal(match["long"]).quantize(Decimal("0.000001")),
        timezone=match["timezone"],
        city=match["city"].title(),
        state=match["state"],
    )
