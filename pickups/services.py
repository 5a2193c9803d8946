"""What merchants do with orders: intake (form, CSV, API), edits until ready, ready and cancel through the ledger."""

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from common.actors import SYSTEM, Actor
from common.compiled import CompiledInsert
from common.errors import NotAllowedError, TransitionError
from common.tasks import enqueue_on_commit
from merchants import standing
from merchants.models import Merchant

from .csv_orders import check_rows, decode_upload, rule_problems
from .custody import coordinate
from .intake import OrderDraft, PackageDraft, check_drafts
from .ledger import events_append, order_event, order_move, order_transition, orders_save, orders_transition, the_one
from .models import CODE_ALPHABET, TRACKING_CODE_LENGTH, Order, OrderImport, Package, PickupWindow
from .order_locks import OneOrder, Orders, one_order, orders_locked
from .window_states import windows_release_capacity

Status = Order.Status
logger = logging.getLogger(__name__)


class DraftErrors(ValidationError):
    """Some drafts of a batch break the rules: {draft index: {field: [messages]}}."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        self.by_index = errors
        super().__init__("Some orders are not valid.")


def new_tracking_code() -> str:
    """12 random characters (about 59 bits): not guessable, short enough to type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(TRACKING_CODE_LENGTH))


def order_create(*, merchant: Merchant, draft: OrderDraft, actor: Actor) -> Order:
    """Create one order; a broken rule raises ValidationError keyed by field."""
    try:
        return orders_create(merchant=merchant, drafts=[draft], actor=actor)[0]
    except DraftErrors as error:
        raise ValidationError(error.by_index[0]) from None


def orders_create(*, merchant: Merchant, drafts: list[OrderDraft], actor: Actor) -> list[Order]:
    """Create every order of a batch, or none: any broken rule raises DraftErrors for all drafts.

    A fixed number of queries whatever the batch size: the stores, then bulk inserts of the orders, and of
    their events with their packages (one statement on PostgreSQL, once both are compiled). Order numbers in
    use are left to the unique constraint, which also settles two requests racing with one number; only then
    are they looked up, to name them. Each order comes back with `new_packages`, its packages as written
    (without their ids), to show without reading them back. Approved merchants only (merchants.standing), by
    every channel: form, API, CSV import.
    """
    standing.merchant_check(merchant, standing.ADD)
    errors = check_drafts(merchant=merchant, drafts=drafts, numbers_in_use=False)
    if errors:
        raise DraftErrors(errors)
    try:
        return _orders_insert(merchant=merchant, drafts=drafts, actor=actor)
    except IntegrityError:
        errors = check_drafts(merchant=merchant, drafts=drafts)
        if not errors:
            raise  # not an order number: a bug to see, not a message
        raise DraftErrors(errors) from None


# A new order and its packages (its event: ledger.events_append): the most frequent inserts, compiled once.
_new_orders = CompiledInsert(Order)
_new_packages = CompiledInsert(Package)


@transaction.atomic
def _orders_insert(*, merchant: Merchant, drafts: list[OrderDraft], actor: Actor) -> list[Order]:
    now = timezone.now()
    orders = _new_orders(
        [
            Order(
                merchant=merchant,
                store=draft.store,
                external_id=draft.external_id,
                service_level=draft.service_level,
                tracking_code=new_tracking_code(),
                customer_name=draft.customer_name,
                customer_phone=draft.customer_phone,
                customer_email=draft.customer_email,
                address_line1=draft.address_line1,
                address_line2=draft.address_line2,
                city=draft.city,
                state=draft.state.upper(),
                postal_code=draft.postal_code,
                latitude=draft.latitude,
                longitude=draft.longitude,
                distance_miles=draft.distance_miles,
                notes=draft.notes,
                quote=draft.quote,
                created_by=actor.user,
            )
            for draft in drafts
        ]
    )
    packages = [
        package for order, draft in zip(orders, drafts, strict=True) for package in _packages(order, draft.packages)
    ]
    by_order: dict[int, list[Package]] = {}
    for package in packages:
        by_order.setdefault(package.order_id, []).append(package)
    for order, draft in zip(orders, drafts, strict=True):
        order.new_packages = by_order[order.pk]
        order.merchant_listens = draft.store.merchant_listens  # read with the store: no query for the webhooks
    events_append(
        [
            order_event(order, "order.created", actor, now, "", Status.CREATED, {"packages": len(draft.packages)})
            for order, draft in zip(orders, drafts, strict=True)
        ],
        new_orders=True,
        along=(_new_packages, packages),  # by the events' statement: packages are shown, not read back
    )
    return orders


def _packages(order: Order, drafts) -> list[Package]:
    """The order's packages to write, numbered from 1; each label code is the tracking code and the number."""
    return [
        Package(
            order=order,
            sequence=number,
            label_code=f"{order.tracking_code}{number:02d}",
            weight_lb=package.weight_lb,
            length_in=package.length_in,
            width_in=package.width_in,
            height_in=package.height_in,
        )
        for number, package in enumerate(drafts, start=1)
    ]


def order_mark_ready(*, order: OneOrder, actor: Actor) -> Order:
    """Ask for a pickup; approved merchants only (a suspended one's orders would wait anyway).

    `order` may be a read of it (pickups.order_locks), e.g. `selectors.order_to_move`: one locked read that
    also scopes it to its merchant (404 for anyone else's) and loads what the answer shows."""
    return the_one(*orders_mark_ready(orders=one_order(order), actor=actor))


def orders_mark_ready(*, orders: Orders, actor: Actor) -> tuple[list[Order], list[tuple[Order, str]]]:
    """Flag many orders ready at once (new ones, or returned ones going out again); returns (moved,
    [(refused order, why)]). The table also lets the program move a scheduled order back to ready
    (a missed pickup); a merchant may not, as its parcels are already promised to a pickup."""
    return orders_transition(orders=orders, to=Status.READY, actor=actor, guard=_not_scheduled, allowed=standing.READY)


def _not_scheduled(order: Order) -> str:
    if order.status == Status.SCHEDULED:
        return f"Order {order.external_id} is scheduled already: it goes with the pickup it is in."
    return ""


def _not_at_the_counter(order: Order) -> str:
    """An order whose driver is at the store's counter now may not be cancelled: parcels of it may be
    in the car. After the visit it is picked up, or ready again and then cancellable."""
    if order.pickup_window_id and order.pickup_window.status == PickupWindow.Status.IN_PROGRESS:
        return f"The driver is at the counter for order {order.external_id} right now: cancel it after the visit."
    return ""


def order_mark_collected(*, order: OneOrder, actor: Actor) -> Order:
    """A returned order the customer came to fetch in the store: its journey ends here."""
    return order_transition(order=order, to=Status.COLLECTED, actor=actor, allowed=standing.COLLECTED)


def order_cancel(*, order: OneOrder, actor: Actor, reason: str) -> Order:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the order is cancelled."})
    moved, refused = orders_transition(
        orders=one_order(order),
        to=Status.CANCELLED,
        actor=actor,
        details={"reason": reason.strip()},
        guard=_not_at_the_counter,
        allowed=standing.CANCEL,
    )
    return the_one(moved, refused)


# What a merchant may change in an order until it is flagged ready: who the customer is, where, the notes and
# the packages. The store, the service level and the order number stay: the first two are what a checkout's
# quote promised (and what picks the pickup), the number is the merchant's own key for the order in their
# systems; to change those, cancel the order and create a new one.
ORDER_EDITABLE_FIELDS = (
    *("customer_name", "customer_phone", "customer_email", "address_line1", "address_line2", "city", "state"),
    *("postal_code", "latitude", "longitude", "notes"),
)
ORDER_FIXED_FIELDS = {
    "store": "An order's store cannot be changed: cancel this order and create a new one at the other store.",
    "external_id": "An order's number cannot be changed: cancel this order and create a new one.",
    "service_level": "An order's service level cannot be changed: cancel this order and create a new one.",
}
# A change of these moves the customer: coordinates left as they were belong to the old address.
_ADDRESS_FIELDS = ("address_line1", "city", "state", "postal_code")


def order_edit_refusal(order: Order) -> str:
    """Why the order can no longer be changed, in the merchant's words; "" while it may be. Only a new order
    may: once it is flagged ready, parcels labelled as they are wait for a driver."""
    if order.status == Status.CREATED:
        return ""
    if order.status in (Status.READY, Status.SCHEDULED):
        return (
            f"Order {order.external_id} is {order.get_status_display().lower()}, so it can no longer be changed: "
            "its parcels wait for a driver as labelled. Cancel it and create a new one if they must change."
        )
    return f"Order {order.external_id} is {order.get_status_display().lower()}, so it can no longer be changed."


@transaction.atomic
def order_edit(*, order: OneOrder, changes: dict, actor: Actor) -> Order:
    """Change a new order: `changes` maps fields of ORDER_EDITABLE_FIELDS to new values and `packages` to the
    new list of PackageDraft; what is left out stays. ORDER_FIXED_FIELDS may be given only as they are.

    The row is locked and its status re-read: once flagged ready, TransitionError. The result is checked by
    the intake rules of a new order (service area, ZIP code, parcel limits): ValidationError keyed by field,
    and nothing changes. Writes one `order.edited` ledger event with what changed (old and new values, the
    packages before and after); an edit that changes nothing writes nothing. Returns the order with
    `changes` (the event's details, {} if nothing changed) and `new_packages`, its packages now.
    `order` may be a read of it (`selectors.order_to_move`), locked as given: 404 if it holds none.
    """
    unknown = set(changes) - {*ORDER_EDITABLE_FIELDS, *ORDER_FIXED_FIELDS, "packages"}
    if unknown:
        raise TypeError(f"Not fields of an order edit: {sorted(unknown)}")
    order = the_one(orders_locked(one_order(order)), [])
    standing.merchant_check(order.merchant, standing.ADD)
    if refusal := order_edit_refusal(order):
        raise TransitionError(refusal)
    fixed = {"store": order.store_id, "external_id": order.external_id, "service_level": order.service_level}
    errors = {
        name: [message]
        for name, message in ORDER_FIXED_FIELDS.items()
        if name in changes and getattr(changes[name], "pk", changes[name]) != fixed[name]
    }
    if errors:
        raise ValidationError(errors)
    draft, before = _edit_draft(order, changes)
    if problems := check_drafts(merchant=order.merchant, drafts=[draft], numbers_in_use=False):
        if "store" in problems[0]:  # deactivated since the order was made: its rules cannot be checked
            raise ValidationError({"store": [f"{order.store.name} no longer takes orders, so this one cannot change."]})
        raise ValidationError(problems[0])
    return _edit_apply(order, draft, before, actor)


def _edit_draft(order: Order, changes: dict) -> tuple[OrderDraft, list[Package]]:
    """The order as it would be, as a draft for the intake rules; and its packages now."""
    before = list(order.packages.order_by("sequence"))
    values = {name: getattr(order, name) for name in ORDER_EDITABLE_FIELDS}
    values |= {name: changes[name] for name in ORDER_EDITABLE_FIELDS if name in changes}
    values["state"] = values["state"].upper()
    moved = any(values[name] != getattr(order, name) for name in _ADDRESS_FIELDS)
    if moved and (values["latitude"], values["longitude"]) == (order.latitude, order.longitude):
        values["latitude"] = values["longitude"] = None  # the old address's: the new ZIP code places the customer
    packages = changes.get("packages")
    if packages is None:
        packages = [PackageDraft(p.weight_lb, p.length_in, p.width_in, p.height_in) for p in before]
    draft = OrderDraft(
        store_id=order.store_id,
        external_id=order.external_id,
        service_level=order.service_level,
        packages=packages,
        **values,
    )
    return draft, before


def _edit_apply(order: Order, draft: OrderDraft, before: list[Package], actor: Actor) -> Order:
    """Write what differs between the locked order and its checked draft, and the ledger event saying so."""
    new = {name: getattr(draft, name) for name in (*ORDER_EDITABLE_FIELDS, "distance_miles")}
    new["latitude"], new["longitude"] = coordinate(new["latitude"]), coordinate(new["longitude"])
    fields = {
        name: {"from": _shown(getattr(order, name)), "to": _shown(value)}
        for name, value in new.items()
        if value != getattr(order, name)
    }
    repacked = [_package_size(p) for p in before] != [_package_size(p) for p in draft.packages]
    order.changes = {}
    order.new_packages = before
    if not fields and not repacked:
        return order
    for name in fields:
        setattr(order, name, new[name])
    order.save(update_fields=[*fields, "updated_at"])
    if repacked:
        Package.objects.filter(order=order).delete()  # a new order's parcels carry no scans yet
        order.new_packages = Package.objects.bulk_create(_packages(order, draft.packages))
    order.changes = {"changed": [*fields, *(["packages"] if repacked else [])], "fields": fields}
    if repacked:
        words = {"from": [_package_words(p) for p in before], "to": [_package_words(p) for p in draft.packages]}
        order.changes["packages"] = words
    now = timezone.now()
    events_append([order_event(order, "order.edited", actor, now, order.status, order.status, order.changes)])
    return order


def _shown(value) -> str | None:
    """A field's value as the ledger keeps it: JSON, decimals as the column writes them."""
    return None if value is None else str(value)


def _package_size(package: Package | PackageDraft) -> tuple:
    """What a package is, compared as numbers (2.5 and 2.50 lb are one weight)."""
    sides = (package.length_in, package.width_in, package.height_in)
    return (Decimal(package.weight_lb), *(None if side is None else Decimal(side) for side in sides))


def _package_words(package: Package | PackageDraft) -> str:
    """A package in words as the order page shows it: its weight, and its sides when given (2.5 lb, 12 by 8 by 6)."""
    weight, *sides = (None if value is None else format(value.normalize(), "f") for value in _package_size(package))
    return f"{weight} lb, {'×'.join(sides)} in" if None not in sides else f"{weight} lb"


@transaction.atomic
def orders_withdraw_for_suspension(*, merchant: Merchant, actor: Actor) -> list[Order]:
    """A merchant that may not have orders picked up any more: its scheduled orders leave their windows
    (their room given back) and are ready again, with an "order.withdrawn" ledger event; its ready
    orders say why they wait. Picked-up parcels carry on to delivery. Returns the withdrawn orders.

    The merchant's ready and scheduled orders are locked, in id order, so an assignment that is
    scheduling one of them right now finishes first and its work is withdrawn too; one that starts
    later sees the merchant suspended and leaves them alone.
    """
    why = standing.merchant_refusal(merchant, standing.PICKUP)
    if not why:
        return []
    with transaction.atomic():
        waiting = list(
            Order.objects.select_for_update()
            .filter(merchant=merchant, status__in=[Status.READY, Status.SCHEDULED])
            # the visit under way decides: collected, or left behind (a subquery: no join to lock across)
            .exclude(pickup_window__in=PickupWindow.objects.filter(status=PickupWindow.Status.IN_PROGRESS))
            .order_by("pk")
        )
        withdrawn = [order for order in waiting if order.status == Status.SCHEDULED]
        now = timezone.now()
        events = [
            order_move(
                order,
                to=Status.READY,
                actor=actor,
                at=now,
                event_type="order.withdrawn",
                details={"window": order.pickup_window_id, "reason": "The merchant account was suspended."},
            )
            for order in withdrawn
        ]
        windows_release_capacity(order_ids=[order.pk for order in withdrawn])  # before orders_save clears the window
        orders_save(withdrawn, events)
        Order.objects.filter(pk__in=[order.pk for order in waiting]).update(not_scheduled_reason=why[:300])
    return withdrawn


def suspended_orders_withdraw() -> int:
    """The sweep behind a suspension's task: merchants that may not have orders picked up but still
    have some in pickup windows. Returns how many orders were withdrawn."""
    merchants = Merchant.objects.exclude(status=Merchant.Status.APPROVED).filter(orders__status=Status.SCHEDULED)
    return sum(
        len(orders_withdraw_for_suspension(merchant=merchant, actor=SYSTEM)) for merchant in merchants.distinct()
    )


@transaction.atomic
def order_import_start(*, merchant: Merchant, actor: Actor, filename: str, raw: bytes) -> OrderImport:
    """Accept an uploaded CSV and queue it for a worker; UploadError says what is wrong with the file."""
    standing.merchant_check(merchant, standing.ADD)
    text, rows = decode_upload(raw)
    job = OrderImport.objects.create(
        merchant=merchant, created_by=actor.user, filename=filename[:255], content=text, total_rows=rows
    )
    enqueue_on_commit("pickups.tasks.import_orders", import_id=job.pk)
    return job


def order_import_run(*, import_id: int) -> OrderImport:
    """Check every row, then import all of them in one transaction, or none and say why.

    Safe to run twice (a retried task): a finished import is left alone, and the final step
    locks the import row and re-checks its status before creating anything.

    Always ends: whatever is raised while checking or creating (a bug, a native library's panic, the
    task's time limit) fails the import with the reason in the merchant's words. A worker killed
    outright cannot catch anything: the sweep resumes its import, which fails once it has been
    unfinished for IMPORT_GIVE_UP_AFTER rather than be retried for ever.
    """
    job = OrderImport.objects.select_related("merchant", "created_by").get(pk=import_id)
    if job.status == OrderImport.Status.RUNNING and job.created_at < timezone.now() - IMPORT_GIVE_UP_AFTER:
        return _import_fail(job, IMPORT_DIED)
    unfinished = OrderImport.objects.filter(
        pk=job.pk, status__in=[OrderImport.Status.QUEUED, OrderImport.Status.RUNNING]
    )
    if not unfinished.update(status=OrderImport.Status.RUNNING, checked_rows=0, started_at=timezone.now()):
        return job  # finished already
    try:
        return _import_check_and_create(job)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise  # the worker is stopping: the sweep resumes the import
    except NotAllowedError as error:  # e.g. the merchant was suspended since the upload
        return _import_fail(job, str(error))
    except SoftTimeLimitExceeded:
        return _import_fail(job, IMPORT_TOO_LONG)
    except BaseException:  # anything else, even a BaseException from native code
        logger.exception("Order import %s stopped on an error.", job.pk)
        return _import_fail(job, IMPORT_CRASHED.format(number=job.pk))


def _import_check_and_create(job: OrderImport) -> OrderImport:
    drafts, lines, problems = check_rows(
        merchant=job.merchant,
        text=job.content,
        progress=lambda checked: OrderImport.objects.filter(pk=job.pk).update(checked_rows=checked),
    )
    actor = Actor.of_user(job.created_by) if job.created_by else Actor(user=None, label="CSV import")
    with transaction.atomic():
        job = OrderImport.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            return job
        if not problems:
            try:
                with transaction.atomic():
                    orders_create(merchant=job.merchant, drafts=drafts, actor=actor)
            except DraftErrors as error:  # the data changed since the check, e.g. an order number was taken
                problems = [
                    problem
                    for index, fields in error.by_index.items()
                    for problem in rule_problems(lines[index], fields)
                ]
        job.status = OrderImport.Status.FAILED if problems else OrderImport.Status.SUCCEEDED
        job.errors, job.created_count = problems, 0 if problems else len(drafts)
        job.checked_rows, job.finished_at = job.total_rows, timezone.now()
        job.save(update_fields=["status", "errors", "created_count", "checked_rows", "finished_at"])
    return job


def _import_fail(job: OrderImport, reason: str) -> OrderImport:
    """The import ends as failed, nothing imported, with one problem of the whole file (no line)."""
    with transaction.atomic():
        job = OrderImport.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            return job
        job.status, job.finished_at = OrderImport.Status.FAILED, timezone.now()
        job.errors, job.created_count = [{"row": None, "column": "", "message": reason}], 0
        job.save(update_fields=["status", "errors", "created_count", "finished_at"])
    return job


# What the merchant reads when an import could not be checked to the end.
IMPORT_CRASHED = (
    "Checking this file stopped on an error on our side, so nothing was imported. Upload it again; "
    "if that fails too, contact us and give the import number {number}."
)
IMPORT_TOO_LONG = (
    "Checking this file took too long, so nothing was imported. "
    "Split it into smaller files and upload them one at a time."
)
IMPORT_DIED = (
    "Checking this file stopped before it finished, more than once, so nothing was imported. "
    "Split it into smaller files and upload them one at a time."
)


# Longer than the task time limit: an import queued or running for longer lost its task or worker.
IMPORT_STUCK_AFTER = timedelta(minutes=5)
# Unfinished this long after upload and found running by a new run: its workers died more than once (the
# sweep resumes it every IMPORT_STUCK_AFTER), so it fails instead of being retried for ever.
IMPORT_GIVE_UP_AFTER = 3 * IMPORT_STUCK_AFTER


def order_imports_stuck() -> list[int]:
    cutoff = timezone.now() - IMPORT_STUCK_AFTER
    never_started = Q(status=OrderImport.Status.QUEUED, created_at__lt=cutoff)
    worker_lost = Q(status=OrderImport.Status.RUNNING, started_at__lt=cutoff)
    return list(OrderImport.objects.filter(never_started | worker_lost).values_list("pk", flat=True))
