"""The program team's daily digest: what each work queue holds, by email, once a day.

The same queues as the admin index (pickups.work_queues), so the email and the console never
disagree. Sent only when something is open: an empty digest every morning would teach people to
ignore it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.locks import transaction_serialize
from merchants.services import program_admin_emails
from notifications.models import Notification
from notifications.services import notification_email

from .work_queues import Queue, queues

TEMPLATE = "operations_digest"
EXAMPLES = 5  # rows named per queue; the link shows the rest


@dataclass(frozen=True)
class OpenQueue:
    queue: Queue
    count: int
    examples: list[str]
    link: str

    @property
    def more(self) -> int:
        return self.count - len(self.examples)


def open_queues() -> list[OpenQueue]:
    """Each queue that holds something, with its count and its first rows (one COUNT and one read each)."""
    found = []
    for queue in queues():
        count = queue.rows().count()
        if count:
            examples = [str(row) for row in queue.rows()[:EXAMPLES]]
            found.append(OpenQueue(queue, count, examples, settings.PORTAL_URL + queue.url))
    return found


@transaction.atomic
def operations_digest_send(*, now: datetime | None = None) -> bool:
    """Email the program admins what is open, at most once a UTC day (a task retried or run twice by
    beat sends nothing more: the outbox row of today's digest is the record, and runs at once take turns).
    Returns whether one went out."""
    now = now or timezone.now()
    transaction_serialize(TEMPLATE)  # two runs at once: the second waits, then finds today's digest
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = Notification.objects.filter(template=TEMPLATE, created_at__gte=day_start)
    recipients = program_admin_emails()
    if not recipients or sent_today.exists():
        return False
    found = open_queues()
    if not found:
        return False
    notification_email(to=recipients, template=TEMPLATE, context={"queues": found, "day": now.date()})
    return True
