import json

import pytest
from django.apps import apps
from django.core.management import call_command
from rest_framework.test import APIClient

from merchants.models import Merchant, Site

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
    "pickups.PickupWindow",
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
        assert api.get("/api/v1/orders/").json()["count"] >= 3
    for login in credentials["drivers"]:
        token = APIClient().post("/api/v1/auth/token/", {"username": login["username"], "password": login["password"]})
        assert token.status_code == 200, login
