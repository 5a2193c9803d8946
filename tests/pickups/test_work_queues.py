"""The program team's admin: work queues with counts on the index, approval where the email points,
local times in the lists."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.actors import SYSTEM
from merchants.models import Merchant
from notifications.models import Notification
from pickups.ledger import orders_transition
from pickups.models import Order, PickupWindow
from tests.factories import MerchantFactory, StoreFactory, UserFactory, WindowFactory, make_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    return client


def test_the_admin_index_counts_each_queue_and_links_to_its_list(staff_client):
    MerchantFactory(status=Merchant.Status.PENDING)
    store = StoreFactory()
    stuck, fine = make_orders(store, 2)
    orders_transition(orders=[stuck, fine], to=Order.Status.READY, actor=SYSTEM)
    Order.objects.filter(pk=stuck.pk).update(not_scheduled_reason="Every pickup window at Mall 1 is full.")
    WindowFactory(at_risk=True, status=PickupWindow.Status.OFFERED)
    WindowFactory(status=PickupWindow.Status.IN_PROGRESS, starts_at=timezone.now() - timedelta(hours=3))
    Notification.objects.create(recipient="x@example.com", body="-", status="failed", next_attempt_at=timezone.now())

    page = staff_client.get(reverse("admin:index")).content.decode()

    for title, count in [
        ("Merchants waiting for approval", 1),
        ("Ready orders that could not be scheduled", 1),
        ("Pickups at risk: no driver yet", 1),
        ("Visits left open after their window", 1),
        ("Messages that could not be sent", 1),
        ("Failed deliveries not back at the store", 0),
    ]:
        row = page.split(title)[1].split("</tr>")[0]
        assert f"<strong>{count}</strong>" in row, title
    listed = staff_client.get(reverse("admin:pickups_order_changelist") + "?queue=unscheduled").content.decode()
    assert stuck.external_id in listed and fine.external_id not in listed and "is full" in listed


def test_window_times_are_the_sites_own_with_the_zone(staff_client):
    WindowFactory(starts_at=timezone.now() + timedelta(hours=3))

    page = staff_client.get(reverse("admin:pickups_pickupwindow_changelist")).content.decode()

    assert "MST" in page and 'title="' in page  # Chandler's local time, UTC on hover


class TestApproval:
    def test_approve_from_the_merchants_page(self, staff_client):
        merchant = MerchantFactory(status=Merchant.Status.PENDING)
        page = staff_client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk])).content.decode()
        assert ">Approve</button>" in page

        staff_client.post(reverse("admin:merchants_merchant_decide", args=[merchant.pk, "approve"]))

        merchant.refresh_from_db()
        assert merchant.status == "approved"

    def test_suspending_needs_a_reason_the_owner_reads(self, staff_client):
        merchant = MerchantFactory()
        url = reverse("admin:merchants_merchant_decide", args=[merchant.pk, "suspend"])

        refused = staff_client.post(url, {"reason": " "}, follow=True)
        staff_client.post(url, {"reason": "Unpaid invoices"})

        assert "Say why the merchant is suspended" in refused.content.decode()
        merchant.refresh_from_db()
        assert merchant.status == "suspended" and merchant.status_reason == "Unpaid invoices"

    def test_only_admins_who_may_change_merchants_decide(self, client):
        client.force_login(UserFactory(username="viewer", is_staff=True))
        merchant = MerchantFactory(status=Merchant.Status.PENDING)

        response = client.post(reverse("admin:merchants_merchant_decide", args=[merchant.pk, "approve"]))

        assert response.status_code == 403
        assert Merchant.objects.get(pk=merchant.pk).status == "pending"
        assert client.get(reverse("admin:merchants_merchant_decide", args=[merchant.pk, "approve"])).status_code == 403


def test_the_approval_buttons_are_only_on_merchant_pages(staff_client):
    site = StoreFactory().site

    page = staff_client.get(reverse("admin:merchants_site_change", args=[site.pk]))

    assert page.status_code == 200 and ">Approve</button>" not in page.content.decode()


def test_the_lists_show_status_as_a_worded_badge_and_each_orders_pickup_and_driver(staff_client):
    store = StoreFactory(site__timezone="America/Los_Angeles")
    _, taken = make_orders(store, 2)
    window = WindowFactory(site=store.site, status=PickupWindow.Status.ACCEPTED, driver_name="Ava")
    Order.objects.filter(pk=taken.pk).update(status=Order.Status.SCHEDULED, pickup_window=window)

    orders = staff_client.get(reverse("admin:pickups_order_changelist")).content.decode()
    windows = staff_client.get(reverse("admin:pickups_pickupwindow_changelist")).content.decode()

    assert '<span class="status-badge status-scheduled">Scheduled</span>' in orders
    assert '<span class="status-badge status-created">Created</span>' in orders
    assert "· Ava" in orders and ("PST" in orders or "PDT" in orders)  # the window's start at the site, its driver
    assert '<span class="status-badge status-accepted">Driver assigned</span>' in windows
    assert "css/admin_operations.css" in orders and "css/admin_operations.css" in windows
