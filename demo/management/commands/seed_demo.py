import json

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Load the demo malls, merchants and logins (safe to run again: it only adds what is missing)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print every demo credential as one JSON object.")

    def handle(self, *args, **options):
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
