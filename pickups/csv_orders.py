"""Orders as CSV: the import format (one order a line), checking uploads row by row, and export.

Import is all or nothing: every row is checked first (format, then the intake rules), and one
bad cell means no order is created and the merchant gets every problem by row and column.
"""

import csv
import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from common.geocoding import GeocodingError, geocode
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


@dataclass
class _Checked:
    """A line's draft for the rules: its own, or for a line with malformed cells a stand-in (`_stand_in`)."""

    line: int
    draft: OrderDraft
    well_formed: bool = True
    muted: frozenset[str] = frozenset()  # columns whose rule problems are not the merchant's (a stand-in's)
    zip_to_check: str = ""  # a ZIP code the rules cannot check, there being no store to place it from


def check_rows(
    *, merchant: Merchant, text: str, progress: Callable[[int], None] = lambda checked: None
) -> tuple[list[OrderDraft], list[int], list[dict]]:
    """Drafts for every row with the file line of each, and every problem as {row, column, message};
    `row` is the line as the merchant's spreadsheet numbers it (the header is line 1), `column` the header of
    the file's column to fix (empty for the line as a whole).

    One pass finds every problem: a line with a malformed cell is still checked against the program's rules
    (store, order number, package limits, distance) with what can be read of it, so that fixing the file once
    is enough. A rule is not reported on a cell that is already malformed."""
    rows = _rows(text)
    stores = _store_lookup(merchant)
    checked: list[_Checked] = []
    problems: list[dict] = []
    for index, (line, row) in enumerate(rows):
        data, cell_problems = _row_data(row, stores)
        intake = OrderInputSerializer(data=data)
        if intake.is_valid() and not cell_problems:
            checked.append(_Checked(line, intake.to_draft()))
        else:
            found = cell_problems + _format_problems(intake.errors)
            problems += [{"row": line, "column": column, "message": message} for column, message in found]
            checked.append(_stand_in(line, data, intake.errors))
        if (index + 1) % PROGRESS_EVERY == 0:
            progress(index + 1)
    broken = check_drafts(merchant=merchant, drafts=[row.draft for row in checked])
    for index, fields in broken.items():
        row = checked[index]
        problems += [problem for problem in rule_problems(row.line, fields) if problem["column"] not in row.muted]
    problems += [problem for row in checked if (problem := _unknown_zip(row))]
    good = [row for index, row in enumerate(checked) if row.well_formed and index not in broken]
    progress(len(rows))
    return [row.draft for row in good], [row.line for row in good], sorted(problems, key=_in_file_order)


def _in_file_order(problem: dict) -> tuple[int, int]:
    """By line, then by column as the template orders them (the line as a whole first)."""
    column = problem["column"]
    return problem["row"] or 0, IMPORT_COLUMNS.index(column) + 1 if column in IMPORT_COLUMNS else 0


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
        problems.append(("", "This line has more cells than the header has columns."))
    store = stores.get(data["store"].lower())
    if not data["store"]:
        problems.append(("store", "Name one of your stores (as in your account) or give its number."))
    elif store is None:
        problems.append(("store", f"You have no store named “{data['store']}”."))
    data["store"] = store or 0
    weights = [w.strip() for w in (row.get("weights_lb") or "").split(";") if w.strip()]
    sizes = [s.strip() for s in (row.get("dimensions_in") or "").split(";") if s.strip()]
    data["packages"] = [{"weight_lb": weight} for weight in weights]
    if not weights:
        problems.append(("weights_lb", "Give the weight of each package in lb, separated by ;, e.g. 2.5; 4."))
    elif sizes and len(sizes) != len(weights):
        problems.append(("dimensions_in", "Give dimensions for every package, or for none."))
    for number, (package, size) in enumerate(zip(data["packages"], sizes, strict=False), start=1):
        parts = size.lower().split("x")
        if len(parts) != 3:
            problems.append(
                (
                    "dimensions_in",
                    f"Package {number}: write “{size}” as length x width x height in inches, e.g. 12x8x6.",
                )
            )
            continue
        package["length_in"], package["width_in"], package["height_in"] = (part.strip() for part in parts)
    return data, problems


# A package's fields as the file's columns hold them.
PACKAGE_FIELD_COLUMNS = {"weight_lb": "weights_lb", "length_in": "dimensions_in"}
PACKAGE_FIELD_COLUMNS |= {"width_in": "dimensions_in", "height_in": "dimensions_in"}
# Rule problems of fields that are no column: where in the file they are fixed (the ZIP code places the customer).
RULE_COLUMNS = {"delivery_address": "postal_code", "packages": "weights_lb"}
# The package rules' problems with a package's size (intake._size_problem) begin so; the others are of weight.
SIZE_PROBLEM = re.compile(r"^Package \d+: ")


def _format_problems(errors: dict) -> list[tuple[str, str]]:
    """The serializer's problems with the line's cells, by the file's column. The store's is left out: the
    store lookup has said it in the merchant's words already (the serializer only saw no store)."""
    problems = []
    for field, messages in errors.items():
        if field == "store":
            continue
        if field != "packages":
            problems += [(field, str(message)) for message in messages]
        elif "non_field_errors" in messages:  # the list as a whole, e.g. too many packages
            problems += [("weights_lb", str(message)) for message in messages["non_field_errors"]]
        else:  # {package index: {field: [messages]}}
            for index, fields in sorted(messages.items()):
                for name, package_messages in fields.items():
                    column = PACKAGE_FIELD_COLUMNS.get(name, "weights_lb")
                    problems += [(column, f"Package {index + 1}: {message}") for message in package_messages]
    return problems


def rule_problems(line: int, fields: dict[str, list[str]]) -> list[dict]:
    """The intake rules' problems of one line ({field: [messages]}), each under the file's column to fix."""
    problems = []
    for field, messages in fields.items():
        for message in messages:
            column = RULE_COLUMNS.get(field, field)
            if field == "packages" and SIZE_PROBLEM.match(message):
                column = "dimensions_in"
            problems.append({"row": line, "column": column, "message": message})
    return problems


# Values no rule refuses, standing in for a malformed cell so that the rest of its line can still be checked.
STAND_INS = {
    "store": 1,  # then no store at all: see _stand_in
    "external_id": "-",  # then a number no other line has: see _stand_in
    "service_level": Order.ServiceLevel.SAME_DAY,
    "customer_name": "-",
    "customer_phone": "-",
    "customer_email": "",
    "address_line1": "-",
    "address_line2": "",
    "city": "-",
    "state": "AZ",
    "postal_code": "00000",  # then not placed: see _stand_in
    "latitude": None,
    "longitude": None,
    "notes": "",
}
SIDES = ("length_in", "width_in", "height_in")


def _stand_in(line: int, data: dict, errors: dict) -> _Checked:
    """A draft of a line with malformed cells for the rules to check: each malformed cell (or package
    weight, or size) replaced by a value no rule refuses, so that every rule problem found is one of the
    merchant's own cells, said besides the format problems.

    Without a store or a readable ZIP code the distance cannot be measured: the draft then names no store
    (that rule's problem is muted: the lookup said it), and `_unknown_zip` still looks the ZIP code up."""
    data = data | {field: STAND_INS[field] for field in errors if field in STAND_INS}
    if {"latitude", "longitude"} & set(errors):
        data["latitude"] = data["longitude"] = None  # placed by the ZIP code alone
    packages = [dict(package) for package in data["packages"]]
    package_errors = errors.get("packages", {})
    if not packages or "non_field_errors" in package_errors:  # none, or too many: said by the format problems
        packages = [{"weight_lb": "1"}]
        package_errors = {}
    for index, fields in package_errors.items():
        if "weight_lb" in fields:
            packages[index]["weight_lb"] = "1"
        if set(fields) & set(SIDES):
            packages[index] = {"weight_lb": packages[index]["weight_lb"]}
    intake = OrderInputSerializer(data=data | {"packages": packages})
    intake.is_valid(raise_exception=True)
    draft = intake.to_draft()
    if "external_id" in errors:
        draft.external_id = f"line {line}: {'?' * 64}"  # longer than any order number: never a duplicate
    if "store" not in errors and "postal_code" not in errors:
        return _Checked(line, draft, well_formed=False)
    draft.store_id = 0  # not placed: no distance to check
    zip_to_check = "" if "postal_code" in errors else draft.postal_code
    return _Checked(line, draft, well_formed=False, muted=frozenset({"store"}), zip_to_check=zip_to_check)


def _unknown_zip(row: _Checked) -> dict | None:
    """A ZIP code no map knows, on a line whose store is unknown (the rules place a customer only from a store)."""
    if not row.zip_to_check:
        return None
    try:
        geocode(row.zip_to_check)
    except GeocodingError as error:
        return {"row": row.line, "column": "postal_code", "message": str(error)}
    return None


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
