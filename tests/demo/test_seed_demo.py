import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from demo.seed import ADMIN, DEMO_PASSWORD, DRIVER_PASSWORD, PASSWORD_HASHES, _hashed
from merchants.models import Merchant, Site
from pickups.models import Order, Package, PickupWindow

pytestmark = pytest.mark.django_db

SEEDED = [
    "auth.User",
    "merchants.Merchant",
    "merchants.Membership",
    "merchants.Site",
    "merchants.Store",
    "merchants.OpeningHours",
    "merchants.Closure",
    "merchants.ApiKey",
    "deliveries.Driver",
    "pickups.Order",
    "pickups.OrderEvent",
    "pickups.Package",
    "pickups.PickupWindow",
    "pickups.WindowEvent",
    "deliveries.Offer",
    "notifications.Notification",
]


def counts():
    return {label: apps.get_model(label).objects.count() for label in SEEDED}


def test_it_seeds_the_pilot_malls_and_running_it_again_changes_nothing(capsys):
    call_command("seed_demo")
    first = counts()
    passwords = dict(apps.get_model("auth.User").objects.values_list("username", "password"))

    call_command("seed_demo")

    assert counts() == first
    assert dict(apps.get_model("auth.User").objects.values_list("username", "password")) == passwords
    malls = {site.name: site.timezone for site in Site.objects.filter(kind=Site.Kind.MALL)}
    assert malls == {
        "Chandler Fashion Center": "America/Phoenix",
        "Fashion Show Las Vegas": "America/Los_Angeles",
        "Tysons Corner Center": "America/New_York",
    }
    assert Site.objects.filter(kind=Site.Kind.STANDALONE).count() == 1
    assert apps.get_model("deliveries.Driver").objects.filter(status="active").count() == 9
    assert set(Merchant.objects.values_list("status", flat=True)) == {"approved"}


def test_json_output_has_working_logins(capsys, client):
    call_command("seed_demo", "--json")
    credentials = json.loads(capsys.readouterr().out)

    assert client.login(username=credentials["admin"]["username"], password=credentials["admin"]["password"])
    for login in credentials["merchants"]:
        client.logout()
        assert client.login(username=login["username"], password=login["password"]), login
        assert login["merchant"] in client.get("/", follow=True).content.decode()
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {login['api_key']}")
        assert len(api.get("/api/v1/orders/").json()["results"]) >= 3
    for login in credentials["drivers"]:
        token = APIClient().post("/api/v1/auth/token/", {"username": login["username"], "password": login["password"]})
        assert token.status_code == 200, login


def test_it_leaves_a_pickup_luis_can_start_now_and_seeding_again_adds_none(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out

    # Luis has accepted a window at Chandler that starts within half an hour: he can check in now
    window = PickupWindow.objects.get(driver__user__username="luis.ortega")
    assert window.status == PickupWindow.Status.ACCEPTED
    assert window.site.name == "Chandler Fashion Center"
    assert timezone.now() < window.starts_at <= timezone.now() + timedelta(minutes=30)
    orders = Order.objects.filter(pickup_window=window)
    assert sorted(orders.values_list("store__name", flat=True)) == [
        "Capital Kicks Chandler",
        "Desert Bloom Chandler",
        "Desert Bloom Chandler",
    ]
    assert set(orders.values_list("status", flat=True)) == {Order.Status.SCHEDULED}
    labels = sorted(Package.objects.filter(order__pickup_window=window).values_list("label_code", flat=True))
    assert window.booked_packages == len(labels) == 4
    assert window.driver_name == "Luis"
    assert [(event.from_status, event.to_status) for event in window.events.all()] == [
        ("open", "offered"),
        ("offered", "accepted"),
    ]
    # ... and the command says how to try it
    assert f"Demo pickup {window.pk} at Chandler Fashion Center" in out
    assert f"/driver/windows/{window.pk}/" in out
    assert all(label in out for label in labels)
    for store in window.site.stores.filter(name__endswith="Chandler"):
        assert f"/stores/{store.pk}/handoff/" in out
    assert "rosa@desertbloom.example" in out

    first = counts()
    call_command("seed_demo", "--json")

    assert counts() == first
    assert json.loads(capsys.readouterr().out)["pickup"]["window"] == window.pk


def test_the_pickup_is_there_at_night_too():
    # 03:00 in Chandler: every store is closed, the demo pickup is seeded all the same
    with time_machine.travel(datetime(2027, 1, 5, 10, 0, tzinfo=UTC), tick=False):
        call_command("seed_demo", "--json")

        window = PickupWindow.objects.get(driver__user__username="luis.ortega")
        assert window.status == PickupWindow.Status.ACCEPTED
        assert window.starts_at == timezone.now() + timedelta(minutes=20)
        assert window.booked_packages == 4


def test_it_can_migrate_first_in_the_same_run_and_its_json_stays_alone_on_stdout(capsys):
    call_command("seed_demo", "--migrate", "--json")
    out, err = capsys.readouterr()

    assert json.loads(out)["admin"]["username"] == ADMIN["username"]
    assert "No migrations to apply" in err
    assert apps.get_model("pickups.Order").objects.exists()


@pytest.fixture
def hashed_afresh():
    _hashed.cache_clear()  # each password's hash is kept for the process: not from one hasher to the next
    yield
    _hashed.cache_clear()


def test_the_demo_passwords_are_hashed_in_advance_for_djangos_default_hasher(settings, hashed_afresh):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # Django's default
    for password, encoded in PASSWORD_HASHES.items():
        assert check_password(password, encoded), password

    call_command("seed_demo")

    passwords = dict(apps.get_model("auth.User").objects.values_list("username", "password"))
    assert passwords["admin"] == PASSWORD_HASHES[ADMIN["password"]]
    assert passwords["rosa@desertbloom.example"] == PASSWORD_HASHES[DEMO_PASSWORD]
    assert passwords["luis.ortega"] == PASSWORD_HASHES[DRIVER_PASSWORD]


def test_another_hasher_hashes_the_demo_passwords_itself(settings, hashed_afresh):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    call_command("seed_demo")

    admin = apps.get_model("auth.User").objects.get(username="admin")
    assert admin.password.startswith("md5$") and admin.check_password(ADMIN["password"])
