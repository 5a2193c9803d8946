"""Local time of a place: one module converts between a site's zone and UTC."""

import zoneinfo
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

# US zones offered in forms; any valid IANA name is accepted by the model.
US_TIMEZONES = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Arizona, no daylight saving (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
]


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "“%(value)s” is not a time zone we know, such as America/Phoenix.", params={"value": value}
        )


def local_today(tz_name: str) -> date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(tz_name))
