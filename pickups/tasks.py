from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from common.actors import SYSTEM
from common.tasks import gathered_started
from merchants.models import Merchant

from . import digest
from .bulk_actions import bulk_action_run, bulk_actions_resume, bulk_labels_expire
from .services import order_import_run, order_imports_stuck, orders_withdraw_for_suspension, suspended_orders_withdraw
from .visits import windows_depart_overdue
from .windows import customers_tell_scheduled, customers_tell_untold, orders_assign, windows_missed, windows_plan


@shared_task
def import_orders(*, import_id: int) -> None:
    order_import_run(import_id=import_id)


@shared_task
def resume_stuck_imports() -> int:
    """Queue again the imports whose task was lost (broker down at upload) or whose worker died;
    each runs as its own task, with its own time limit."""
    stuck = order_imports_stuck()
    for import_id in stuck:
        import_orders.delay(import_id=import_id)
    return len(stuck)


# A database that went away is tried again 5, 10, 20, 40, 60 s later (with jitter; under the broker's visibility
# timeout): the bulk action resumes where its last committed step left it.
@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    retry_kwargs={"max_retries": 5},
)
def run_bulk_action(*, action_id: int) -> None:
    bulk_action_run(action_id=action_id)


@shared_task
def expire_bulk_labels() -> int:
    return bulk_labels_expire()


@shared_task
def resume_stuck_bulk_actions() -> int:
    """Queue again the bulk actions whose task was lost or whose worker died (given up after a few times)."""
    stuck = bulk_actions_resume()
    for action_id in stuck:
        run_bulk_action.delay(action_id=action_id)
    return len(stuck)


@shared_task
def plan_windows() -> int:
    return windows_plan()


@shared_task
def assign_stores(*, store_ids: list[int]) -> int:
    """Schedule the ready orders of stores where orders were just made ready (those locked elsewhere are
    left to that run)."""
    gathered_started("pickups.tasks.assign_stores", store_ids)  # before reading: later flags send another
    return len(orders_assign(store_ids=store_ids).scheduled)


@shared_task
def tell_customers_scheduled(*, order_ids: list[int]) -> int:
    """Customers of orders an assignment just scheduled hear their promised day, after it committed."""
    return customers_tell_scheduled(order_ids=order_ids)


@shared_task
def tell_untold_customers() -> int:
    """The sweep: customers of scheduled orders whose telling task was lost hear their promised day."""
    return customers_tell_untold()


@shared_task
def assign_ready_orders() -> int:
    """The sweep: every ready order without a window, whatever happened to its first task (and the
    orders of suspended merchants out of their windows, whatever happened to that task)."""
    suspended_orders_withdraw()
    return len(orders_assign().scheduled)


@shared_task
def withdraw_orders(*, merchant_id: int) -> int:
    """A merchant was suspended: its scheduled orders leave their pickup windows."""
    return len(orders_withdraw_for_suspension(merchant=Merchant.objects.get(pk=merchant_id), actor=SYSTEM))


@shared_task
def sweep_missed_windows() -> int:
    return len(windows_missed())


@shared_task
def end_forgotten_visits() -> int:
    """Visits nobody ended: what was not collected goes back to its store's ready orders."""
    return len(windows_depart_overdue(now=timezone.now()))


@shared_task
def send_operations_digest() -> bool:
    return digest.operations_digest_send()
