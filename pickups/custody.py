"""The custody record: every order's ledger as a hash chain, its verification, and the record as PDF and CSV.

The chain. Each event is sealed with `hash` = SHA-256 of its canonical form (`canonical`), which
includes `prev_hash`, the seal of the same order's previous event ("" for its first). Events are
chained in the order they were written, which is id order (not `occurred_at`: two transactions may
take their time in one order and write in the other). Changing an event's content breaks its own
seal; removing or inserting one breaks the next event's link; so does re-sealing an edited event.
Removing an order's last events is not visible in the chain itself. `pickups.ledger.events_append`
is the only writer; the database refuses nothing here, the verification finds what was changed.

What the seal covers: the order's id, type, time (UTC, microseconds), actor_label, from and to
status, place and details. Not the actor's login id: the schema clears it when a login is deleted
(SET_NULL), which is not tampering; actor_label is the record of who did it. Not a delivery
photo's file, only its storage name.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from itertools import groupby
from operator import attrgetter
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.core.files.storage import default_storage
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.text import get_valid_filename
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .csv_orders import _safe as spreadsheet_safe
from .models import Order, OrderEvent, OrderStatus, PickupWindow

# ---------------------------------------------------------------------------------------------
# The chain: pure functions, no database.

# The coordinate columns' scale: a place is sealed as the database keeps it.
COORDINATE_STEP = Decimal(1).scaleb(-OrderEvent._meta.get_field("latitude").decimal_places)


def coordinate(value) -> Decimal | None:
    """A latitude or longitude as its column stores it (six decimals), whatever it came as."""
    if value is None:
        return None
    rounded = Decimal(str(value)).quantize(COORDINATE_STEP, rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # the database has no "-0.000000"


# One encoder for every seal: json.dumps would build a new one per call, most of its time for a small object.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical(event: OrderEvent, prev_hash: str) -> bytes:
    """The bytes an event's seal covers: one JSON object, keys sorted, no spaces, ASCII only."""
    latitude, longitude = coordinate(event.latitude), coordinate(event.longitude)
    content = {
        "order": event.order_id,
        "type": event.type,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_label": event.actor_label,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "latitude": None if latitude is None else format(latitude, "f"),
        "longitude": None if longitude is None else format(longitude, "f"),
        "details": event.details,
        "prev_hash": prev_hash,
    }
    return _CANONICAL_JSON.encode(content).encode()


def event_digest(event: OrderEvent, prev_hash: str) -> str:
    """The event's seal: SHA-256 (hex) of its canonical form, which includes the previous seal."""
    return hashlib.sha256(canonical(event, prev_hash)).hexdigest()


# Where an event's order and previous seal sit in its canonical form: next to each other ("order" and "prev_hash"
# sort so), after every other field that can hold an object ("details"), before two plain strings.
_ORDER_AND_PREVIOUS = b'"order":0,"prev_hash":""'


def digester(event) -> Callable[[int, str], str]:
    """`event_digest` of events like `event` for any order and previous seal: the rest of their canonical form
    made once. For many orders moved alike (the assignment), sealed per order without a JSON object each.
    `event` is a dataclass (pickups.ledger.Entry)."""
    head, found, tail = canonical(replace(event, order_id=0), "").rpartition(_ORDER_AND_PREVIOUS)
    assert found, "the canonical form has no order and previous seal where they sort"
    head, tail = head + b'"order":', b'"' + tail

    def digest(order_id: int, prev_hash: str) -> str:
        return hashlib.sha256(b'%s%d,"prev_hash":"%s%s' % (head, order_id, prev_hash.encode(), tail)).hexdigest()

    return digest


def verify_chain(events: Iterable[OrderEvent]) -> int | None:
    """The id of the first of one order's events whose link or seal is wrong, or None if the chain holds.

    Taken in id order (the order they were written in) whatever order they are given in.
    """
    expected = ""
    for event in sorted(events, key=attrgetter("pk")):
        if event.prev_hash != expected or event.hash != event_digest(event, expected):
            return event.pk
        expected = event.hash
    return None


# ---------------------------------------------------------------------------------------------
# Checking many orders: a batch of orders and their events at a time, so memory stays flat.


@dataclass(frozen=True)
class ChainCheck:
    order: Order
    events: int
    broken: OrderEvent | None  # the first event whose link or seal is wrong

    def __str__(self) -> str:
        if self.broken is None:
            return f"order {self.order.external_id} ({self.order.pk}): intact, {_count(self.events, 'event')}"
        event = self.broken
        return (
            f"order {self.order.external_id} ({self.order.pk}): first broken link at event {event.pk} "
            f"({event.type}, {event.occurred_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"
        )


def chains_verify(orders: QuerySet[Order], *, chunk_size: int = 500) -> Iterator[ChainCheck]:
    """Check the chain of every order of `orders`, in id order: two queries per `chunk_size` orders."""
    orders = orders.select_related(None).prefetch_related(None).only("pk", "external_id").order_by("pk")
    after = 0
    while chunk := list(orders.filter(pk__gt=after)[:chunk_size]):
        after = chunk[-1].pk
        events = OrderEvent.objects.filter(order__in=[order.pk for order in chunk]).order_by("order_id", "id")
        by_order = {order_id: list(chain) for order_id, chain in groupby(events, key=attrgetter("order_id"))}
        for order in chunk:
            chain = by_order.get(order.pk, [])
            broken = verify_chain(chain)
            yield ChainCheck(order, len(chain), next((e for e in chain if e.pk == broken), None))


def intact_text(orders: int, events: int) -> str:
    return f"{_count(orders, 'order')}, {_count(events, 'event')}: every chain intact"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# ---------------------------------------------------------------------------------------------
# The record as documents.


@dataclass(frozen=True)
class Line:
    """One event as the record shows it."""

    event: OrderEvent
    local_time: str  # in the store's site's zone, with its abbreviation
    moves: str  # "Ready for pickup → Scheduled", or the one status of a note

    @property
    def place(self) -> str:
        event = self.event
        return "" if event.latitude is None else f"{coordinate(event.latitude)}, {coordinate(event.longitude)}"

    @property
    def photo(self) -> str:
        event = self.event
        return (event.details or {}).get("photo", "") if event.type == "order.delivered" else ""


def custody_lines(order: Order) -> tuple[list[Line], int | None]:
    """The order's events in chain order, as shown, and the id of the first broken one (None: intact)."""
    zone = ZoneInfo(order.store.site.timezone)
    events = sorted(order.events.all(), key=attrgetter("pk"))  # prefetched or not
    lines = [Line(event, _local(event.occurred_at, zone), _moves(event)) for event in events]
    return lines, verify_chain(events)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def _moves(event: OrderEvent) -> str:
    to = _status(event.to_status)
    if not event.from_status or event.from_status == event.to_status:
        return to
    return f"{_status(event.from_status)} → {to}"


def _status(value: str) -> str:
    return OrderStatus(value).label if value in OrderStatus.values else value


def _closing(lines: list[Line], broken: int | None) -> str:
    if broken is None:
        last = lines[-1].event.hash if lines else "none"
        return (
            f"Chain of custody intact: each of the {_count(len(lines), 'event')} is sealed (SHA-256) to the one "
            f"before it. Last seal: {last}."
        )
    line = next(line for line in lines if line.event.pk == broken)
    return (
        f"Chain of custody BROKEN at event {broken} ({line.event.title}, {line.local_time}): the ledger was "
        "changed after it was written, and from this event on the record cannot be trusted."
    )


CSV_COLUMNS = [
    "event_id",
    "time",
    "event",
    "by",
    "from_status",
    "to_status",
    "latitude",
    "longitude",
    "particulars",
    "type",
    "order_id",
    "occurred_at_utc",
    "details",
    "prev_hash",
    "hash",
]


def custody_csv(order: Order) -> str:
    """One line per event, in chain order, with the full seals and everything they cover (so anyone can
    recompute them); a cell a spreadsheet would run as a formula gets a ' in front, as in order exports."""
    lines, _ = custody_lines(order)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        event = line.event
        values = [
            event.pk,
            line.local_time,
            event.title,
            event.actor_label,
            event.from_status,
            event.to_status,
            coordinate(event.latitude),
            coordinate(event.longitude),
            event.summary,
            event.type,
            event.order_id,
            event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            json.dumps(event.details, sort_keys=True, separators=(",", ":")),
            event.prev_hash,
            event.hash,
        ]
        writer.writerow([spreadsheet_safe(value) for value in values])
    return buffer.getvalue()


PAGE = landscape(letter)
MARGIN = 0.5 * inch
TEXT = ParagraphStyle("custody", fontName="Vera", fontSize=7.5, leading=9.5)
HEAD = ParagraphStyle("custody-head", parent=TEXT, fontName="Vera-Bold")
SEAL = ParagraphStyle("custody-seal", parent=TEXT, fontName="Courier")
TITLE = ParagraphStyle("custody-title", fontName="Vera-Bold", fontSize=15, leading=19)
INTRO = ParagraphStyle("custody-intro", fontName="Vera", fontSize=9.5, leading=13)
COLUMNS = [  # (heading, width); 10 inches in all
    ("Time", 1.55),
    ("Event", 1.6),
    ("By", 1.35),
    ("Status", 1.5),
    ("Place", 1.0),
    ("Particulars", 2.0),
    ("Seal", 1.0),
]
THUMBNAIL = 0.9 * inch
BROKEN = colors.Color(1, 0.85, 0.85)


def custody_pdf(order: Order) -> bytes:
    """The order's custody record, to print or hand over in a dispute: who had it when and where, each
    event with the start of its seal, and a closing line saying whether the chain holds.
    The order comes with its store and site."""
    _register_fonts()
    lines, broken = custody_lines(order)
    store, site = order.store, order.store.site
    buffer = io.BytesIO()
    printed = _local(timezone.now(), ZoneInfo(site.timezone))
    footer = f"Custody record of order {order.external_id} ({order.tracking_code}), printed {printed}"

    def on_page(canvas, document):
        canvas.setFont("Vera", 7)
        canvas.drawString(MARGIN, MARGIN / 2, footer[:160])
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN / 2, f"Page {document.page}")

    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"Custody record: order {order.external_id}",
        author="Mall Pickup",
        pageCompression=1,
    )
    unit = f", unit {store.unit}" if store.unit else ""
    story = [
        Paragraph(f"Custody record: order {escape(order.external_id)}", TITLE),
        Spacer(0, 4),
        Paragraph(f"Tracking code <font name='Courier'>{order.tracking_code}</font>", INTRO),
        Paragraph(f"Store: {escape(store.name)}, {escape(site.name)}{escape(unit)}", INTRO),
        Paragraph(f"Times in {escape(site.timezone)}, the store's time zone.", INTRO),
        Spacer(0, 10),
        _table(lines, broken),
        Spacer(0, 10),
        Paragraph(escape(_closing(lines, broken)), INTRO),
    ]
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


@cache
def _register_fonts() -> None:
    """Bitstream Vera ships with reportlab and draws names Helvetica cannot (Ł, ő...); arrows come from Symbol."""
    pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
    pdfmetrics.registerFont(TTFont("Vera-Bold", "VeraBd.ttf"))


def _table(lines: list[Line], broken: int | None) -> Table:
    rows = [[Paragraph(heading, HEAD) for heading, _ in COLUMNS]]
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
    ]
    for number, line in enumerate(lines, start=1):
        event = line.event
        moves = escape(line.moves).replace("→", "<font name='Symbol'>→</font>")
        particulars = [Paragraph(escape(event.summary), TEXT)]
        if line.photo:
            particulars.append(_thumbnail(line.photo))
        rows.append(
            [
                Paragraph(escape(line.local_time), TEXT),
                Paragraph(escape(event.title), TEXT),
                Paragraph(escape(event.actor_label), TEXT),
                Paragraph(moves, TEXT),
                Paragraph(escape(line.place), TEXT),
                particulars,
                Paragraph(event.hash[:12], SEAL),
            ]
        )
        if event.pk == broken:
            style.append(("BACKGROUND", (0, number), (-1, number), BROKEN))
    return Table(rows, colWidths=[width * inch for _, width in COLUMNS], repeatRows=1, style=TableStyle(style))


def _thumbnail(name: str):
    """A small copy of a delivery photo from storage; a line saying so if it cannot be read."""
    try:
        with default_storage.open(name) as file, PILImage.open(file) as photo:
            photo.thumbnail((300, 300))
            small = photo.convert("RGB")
    except (OSError, ValueError):  # missing, unreadable, not an image
        return Paragraph("(the delivery photo could not be read)", TEXT)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    buffer.seek(0)
    return Image(buffer, width=THUMBNAIL, height=THUMBNAIL * small.height / small.width)


def windows_custody_zip(windows: QuerySet[PickupWindow]) -> tuple[bytes, int]:
    """One custody record (PDF) per order that is or was in the windows (its events name the window);
    returns the zip and the number of orders."""
    ids = list(windows.values_list("pk", flat=True))
    named = OrderEvent.objects.filter(details__window__in=ids).values("order_id")
    orders = (
        Order.objects.filter(Q(pickup_window__in=ids) | Q(pk__in=named))
        .select_related("store__site")
        .prefetch_related(Prefetch("events", OrderEvent.objects.order_by("id")))
        .order_by("pk")
    )
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for order in orders:
            name = get_valid_filename(f"custody-{order.external_id}-{order.tracking_code}.pdf")
            archive.writestr(name, custody_pdf(order))
            count += 1
    return buffer.getvalue(), count
