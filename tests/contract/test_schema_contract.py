"""The API answers as its OpenAPI schema says: schemathesis runs every operation with every check against a
live server, once with a merchant's API key and once with a driver's token, and any failure fails the test.

About four minutes of one process (the whole suite takes one on two cores), so it runs only when asked
(CONTRACT_TESTS=1) and CI runs it as a step of its own; `make test` stays fast. The requests are bounded
and seeded (schemathesis.toml beside this file), and a failure shows the curl command that reproduces it.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from knox.models import AuthToken

from deliveries.models import Driver, Offer
from deliveries.services import window_offer_wave
from demo.seed import seed_demo
from pickups.models import PickupWindow
from webhooks import services as webhook_services
from webhooks.sending import Answer

pytestmark = pytest.mark.skipif(
    not os.environ.get("CONTRACT_TESTS"),
    reason="API contract tests (schemathesis, about 4 minutes) run with CONTRACT_TESTS=1",
)

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("st")


# The same moment on every run (10:00 on a Monday in Chandler, the clock then moving on), so the demo
# world's windows and offers, and so what schemathesis meets, do not depend on when CI runs.
MONDAY_MORNING = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)


@pytest.fixture
def world(transactional_db, settings, monkeypatch):
    """The demo world: merchants with stores, orders and API keys; drivers, one with an accepted pickup
    starting soon and an open offer. Webhooks never leave this machine."""
    with time_machine.travel(MONDAY_MORNING, tick=True):
        yield _world(settings, monkeypatch)


def _world(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # no DNS look-ups of the URLs schemathesis makes up
    monkeypatch.setattr(webhook_services, "post", lambda url, body, headers: Answer(status=200, excerpt="ok"))
    credentials = seed_demo()
    driver = Driver.objects.select_related("user").get(user__username=credentials["pickup"]["driver"]["username"])
    for window in PickupWindow.objects.filter(driver=None, booked_packages__gt=0, starts_at__gt=timezone.now()):
        window_offer_wave(window_id=window.pk, now=timezone.now() - timedelta(minutes=1))
        if Offer.objects.filter(driver=driver, status=Offer.Status.OPEN).exists():
            break
    _, token = AuthToken.objects.create(driver.user)
    return {"merchant": credentials["merchants"][0]["api_key"], "driver": token}


@pytest.mark.parametrize("caller", ["merchant", "driver"])
def test_the_api_answers_as_its_schema_says(live_server, world, caller):
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {world[caller]}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, f"schemathesis as the {caller} (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
