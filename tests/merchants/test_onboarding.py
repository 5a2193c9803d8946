"""Signup, email confirmation, approval by an admin, and the first store: the whole path a new shop takes."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from merchants.models import Merchant, Site, Store
from tests.factories import UserFactory

SIGNUP = {
    "business_name": "Cactus Candles",
    "owner_name": "Ana Ruiz",
    "email": "Ana@CactusCandles.example",
    "phone": "480-555-0100",
    "password": "wax-and-wick-2026",
    "password_again": "wax-and-wick-2026",
}


def store_post(**overrides):
    data = {
        "name": "Cactus Candles Chandler",
        "unit": "",
        "phone": "480-555-0101",
        "service_radius_miles": "8",
        "same_day_cutoff": "13:30",
        "pickup_instructions": "Back door by the loading dock.",
        "mall": "",
        "address_line1": "58 W Buffalo St",
        "address_line2": "",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "latitude": "",
        "longitude": "",
        "timezone": "",
        "closures-TOTAL_FORMS": "1",
        "closures-INITIAL_FORMS": "0",
        "closures-MIN_NUM_FORMS": "0",
        "closures-MAX_NUM_FORMS": "1000",
        "closures-0-date": "2026-12-25",
        "closures-0-reason": "Christmas",
    }
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        data[f"{day}_opens"], data[f"{day}_closes"] = ("", "") if day == "sunday" else ("09:00", "18:00")
    return data | overrides


@pytest.mark.django_db
def test_signup_approval_and_first_store(client, django_capture_on_commit_callbacks):
    # given a program admin who hears about signups
    admin = UserFactory(username="admin", email="admin@program.example", is_staff=True, is_superuser=True)

    # when a shop signs up
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signup"), SIGNUP)

    # then it is pending and unconfirmed, logged in, and only the owner got an email: the link to confirm
    assert response.status_code == 302 and response.url == reverse("email_confirmation")
    merchant = Merchant.objects.get(display_name="Cactus Candles")
    assert merchant.status == Merchant.Status.PENDING and merchant.email_confirmed_at is None
    owner = get_user_model().objects.get(email="ana@cactuscandles.example")
    assert owner.membership.merchant == merchant and owner.membership.is_owner
    assert [m.to for m in mail.outbox] == [["ana@cactuscandles.example"]]
    assert client.get(reverse("dashboard")).url == reverse("email_confirmation")

    # when the owner opens the link and confirms
    link = re.search(r"http://testserver(/signup/confirm/\S+/)", mail.outbox[0].body).group(1)
    assert "Confirm my email" in client.get(link).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)

    # then the admin is asked to approve, and the owner sees the account waits for approval
    assert [m.to for m in mail.outbox[1:]] == [["admin@program.example"]]
    assert "Cactus Candles" in mail.outbox[1].subject
    dashboard = client.get(reverse("dashboard"))
    assert "waiting for approval" in dashboard.content.decode()

    # and it cannot add a store yet
    response = client.post(reverse("store_create"), store_post(), follow=True)
    assert "waiting for approval" in response.content.decode()
    assert not Store.objects.exists()

    # when the admin approves it in the Django admin
    admin_client = client.__class__()
    admin_client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:merchants_merchant_changelist"),
            {"action": "approved_selected", "_selected_action": [merchant.pk]},
        )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.APPROVED and merchant.approved_at is not None
    assert mail.outbox[-1].to == ["ana@cactuscandles.example"]
    assert "approved" in mail.outbox[-1].subject

    # then the owner adds a standalone store, placed on the map from its ZIP code
    response = client.post(reverse("store_create"), store_post())
    assert response.status_code == 302, response.context and response.context["form"].errors
    store = Store.objects.get()
    assert store.merchant == merchant
    assert store.site.kind == Site.Kind.STANDALONE
    assert store.site.timezone == "America/Phoenix"
    assert store.site.latitude is not None
    assert sorted(h.weekday for h in store.opening_hours.all()) == [0, 1, 2, 3, 4, 5]
    assert [(c.date.isoformat(), c.reason) for c in store.closures.all()] == [("2026-12-25", "Christmas")]
    assert "Cactus Candles Chandler" in client.get(reverse("store_list")).content.decode()


@pytest.mark.django_db
def test_signup_with_an_email_already_in_use_is_refused(client):
    UserFactory(email="ana@cactuscandles.example", username="ana@cactuscandles.example")

    response = client.post(reverse("signup"), SIGNUP)

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not Merchant.objects.exists()


@pytest.mark.django_db
def test_signup_with_mismatched_passwords_names_the_field(client):
    response = client.post(reverse("signup"), SIGNUP | {"password_again": "something-else-2026"})

    assert response.context["form"].errors["password_again"] == ["The two passwords are not the same."]
    assert not Merchant.objects.exists()
