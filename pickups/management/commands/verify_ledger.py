from django.core.management.base import BaseCommand, CommandError

from pickups.custody import chains_verify, intact_text
from pickups.models import Order


class Command(BaseCommand):
    help = (
        "Check every order's custody chain (each ledger event sealed to the one before it); names the first "
        "broken link of each order whose ledger was changed, and exits non-zero if there is one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=500, help="Orders read at a time (default 500).")

    def handle(self, *args, chunk_size, **options):
        orders = events = broken = 0
        for check in chains_verify(Order.objects.all(), chunk_size=chunk_size):
            orders, events = orders + 1, events + check.events
            if check.broken is not None:
                broken += 1
                self.stdout.write(self.style.ERROR(str(check)))
        if broken:
            have = "has" if broken == 1 else "have"
            raise CommandError(f"{broken} of {orders} orders {have} a broken custody chain.")
        self.stdout.write(self.style.SUCCESS(intact_text(orders, events)))
