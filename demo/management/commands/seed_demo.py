import json

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Load the demo malls, merchants and logins (safe to run again: it only adds what is missing)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print every demo credential as one JSON object.")
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Apply the migrations first, in this process: one start-up and one round of checks fewer (make run).",
        )

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "seed_demo does not run under production settings: it creates an admin and other logins whose "
                "passwords are published in the README. Run it on a development or staging machine instead."
            )
        if options["migrate"]:
            out = self.stderr if options["json"] else self.stdout  # the JSON stays alone on stdout
            call_command("migrate", interactive=False, verbosity=options["verbosity"], stdout=out)
        credentials = seed_demo() | {"portal_url": settings.PORTAL_URL}
        if options["json"]:
            self.stdout.write(json.dumps(credentials, indent=2))
            return
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Portal: {credentials['portal_url']}/"))
        admin = credentials["admin"]
        self.stdout.write(f"  Admin (at /admin/): {admin['username']} / {admin['password']}")
        for login in credentials["merchants"]:
            self.stdout.write(
                f"  {login['merchant']}: {login['username']} / {login['password']}  (API key {login['api_key']})"
            )
        for login in credentials["drivers"]:
            self.stdout.write(f"  Driver near {login['site']}: {login['username']} / {login['password']}")
        self._pickup(credentials["pickup"], credentials["portal_url"])

    def _pickup(self, pickup, portal_url):
        """How to try the demo pickup from the driver's phone, step by step."""
        driver = pickup["driver"]
        self.stdout.write(
            self.style.SUCCESS(f"Demo pickup {pickup['window']} at {pickup['site']}, {pickup['starts_local']}")
            + f" ({pickup['status'].lower()}):"
        )
        self.stdout.write(
            f"  Log in as {driver['username']} / {driver['password']}, open {portal_url}{pickup['page']}"
            f' and press "I\'m here" (check-in opens {settings.ARRIVE_EARLY_MINUTES} minutes before the start).'
        )
        self.stdout.write(
            "  At each store, enter the store code shown on its Handoff page (the owner's login), then scan the labels:"
        )
        for store in pickup["stores"]:
            self.stdout.write(
                f"    {store['store']}: code at {portal_url}{store['handoff_page']}"
                f" (log in as {store['login']} / {store['password']}); labels {', '.join(store['labels'])}"
            )
