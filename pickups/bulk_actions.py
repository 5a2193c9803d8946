"""Bulk actions of the order list: flag ready or print labels for the ticked orders, or for every order matching
the list's filters.

A small set is done in the request. A larger one (more than BULK_WORKER_THRESHOLD orders, or labels when
printing) is written as a BulkAction row first and done by a worker (`pickups.tasks.run_bulk_action`), which
records its progress for the page that follows it; a sweep queues again whatever a lost task or a dead worker
left unfinished, as for CSV imports.
"""

import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.actors import Actor
from common.errors import NotAllowedError
from common.ids import object_id
from common.tasks import enqueue_on_commit
from merchants import standing
from merchants.models import Merchant

from . import selectors
from .labels import labels_pdf
from .ledger import ORDER_TRANSITIONS
from .models import BulkAction, Order, OrderStatus, Package
from .services import orders_mark_ready

logger = logging.getLogger(__name__)
Kind = BulkAction.Kind
State = BulkAction.Status

# The most orders one bulk action takes: their ids are kept on the BulkAction row, and flagging 5,000 orders
# ready takes a worker seconds. Narrower filters for more.
BULK_MAX_ORDERS = 5000
# The most labels in one PDF: a label takes about 30 ms to draw on one core (200 orders of 2 parcels: 12 s), so
# 2,000 labels fit well within a task's soft time limit (120 s, config/celery.py) on a slower machine too.
BULK_MAX_LABELS = 2000
# Orders flagged ready in one transaction: the step of the progress bar, and at most what a retry looks at again.
READY_CHUNK = 200
# Labels drawn between two progress updates.
LABELS_STEP = 25


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk action would do to a set of orders: for its confirmation, and to choose request or worker."""

    kind: str
    order_ids: list[int]  # in the list's order, newest first
    by_status: dict[str, int]
    can_move: int  # orders that can be flagged ready (all of them for labels)
    labels: int  # labels to print (0 when flagging ready)
    worn_out: int = 0  # returned orders that went out MAX_DELIVERY_ATTEMPTS times: they stay returned

    @property
    def total(self) -> int:
        return len(self.order_ids)

    @property
    def left(self) -> int:
        """Orders it leaves as they are."""
        return self.total - self.can_move

    @property
    def size(self) -> int:
        """The work it is: labels to draw, or orders to flag."""
        return self.labels if self.kind == Kind.LABELS else self.total

    @property
    def on_worker(self) -> bool:
        return self.size > settings.BULK_WORKER_THRESHOLD

    @property
    def too_many(self) -> str:
        """Why it is too big to do at once, in the merchant's words; "" when it is not."""
        if self.total > BULK_MAX_ORDERS:
            return f"That is more than {BULK_MAX_ORDERS:,} orders: narrow the filters and do them in parts."
        if self.kind == Kind.LABELS and self.labels > BULK_MAX_LABELS:
            return (
                f"That is {self.labels:,} labels, more than the {BULK_MAX_LABELS:,} we put in one file: "
                "narrow the filters and print them in parts."
            )
        return ""

    @property
    def unchanged(self) -> list[tuple[str, int]]:
        """[(status in words, orders)] that flagging ready leaves as they are, most first."""
        if self.kind != Kind.READY:
            return []
        labels = dict(OrderStatus.choices)
        rows = [(labels[status], count) for status, count in self.by_status.items() if status not in READY_FROM]
        if self.worn_out:
            rows.append((f"Returned after {settings.MAX_DELIVERY_ATTEMPTS} attempts", self.worn_out))
        return sorted(rows, key=lambda row: (-row[1], row[0]))


# Statuses a merchant may flag ready (the table's moves to ready, but for a scheduled order: the program's own).
READY_FROM = frozenset(
    status
    for status, moves in ORDER_TRANSITIONS.items()
    if OrderStatus.READY in moves and status != OrderStatus.SCHEDULED
)


def refusals_in_words(statuses: Iterable[str]) -> str:
    """How many orders of each status were left as they were, most first: "8 scheduled, 4 delivered"."""
    labels = dict(OrderStatus.choices)
    counts = Counter(statuses)
    return ", ".join(
        f"{n} {labels.get(s, s).lower()}" for s, n in sorted(counts.items(), key=lambda row: (-row[1], row[0]))
    )


def bulk_plan(*, orders: QuerySet[Order], kind: str) -> BulkPlan:
    """What `kind` would do to `orders` (the caller's own, filtered): two queries at most, whatever their number."""
    rows = list(orders.values_list("pk", "status", "attempt")[: BULK_MAX_ORDERS + 1])
    by_status: dict[str, int] = {}
    for _, status, _ in rows:
        by_status[status] = by_status.get(status, 0) + 1
    worn_out = sum(
        1 for _, status, attempt in rows if status == OrderStatus.RETURNED and attempt >= settings.MAX_DELIVERY_ATTEMPTS
    )
    ids = [pk for pk, _, _ in rows]
    labels = 0
    if kind == Kind.LABELS and ids and len(ids) <= BULK_MAX_ORDERS:
        labels = Package.objects.filter(order_id__in=ids).count()
    can_move = sum(by_status.get(status, 0) for status in READY_FROM) - worn_out
    return BulkPlan(
        kind=kind,
        order_ids=ids,
        by_status=by_status,
        can_move=can_move if kind == Kind.READY else len(ids),
        labels=labels,
        worn_out=worn_out if kind == Kind.READY else 0,
    )


@transaction.atomic
def bulk_action_start(*, merchant: Merchant, actor: Actor, plan: BulkPlan, query: str = "") -> BulkAction:
    """Write the bulk action and queue it for a worker once committed. Flagging ready is for approved merchants
    (NotAllowedError otherwise, nothing written); printing labels for every merchant."""
    if plan.kind == Kind.READY:
        standing.merchant_check(merchant, standing.READY)
    action = BulkAction.objects.create(
        merchant=merchant,
        created_by=actor.user,
        kind=plan.kind,
        query=query[:2000],
        order_ids=plan.order_ids,
        total=plan.total,
    )
    enqueue_on_commit("pickups.tasks.run_bulk_action", action_id=action.pk)
    return action


def bulk_action_for_merchant(*, merchant: Merchant, pk) -> BulkAction:
    """The merchant's own bulk action (without its list of ids), or 404 for anyone else's."""
    return get_object_or_404(BulkAction.objects.filter(merchant=merchant).defer("order_ids"), pk=object_id(pk))


def bulk_action_run(*, action_id: int) -> BulkAction:
    """Do a bulk action to its end, recording progress; safe to run again, or twice at once.

    Flagging ready goes READY_CHUNK orders per transaction, each with the action's row locked and its progress
    saved, so a second run resumes after the last chunk done and never looks at an order twice. Labels are drawn
    again from the start (they change nothing) and the first run to finish keeps its file.

    Always ends, like an import: a refusal or the time limit fails it with the reason in the merchant's words. A
    database that went away is left to the task's retries, a dead worker to the sweep (`bulk_actions_resume`).
    """
    action = BulkAction.objects.select_related("merchant", "created_by").get(pk=action_id)
    now = timezone.now()
    unfinished = BulkAction.objects.filter(pk=action.pk, status__in=[State.QUEUED, State.RUNNING])
    if not unfinished.update(status=State.RUNNING, updated_at=now):
        return action  # finished already
    if action.started_at is None:
        BulkAction.objects.filter(pk=action.pk, started_at__isnull=True).update(started_at=now)
    try:
        return _ready_run(action) if action.kind == Kind.READY else _labels_run(action)
    except (KeyboardInterrupt, SystemExit, GeneratorExit, OperationalError, InterfaceError):
        raise  # the worker is stopping, or the database is away: a retry or the sweep carries on
    except NotAllowedError as error:  # e.g. the merchant was suspended since
        return _bulk_fail(action.pk, str(error))
    except SoftTimeLimitExceeded:
        return _bulk_fail(action.pk, BULK_TOO_LONG)
    except BaseException:
        logger.exception("Bulk action %s stopped on an error.", action.pk)
        return _bulk_fail(action.pk, BULK_CRASHED.format(number=action.pk))


def _ready_run(action: BulkAction) -> BulkAction:
    actor = Actor.of_user(action.created_by) if action.created_by else Actor(user=None, label="Bulk action")
    while True:
        with transaction.atomic():
            action = BulkAction.objects.select_for_update().get(pk=action.pk)
            if action.is_finished:
                return action
            chunk = action.order_ids[action.done_count : action.done_count + READY_CHUNK]
            now = timezone.now()
            if not chunk:
                action.status, action.finished_at, action.updated_at = State.DONE, now, now
                action.save(update_fields=["status", "finished_at", "updated_at"])
                return action
            moved, refused = orders_mark_ready(
                orders=Order.objects.filter(merchant_id=action.merchant_id, pk__in=chunk), actor=actor
            )
            for order, _ in refused:
                action.refused[order.status] = action.refused.get(order.status, 0) + 1
            action.done_count += len(chunk)
            action.changed_count += len(moved)
            action.updated_at = now
            action.save(update_fields=["done_count", "changed_count", "refused", "updated_at"])


def _labels_run(action: BulkAction) -> BulkAction:
    BulkAction.objects.filter(pk=action.pk).update(done_count=0, changed_count=0, updated_at=timezone.now())
    orders = selectors.orders_for_merchant(action.merchant).filter(pk__in=action.order_ids)
    drawn = _Counted(orders.iterator(chunk_size=100), action.pk)
    content = labels_pdf(drawn)  # draws as it goes: the progress moves while the file grows
    name = default_storage.save(f"labels/{timezone.now():%Y/%m}/{secrets.token_urlsafe(24)}.pdf", ContentFile(content))
    with transaction.atomic():
        action = BulkAction.objects.select_for_update().get(pk=action.pk)
        if action.is_finished:  # another run of it finished first and keeps its file
            default_storage.delete(name)
            return action
        now = timezone.now()
        action.status, action.labels_file, action.finished_at, action.updated_at = State.DONE, name, now, now
        action.done_count, action.changed_count = action.total, drawn.labels
        action.save(update_fields=["status", "labels_file", "finished_at", "updated_at", "done_count", "changed_count"])
    return action


class _Counted:
    """The orders to draw, saving the progress every LABELS_STEP orders as the PDF takes them."""

    def __init__(self, orders: Iterable[Order], action_id: int):
        self.orders, self.action_id, self.labels = orders, action_id, 0

    def __iter__(self) -> Iterator[Order]:
        for done, order in enumerate(self.orders, start=1):
            yield order
            self.labels += len(order.packages.all())
            if done % LABELS_STEP == 0:
                BulkAction.objects.filter(pk=self.action_id).update(
                    done_count=done, changed_count=self.labels, updated_at=timezone.now()
                )


def _bulk_fail(action_id: int, reason: str) -> BulkAction:
    """The action stops as failed, with why; what it did before (orders flagged ready) stays done."""
    with transaction.atomic():
        action = BulkAction.objects.select_for_update().get(pk=action_id)
        if action.is_finished:
            return action
        now = timezone.now()
        action.status, action.error, action.finished_at, action.updated_at = State.FAILED, reason[:500], now, now
        action.save(update_fields=["status", "error", "finished_at", "updated_at"])
    return action


# What the merchant reads when a bulk action could not finish.
BULK_CRASHED = (
    "This stopped on an error on our side. Start it again from the order list; if that fails too, contact us and "
    "give the number {number}."
)
BULK_TOO_LONG = "This took too long and was stopped. Choose fewer orders (narrow the filters) and start it again."
BULK_DIED = (
    "This stopped before it finished, more than once. Choose fewer orders (narrow the filters) and start it again."
)


# Longer than a task's hard time limit (180 s, config/celery.py): queued or running this long without progress, its
# task or its worker was lost.
BULK_STUCK_AFTER = timedelta(minutes=5)
# Queued again this many times by the sweep and still stuck: something in it kills the worker; it fails instead.
BULK_MAX_RESUMES = 3


def bulk_actions_resume() -> list[int]:
    """The sweep: bulk actions queued or running without progress for BULK_STUCK_AFTER (the broker was down when
    they were queued, or the worker died). Returns those to queue again, each counted on its row; one queued
    again BULK_MAX_RESUMES times already fails instead."""
    now = timezone.now()
    stuck = BulkAction.objects.filter(
        Q(status__in=[State.QUEUED, State.RUNNING]), updated_at__lt=now - BULK_STUCK_AFTER
    ).values_list("pk", "resumes")
    resumed = []
    for action_id, resumes in stuck:
        if resumes >= BULK_MAX_RESUMES:
            _bulk_fail(action_id, BULK_DIED)
        elif BulkAction.objects.filter(pk=action_id, resumes=resumes).update(resumes=resumes + 1, updated_at=now):
            resumed.append(action_id)
    return resumed


# A labels PDF names customers and their towns: kept long enough to print it, then deleted.
LABELS_KEPT = timedelta(days=1)


def bulk_labels_expire(*, now=None) -> int:
    """Delete the labels PDFs of bulk actions finished more than LABELS_KEPT ago; returns how many. The action's
    page then offers to print them again. Safe to run again: each file is deleted, then forgotten."""
    now = now or timezone.now()
    done = BulkAction.objects.filter(kind=Kind.LABELS, finished_at__lt=now - LABELS_KEPT).exclude(labels_file="")
    expired = 0
    for action_id, name in done.values_list("pk", "labels_file"):
        default_storage.delete(name)  # nothing happens for a file already gone
        expired += BulkAction.objects.filter(pk=action_id, labels_file=name).update(labels_file="")
    return expired
