"""The Celery app: configuration from Django settings (CELERY_*), task discovery, the beat schedule.

Work that must not be lost is acknowledged after it runs (acks_late) and a worker takes one task at
a time (prefetch 1), so a crashed worker's task goes back to the queue (after the broker's visibility
timeout, CELERY_VISIBILITY_TIMEOUT). Beat's whole schedule lives here, in one place.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("mallpickup")
# The app of every thread, not only of those that set it current: a lane of the assignment (common.lanes) sends its
# batch's tasks at its commit, from a thread of its own, which would otherwise get a new, unconfigured app.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=120,
    # Under the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT, 300 s): a task still running when it
    # passes would be handed to a second worker.
    task_time_limit=180,
    timezone="UTC",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    # A producer whose broker is down gives up within seconds: the outbox sweep sends it later.
    broker_connection_timeout=3,
    task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
)
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "notifications-resend-stuck": {
        "task": "notifications.tasks.resend_stuck_notifications",
        "schedule": crontab(minute="*"),
    },
    "webhooks-resend-due-deliveries": {
        "task": "webhooks.tasks.resend_due_deliveries",
        "schedule": crontab(minute="*"),
    },
    # Every minute, like the other sweeps that finish a killed worker's work: a lost import resumes as soon
    # as it counts as stuck.
    "pickups-resume-stuck-imports": {
        "task": "pickups.tasks.resume_stuck_imports",
        "schedule": crontab(minute="*"),
    },
    # The same for the order list's bulk actions (flag ready, labels) that a worker does.
    "pickups-resume-stuck-bulk-actions": {
        "task": "pickups.tasks.resume_stuck_bulk_actions",
        "schedule": crontab(minute="*"),
    },
    # Labels PDFs of bulk actions name customers: deleted a day after they were made.
    "pickups-expire-bulk-labels": {
        "task": "pickups.tasks.expire_bulk_labels",
        "schedule": crontab(minute=35),
    },
    "pickups-plan-windows": {
        "task": "pickups.tasks.plan_windows",
        "schedule": crontab(minute=5),
    },
    # Every minute: the ready orders of a killed assignment get their window (or their reason) within a minute.
    "pickups-assign-ready-orders": {
        "task": "pickups.tasks.assign_ready_orders",
        "schedule": crontab(minute="*"),
    },
    # Every minute: the customers of orders scheduled by a killed worker hear their promised day a few minutes late.
    "pickups-tell-untold-customers": {
        "task": "pickups.tasks.tell_untold_customers",
        "schedule": crontab(minute="*"),
    },
    "pickups-sweep-missed-windows": {
        "task": "pickups.tasks.sweep_missed_windows",
        "schedule": crontab(minute="*"),
    },
    "pickups-end-forgotten-visits": {
        "task": "pickups.tasks.end_forgotten_visits",
        "schedule": crontab(minute="*/5"),
    },
    "deliveries-offer-windows": {
        "task": "deliveries.tasks.offer_windows",
        "schedule": crontab(minute="*"),
    },
    "deliveries-announce-lost-runs": {
        "task": "deliveries.tasks.announce_lost_runs",
        "schedule": crontab(minute="*/5"),
    },
    "deliveries-flag-overdue-returns": {
        "task": "deliveries.tasks.flag_overdue_returns",
        "schedule": crontab(minute="*/15"),
    },
    # 13:00 UTC: 6 AM in Chandler, 5 or 6 AM in Las Vegas, 8 or 9 AM in Tysons, before the first pickups.
    "pickups-send-operations-digest": {
        "task": "pickups.tasks.send_operations_digest",
        "schedule": crontab(hour=13, minute=0),
    },
    "merchants-expire-idempotency-keys": {
        "task": "merchants.tasks.expire_idempotency_keys",
        "schedule": crontab(hour=4, minute=17),
    },
    "deliveries-delete-expired-tokens": {
        "task": "deliveries.tasks.delete_expired_tokens",
        "schedule": crontab(hour=4, minute=47),
    },
}
