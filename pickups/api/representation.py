"""Orders, their events and their public tracking as the API answers with them, built from plain rows
(`selectors.*_SHOWN`) or the loaded order.

`OrderSerializer` states the shape (the schema) and writes webhook payloads; on the API's own read and
write paths a model instance and a nested serializer per order and per package cost most of a list's
time, so these functions write the same JSON from `values()` rows. tests/pickups/test_api_representation.py
holds the two to the same output.
"""

from collections.abc import Iterable
from datetime import datetime, tzinfo
from decimal import Decimal

from django.utils import timezone

from pickups.models import Order, Package
from pickups.selectors import ORDER_SHOWN, PACKAGE_SHOWN, packages_shown
from pickups.tracking import tracking_of

# Plain fields, under the names the API gives them.
PLAIN = (
    *("id", "status", "attempt", "tracking_code", "external_id", "service_level", "customer_name"),
    *("customer_phone", "customer_email", "address_line1", "address_line2", "city", "state", "postal_code"),
)


def orders_represented(rows: list[dict]) -> list[dict]:
    """Rows of `selectors.orders_with_packages` as the API shows them."""
    zone = timezone.get_current_timezone()
    return [order_represented(row, row["packages"], zone) for row in rows]


def order_represented(row: dict, packages: list[dict], zone: tzinfo) -> dict:
    """One order row and its package rows as `OrderSerializer` writes them (fields in its order), times
    in `zone` (DRF's: the current time zone)."""
    answer = {name: row[name] for name in PLAIN[:4]}
    answer["store"] = {"id": row["store_id"], "name": row["store__name"], "site": row["store__site__name"]}
    answer |= {name: row[name] for name in PLAIN[4:]}
    answer |= {"latitude": _decimal(row["latitude"], 6), "longitude": _decimal(row["longitude"], 6)}
    answer |= {"notes": row["notes"], "distance_miles": _decimal(row["distance_miles"], 1)}
    answer["packages"] = [
        {
            "sequence": package["sequence"],
            "label_code": package["label_code"],
            "weight_lb": _decimal(package["weight_lb"], 2),
            "length_in": _decimal(package["length_in"], 1),
            "width_in": _decimal(package["width_in"], 1),
            "height_in": _decimal(package["height_in"], 1),
        }
        for package in packages
    ]
    answer["created_at"], answer["ready_at"] = _moment(row["created_at"], zone), _moment(row["ready_at"], zone)
    answer["quote"], answer["pickup_window"] = row["quote_id"], _window(row, zone)
    answer["not_scheduled_reason"] = row["not_scheduled_reason"]
    answer["cancelled_at"] = _moment(row["cancelled_at"], zone)
    answer["cancel_reason"] = row["cancel_reason"]
    return answer


def order_answer(order: Order, packages: Iterable[Package] | None = None) -> dict:
    """A loaded order (with its store, site and window), e.g. one just created or moved, as the API shows
    it; its packages are read unless given."""
    if packages is None:
        rows = packages_shown([order.pk]).get(order.pk, [])
    else:
        rows = [{name: getattr(package, name) for name in PACKAGE_SHOWN} for package in packages]
    return order_represented(order_row(order), rows, timezone.get_current_timezone())


def events_represented(rows: list[dict]) -> list[dict]:
    """Rows of EVENT_SHOWN as `OrderEventSerializer` writes them."""
    zone = timezone.get_current_timezone()
    return [
        {
            "id": row["id"],
            "type": row["type"],
            "occurred_at": _moment(row["occurred_at"], zone),
            "actor": row["actor_label"],
            "from_status": row["from_status"],
            "to_status": row["to_status"],
            "latitude": _decimal(row["latitude"], 6),
            "longitude": _decimal(row["longitude"], 6),
            "details": row["details"],
        }
        for row in rows
    ]


def tracking_represented(order: Order) -> dict:
    """An order loaded by `selectors.order_for_tracking` as `TrackingSerializer` writes it: what anyone with
    the tracking code may see."""
    zone = timezone.get_current_timezone()
    tracking = tracking_of(order, order.timeline)
    progress = {
        "headline": tracking.headline,
        "steps": [
            {"title": step.title, "done": step.done, "current": step.current, "at": _moment(step.at, zone)}
            for step in tracking.steps
        ],
        "promised_date": tracking.promised_date.isoformat() if tracking.promised_date else None,
        "eta_from": _moment(tracking.eta_from, zone),
        "eta_to": _moment(tracking.eta_to, zone),
        "delivered_how": tracking.delivered_how,
        "delivered_at": _moment(tracking.delivered_at, zone),
    }
    return {
        "tracking_code": order.tracking_code,
        "status": order.status,
        "status_label": order.get_status_display(),
        "service_level": order.service_level,
        "attempt": order.attempt,
        "customer_first_name": order.customer_first_name,
        "city": order.city,
        "store": order.store.name,
        "progress": progress,
        "events": [
            {"type": event.type, "occurred_at": _moment(event.occurred_at, zone), "to_status": event.to_status}
            for event in order.timeline
        ],
    }


def order_row(order: Order) -> dict:
    """A loaded order (with its store, site and window) as a row of ORDER_SHOWN."""
    row = {}
    for name in ORDER_SHOWN:
        value = order
        for part in name.split("__"):
            value = getattr(value, part) if value is not None else None
        row[name] = value
    return row


def _window(row: dict, zone: tzinfo) -> dict | None:
    if row["pickup_window_id"] is None:
        return None
    name, vehicle = row["pickup_window__driver_name"], row["pickup_window__driver_vehicle"]
    return {
        "id": row["pickup_window_id"],
        "status": row["pickup_window__status"],
        "starts_at": _moment(row["pickup_window__starts_at"], zone),
        "ends_at": _moment(row["pickup_window__ends_at"], zone),
        "driver": {"first_name": name, "vehicle": vehicle} if name else None,
    }


def _decimal(value: Decimal | None, places: int) -> str | None:
    """As DRF writes a DecimalField: a string with the column's decimal places."""
    return None if value is None else f"{value:.{places}f}"


def _moment(value: datetime | None, zone: tzinfo) -> str | None:
    """As DRF writes a DateTimeField: ISO 8601 in that zone, "Z" for UTC."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
