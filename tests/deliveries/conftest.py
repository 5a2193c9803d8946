from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from common.actors import Actor
from deliveries.services import offer_accept, visit_collect, window_offer_wave
from merchants.handoff_codes import store_code
from pickups.visits import window_arrive


@pytest.fixture(autouse=True)
def _monday(monday_morning):
    """Every test here runs on Monday morning in Chandler (see tests/conftest.py)."""


def api_for(driver):
    """An API client logged in with the driver's token."""
    _, token = AuthToken.objects.create(user=driver.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def accepted(window, driver):
    """The `window` fixture offered to `driver`, who took it."""
    [offer] = window_offer_wave(window_id=window.pk, now=timezone.now())
    offer_accept(offer=offer, driver=driver)
    window.refresh_from_db()
    return window


@pytest.fixture
def at_start(window):
    """Ten minutes before the window starts: check-in is open."""
    with time_machine.travel(window.starts_at - timedelta(minutes=10)):
        yield


@pytest.fixture
def on_site(accepted, driver, at_start):
    """The driver has checked in at the site."""
    window_arrive(window_id=accepted.pk, driver_id=driver.pk, actor=Actor.of_driver(driver.user), now=timezone.now())
    accepted.refresh_from_db()
    return accepted


def collect(window, driver, order, labels=None):
    """The driver scans `labels` of the order (all of them by default) at its store's counter."""
    return visit_collect(
        window_id=window.pk,
        driver_id=driver.pk,
        store_id=order.store_id,
        store_code=store_code(order.store).code,
        label_codes=labels if labels is not None else [p.label_code for p in order.packages.all()],
        actor=Actor.of_driver(driver.user),
        now=timezone.now(),
    )
