"""Program admins approve and suspend merchants from the Django admin."""

import pytest
from django.core import mail
from django.urls import reverse

from merchants.models import Merchant
from notifications.models import Notification
from tests.factories import MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def act(admin_client, action, merchants, capture):
    with capture(execute=True):
        return admin_client.post(
            reverse("admin:merchants_merchant_changelist"),
            {"action": action, "_selected_action": [m.pk for m in merchants]},
            follow=True,
        )


def test_bulk_approval_emails_each_owner(admin_client, django_capture_on_commit_callbacks):
    pending = [MembershipFactory(merchant__status=Merchant.Status.PENDING) for _ in range(3)]

    act(admin_client, "approved_selected", [m.merchant for m in pending], django_capture_on_commit_callbacks)

    assert set(Merchant.objects.values_list("status", flat=True)) == {"approved"}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.user.email for m in pending)


def test_suspension_blocks_the_merchant_and_says_why(admin_client, client, django_capture_on_commit_callbacks):
    member = MembershipFactory()

    act(admin_client, "suspended_selected", [member.merchant], django_capture_on_commit_callbacks)

    member.merchant.refresh_from_db()
    assert member.merchant.status == Merchant.Status.SUSPENDED and member.merchant.suspended_at
    assert "suspended" in mail.outbox[0].subject
    client.force_login(member.user)
    assert "Your account is suspended" in client.get(reverse("dashboard")).content.decode()


def test_an_illegal_move_is_refused_with_a_message(admin_client, django_capture_on_commit_callbacks):
    member = MembershipFactory()  # already approved

    response = act(admin_client, "approved_selected", [member.merchant], django_capture_on_commit_callbacks)

    assert "cannot become approved" in response.content.decode()
    assert not Notification.objects.exists()


def test_status_cannot_be_edited_by_hand(admin_client):
    member = MembershipFactory(merchant__status=Merchant.Status.PENDING)

    page = admin_client.get(reverse("admin:merchants_merchant_change", args=[member.merchant.pk])).content.decode()

    assert 'name="status"' not in page


@pytest.mark.parametrize(
    "model", ["merchant", "membership", "invitation", "site", "store"], ids=lambda name: f"{name}_changelist"
)
def test_every_admin_list_opens(admin_client, model):
    StoreFactory()
    MembershipFactory()

    response = admin_client.get(reverse(f"admin:merchants_{model}_changelist"), {"q": "a"})

    assert response.status_code == 200


def test_the_notification_admin_resends(admin_client, django_capture_on_commit_callbacks):
    Notification.objects.create(
        recipient="x@shop.example",
        template="merchant_approved",
        subject="s",
        body="b",
        status=Notification.Status.FAILED,
        attempts=8,
        next_attempt_at="2026-01-01T00:00:00Z",
    )

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:notifications_notification_changelist"),
            {"action": "resend", "_selected_action": list(Notification.objects.values_list("pk", flat=True))},
        )

    notification = Notification.objects.get()
    assert notification.status == Notification.Status.SENT and notification.attempts == 1
    assert mail.outbox[0].to == ["x@shop.example"]


def test_the_admin_hides_a_pending_one_time_link(admin_client):
    notification = Notification.objects.create(
        recipient="x@shop.example",
        template="password_reset",
        subject="s",
        body="https://x/reset/SECRET-TOKEN/",
        secret=True,
        next_attempt_at="2026-01-01T00:00:00Z",
    )

    page = admin_client.get(reverse("admin:notifications_notification_change", args=[notification.pk]))

    assert "SECRET-TOKEN" not in page.content.decode() and "Hidden" in page.content.decode()


def test_a_window_capacity_below_its_bookings_is_refused(admin_client):
    from tests.factories import WindowFactory

    window = WindowFactory(booked_packages=10)
    url = reverse("admin:pickups_pickupwindow_change", args=[window.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields} | {"capacity_packages": 5}
    data["starts_at_0"], data["starts_at_1"] = window.starts_at.date(), window.starts_at.time()
    data["ends_at_0"], data["ends_at_1"] = window.ends_at.date(), window.ends_at.time()

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "10 packages are already booked" in response.content.decode()
    window.refresh_from_db()
    assert window.capacity_packages == 60


@pytest.mark.parametrize("count", [2, 20])
def test_the_order_admin_list_runs_a_constant_number_of_queries(admin_client, count, django_assert_num_queries):
    from tests.factories import make_orders

    for _ in range(count):
        make_orders(StoreFactory())

    with django_assert_num_queries(6):
        assert admin_client.get(reverse("admin:pickups_order_changelist")).status_code == 200
