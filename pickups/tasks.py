from celery import shared_task

from .services import order_import_run, order_imports_stuck


@shared_task
def import_orders(*, import_id: int) -> None:
    order_import_run(import_id=import_id)


@shared_task
def resume_stuck_imports() -> int:
    """Run imports whose task was lost (broker down at upload) or whose worker died."""
    stuck = order_imports_stuck()
    for import_id in stuck:
        order_import_run(import_id=import_id)
    return len(stuck)
