"""Orders as CSV: the import format (one order a line), checking uploads row by row, and export.

Import is all or nothing: every row is checked first (format, then the intake rules), and one
bad cell means no order is created and the merchant gets every problem by row and column.
"""

import csv
import io
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from merchants.models import Merchant, Store

from .api.serializers import OrderInputSerializer
from .intake import ORDER_FIELDS, OrderDraft, check_drafts
from .models import Order

PACKAGE_COLUMNS = ["weights_lb", "dimensions_in"]
IMPORT_COLUMNS = [*ORDER_FIELDS, *PACKAGE_COLUMNS]
REQUIRED_COLUMNS = {
    "store",
    "external_id",
    "customer_name",
    "customer_phone",
    "address_line1",
    "city",
    "state",
    "postal_code",
    "weights_lb",
}
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
PROGRESS_EVERY = 100
# A cell starting with one of these is a formula to a spreadsheet; exported cells get a ' in front.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EXAMPLE_ROW = {
    "store": "Desert Bloom Chandler",
    "external_id": "WEB-1001",
    "service_level": "same_day",
    "customer_name": "Jamie Rivera",
    "customer_phone": "480-555-0199",
    "customer_email": "jamie@example.com",
    "address_line1": "100 N Arizona Ave",
    "address_line2": "Apt 4",
    "city": "Chandler",
    "state": "AZ",
    "postal_code": "85225",
    "latitude": "",
    "longitude": "",
    "notes": "Leave with the concierge",
    "weights_lb": "2.5; 4",
    "dimensions_in": "12x8x6; 10x10x4",
}


class UploadError(ValueError):
    """The file as a whole cannot be imported (size, encoding, header); said in the merchant's words."""


def import_template(store: Store | None = None) -> str:
    """The header and an example line; given the merchant's store, the line names it and its town, so the
    template imports as it is instead of naming a store the merchant does not have."""
    row = EXAMPLE_ROW
    if store is not None:
        site = store.site
        row = row | {"store": store.name, "city": site.city, "state": site.state, "postal_code": site.postal_code}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, IMPORT_COLUMNS)
    writer.writeheader()
    writer.writerow(row)
    return buffer.getvalue()


def too_big(size: int) -> str:
    """The message for a file of `size` bytes over the limit; its size rounded up, so that a file just
    over 2 MB is not said to be 2.0 MB."""
    megabytes = math.ceil(size * 10 / 1024 / 1024) / 10
    limit = MAX_IMPORT_BYTES // 1024 // 1024
    return f"The file is {megabytes:.1f} MB; upload at most {limit} MB at a time."


def decode_upload(raw: bytes) -> tuple[str, int]:
    """The text of an uploaded file and its number of orders; refused early if too big, not UTF-8
    text, without our columns or without any order.

    `raw` may be cut short after the limit (the form checks the real size first): over the limit,
    only "too big" is said, not a size that would be the cut's.
    """
    if len(raw) > MAX_IMPORT_BYTES:
        limit = MAX_IMPORT_BYTES // 1024 // 1024
        raise UploadError(f"The file is larger than {limit} MB; upload at most {limit} MB at a time.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError("The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8”.") from None
    rows = _rows(text)
    if len(rows) > MAX_IMPORT_ROWS:
        raise UploadError(f"The file has {len(rows)} orders; upload at most {MAX_IMPORT_ROWS} at a time.")
    if not rows:
        raise UploadError("The file has no orders: it needs a header line and one line per order.")
    return text, len(rows)


EXTRA = "_extra_cells"


def _rows(text: str) -> list[tuple[int, dict]]:
    """The non-empty lines as (line, {column: text}); cells beyond the header's columns go under EXTRA.

    Lines are numbered as the merchant's spreadsheet numbers its rows: the header is line 1, an empty
    line or a line of empty cells still counts, and a cell running over several lines (in quotes) does
    not start a new one.
    """
    records = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows = []
    line = 0
    try:
        for cells in records:
            line += 1
            if header is None:
                if cells:
                    header = _header(cells)
                continue
            if any(cell.strip() for cell in cells):
                rows.append((line, _row(header, cells)))
    except csv.Error as error:
        raise UploadError(f"Line {line + 1} is not valid CSV ({error}).") from None
    if header is None:
        _header([])
    return rows


def _header(cells: list[str]) -> list[str]:
    header = [name.strip() for name in cells]
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        raise UploadError(f"The header line lacks the column(s) {', '.join(sorted(missing))}. Use our template.")
    return header


def _row(header: list[str], cells: list[str]) -> dict:
    """As csv.DictReader makes it: missing cells None, extra ones in a list under EXTRA."""
    row = dict(zip(header, cells, strict=False))
    row.update({name: None for name in header[len(cells) :]})
    if len(cells) > len(header):
        row[EXTRA] = cells[len(header) :]
    return row


def _text(value) -> str:
    return " ".join(value).strip() if isinstance(value, list) else (value or "").strip()


def check_rows(
    *, merchant: Merchant, text: str, progress: Callable[[int], None] = lambda checked: None
) -> tuple[list[OrderDraft], list[int], list[dict]]:
    """Drafts for every row with the file line of each, and every problem as {row, column, message};
    `row` is the line as the merchant's spreadsheet numbers it (the header is line 1)."""
    rows = _rows(text)
    stores = _store_lookup(merchant)
    drafts: list[OrderDraft] = []
    lines: list[int] = []  # the file line of each draft
    problems: list[dict] = []
    for index, (line, row) in enumerate(rows):
        data, cell_problems = _row_data(row, stores)
        intake = OrderInputSerializer(data=data)
        if intake.is_valid() and not cell_problems:
            drafts.append(intake.to_draft())
            lines.append(line)
        else:
            problems += [{"row": line, "column": column, "message": message} for column, message in cell_problems]
            problems += _serializer_problems(line, intake.errors if not intake.is_valid() else {})
        if (index + 1) % PROGRESS_EVERY == 0:
            progress(index + 1)
    for index, rule_errors in check_drafts(merchant=merchant, drafts=drafts).items():
        for field, messages in rule_errors.items():
            problems += [{"row": lines[index], "column": field, "message": m} for m in messages]
    progress(len(rows))
    return drafts, lines, sorted(problems, key=lambda problem: problem["row"])


def _store_lookup(merchant: Merchant) -> dict[str, int]:
    lookup = {}
    for pk, name in Store.objects.filter(merchant=merchant, is_active=True).values_list("pk", "name"):
        lookup[str(pk)] = lookup[name.strip().lower()] = pk
    return lookup


def _row_data(row: dict, stores: dict[str, int]) -> tuple[dict, list[tuple[str, str]]]:
    """The row as the API's order body, plus problems with cells the API does not have."""
    data = {name: (row.get(name) or "").strip() for name in ORDER_FIELDS}
    data["service_level"] = data["service_level"] or Order.ServiceLevel.SAME_DAY
    for optional in ("latitude", "longitude"):
        data[optional] = data[optional] or None
    problems = []
    if _text(row.get(EXTRA)):
        problems.append(("line", "This line has more cells than the header has columns."))
    store = stores.get(data["store"].lower())
    if store is None:
        problems.append(("store", f"You have no store named “{data['store']}”."))
    data["store"] = store or 0
    weights = [w.strip() for w in (row.get("weights_lb") or "").split(";") if w.strip()]
    sizes = [s.strip() for s in (row.get("dimensions_in") or "").split(";") if s.strip()]
    data["packages"] = [{"weight_lb": weight} for weight in weights]
    if sizes and len(sizes) != len(weights):
        problems.append(("dimensions_in", "Give dimensions for every package, or for none."))
    for package, size in zip(data["packages"], sizes, strict=False):
        parts = size.lower().split("x")
        if len(parts) != 3:
            problems.append(("dimensions_in", f"Write “{size}” as length x width x height in inches, e.g. 12x8x6."))
            continue
        package["length_in"], package["width_in"], package["height_in"] = (part.strip() for part in parts)
    return data, problems


def _serializer_problems(line: int, errors: dict) -> list[dict]:
    problems = []
    for field, messages in errors.items():
        if field == "packages" and isinstance(messages, list) and messages and isinstance(messages[0], dict):
            for number, package_errors in enumerate(messages, start=1):
                for name, package_messages in package_errors.items():
                    column = "weights_lb" if name == "weight_lb" else "dimensions_in"
                    problems += [
                        {"row": line, "column": column, "message": f"Package {number}: {m}"} for m in package_messages
                    ]
            continue
        column = "weights_lb" if field == "packages" else field
        problems += [{"row": line, "column": column, "message": str(message)} for message in messages]
    return problems


EXPORT_COLUMNS = ["tracking_code", "status", "created_at", *IMPORT_COLUMNS, "label_codes"]


def export_rows(orders: Iterable[Order]) -> Iterable[list[str]]:
    """The header, then one line per order, every cell safe to open in a spreadsheet."""
    yield EXPORT_COLUMNS
    for order in orders:
        packages = list(order.packages.all())
        values = {
            "tracking_code": order.tracking_code,
            "status": order.status,
            "created_at": order.created_at.isoformat(),
            "store": order.store.name,
            "weights_lb": "; ".join(str(p.weight_lb) for p in packages),
            "dimensions_in": "; ".join(f"{p.length_in}x{p.width_in}x{p.height_in}" for p in packages)
            if all(p.length_in is not None for p in packages)
            else "",
            "label_codes": "; ".join(p.label_code for p in packages),
        }
        yield [_safe(values[name] if name in values else getattr(order, name)) for name in EXPORT_COLUMNS]


def _safe(value) -> str:
    """The cell's text, with a ' before anything a spreadsheet would run as a formula (not numbers)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return f"'{text}"
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
