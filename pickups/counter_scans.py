"""Scanning labels at a store's counter: the one rule behind a pickup (store to driver) and a return
(driver back to store). Each label gets its own answer; packages scanned are stamped, so a handoff
can be scanned over several calls; an order changes hands when all its packages are scanned.
"""

from dataclasses import dataclass
from datetime import datetime

from .models import Order, Package


@dataclass(frozen=True)
class Outcomes:
    """The words for each result of one kind of handoff: (result code, message) per outcome."""

    scanned: tuple[str, str]
    again: tuple[str, str]
    other_store: tuple[str, str]
    elsewhere: tuple[str, str]  # a real label, but not part of this handoff
    unknown: tuple[str, str] = ("unknown", "Not a label we know: check the code.")

    @property
    def results(self) -> dict[str, str]:
        return dict((self.scanned, self.again, self.other_store, self.elsewhere, self.unknown))


@dataclass(frozen=True)
class Scan:
    label_code: str
    result: str
    message: str
    tracking_code: str = ""


def scan_labels(
    label_codes: list[str],
    *,
    packages: list[Package],
    store_id: int,
    from_status: str,
    stamp: str,
    at: datetime,
    outcomes: Outcomes,
) -> tuple[list[Scan], list[Package]]:
    """Answer each label (spaces and case ignored, repeats once) against the handoff's `packages`
    (loaded with their orders) and stamp the newly scanned ones' `stamp` field with `at`. Packages
    of orders no longer in `from_status` have changed hands already.

    Returns the scans, in the order sent, and the packages newly scanned (saved here, one UPDATE).
    """
    codes = list(dict.fromkeys(code.strip().upper() for code in label_codes if code.strip()))
    by_label = {package.label_code: package for package in packages}
    real = set(
        Package.objects.filter(label_code__in=[code for code in codes if code not in by_label]).values_list(
            "label_code", flat=True
        )
    )
    scans, scanned = [], []
    for code in codes:
        package = by_label.get(code)
        if package is None:
            scans.append(Scan(code, *(outcomes.elsewhere if code in real else outcomes.unknown)))
        elif package.order.store_id != store_id:
            scans.append(Scan(code, *outcomes.other_store, package.order.tracking_code))
        elif getattr(package, stamp) is not None or package.order.status != from_status:
            scans.append(Scan(code, *outcomes.again, package.order.tracking_code))
        else:
            setattr(package, stamp, at)
            scanned.append(package)
            scans.append(Scan(code, *outcomes.scanned, package.order.tracking_code))
    Package.objects.filter(pk__in=[package.pk for package in scanned]).update(**{stamp: at})
    return scans, scanned


def orders_complete(packages: list[Package], scanned: list[Package], stamp: str) -> list[Order]:
    """The orders touched by this scan whose every package is now stamped, in id order."""
    touched = {package.order_id for package in scanned}
    orders = {package.order_id: package.order for package in packages}
    return [
        orders[order_id]
        for order_id in sorted(touched)
        if all(getattr(package, stamp) for package in packages if package.order_id == order_id)
    ]


def labels_of(order_id: int, packages: list[Package]) -> list[str]:
    return sorted(package.label_code for package in packages if package.order_id == order_id)
