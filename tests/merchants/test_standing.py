"""What a merchant may do in each standing, through the real endpoints; and what suspension does to its orders."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.actors import SYSTEM
from merchants import standing
from merchants.models import ApiKey, Invitation, Merchant, Store
from merchants.services import api_key_create, merchant_approve
from pickups import csv_orders
from pickups.ledger import orders_transition
from pickups.models import Order, OrderImport, Quote
from pickups.windows import orders_assign
from tests.factories import MembershipFactory, StoreFactory, UserFactory, WindowFactory, make_orders
from tests.merchants.test_onboarding import store_post

pytestmark = pytest.mark.django_db

STANDINGS = ["unconfirmed", "pending", "approved", "suspended"]

# What each standing sees when refused: the portal's and the API's words (merchants.standing).
REFUSED_WORDS = {
    "unconfirmed": "Confirm your email",
    "pending": "This merchant account is waiting for approval",
    "suspended": "This merchant account is suspended",
}


class Shop:
    """A merchant with a store, an order just created and a returned one, seen by its owner in the
    portal and through the API (logged in, so the service's own check is what answers)."""

    def __init__(self, standing_name: str):
        member = MembershipFactory()
        self.merchant = member.merchant
        self.store = StoreFactory(merchant=self.merchant, name="Desert Bloom Chandler")
        self.created, self.returned = make_orders(self.store, count=2)
        Order.objects.filter(pk=self.returned.pk).update(status=Order.Status.RETURNED)
        changes = {"status_reason": "Unpaid invoices"}
        if standing_name == "unconfirmed":
            changes |= {"status": Merchant.Status.PENDING, "email_confirmed_at": None}
        else:
            changes["status"] = standing_name
        Merchant.objects.filter(pk=self.merchant.pk).update(**changes)
        self.portal, self.api = Client(), APIClient()
        self.portal.force_login(member.user)
        self.api.force_login(member.user)

    def status_of(self, order) -> str:
        return Order.objects.get(pk=order.pk).status


def api_order(shop):
    body = {
        "store": shop.store.pk,
        "external_id": "WEB-1",
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "address_line1": "100 N Arizona Ave",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "packages": [{"weight_lb": "2.5"}],
    }
    return shop.api.post("/api/v1/orders/", body, format="json")


def form_order(shop):
    data = {
        "store": shop.store.pk,
        "external_id": "POS-1",
        "service_level": "same_day",
        "customer_name": "Jamie Rivera",
        "customer_phone": "480-555-0199",
        "address_line1": "100 N Arizona Ave",
        "city": "Chandler",
        "state": "AZ",
        "postal_code": "85225",
        "packages-TOTAL_FORMS": "1",
        "packages-INITIAL_FORMS": "0",
        "packages-MIN_NUM_FORMS": "1",
        "packages-MAX_NUM_FORMS": "20",
        "packages-0-weight_lb": "3",
    }
    return shop.portal.post(reverse("order_create"), data, follow=True)


def csv_import(shop):
    text = csv_orders.import_template()
    upload = SimpleUploadedFile("orders.csv", text.encode(), "text/csv")
    return shop.portal.post(reverse("order_import"), {"file": upload}, follow=True)


def labels_pdf(response) -> bool:
    return response.status_code == 200 and response["Content-Type"] == "application/pdf"


# action: (do it, did it happen, the standings that may do it). The last column is the rule as the
# issue states it, written out here rather than read from merchants.standing, so the two are checked
# against each other.
ACTIONS = {
    "create order (API)": (
        api_order,
        lambda shop, _: Order.objects.filter(external_id="WEB-1").exists(),
        {"approved"},
    ),
    "create order (form)": (
        form_order,
        lambda shop, _: Order.objects.filter(external_id="POS-1").exists(),
        {"approved"},
    ),
    "CSV import": (csv_import, lambda shop, _: OrderImport.objects.exists(), {"approved"}),
    "add a store": (
        lambda shop: shop.portal.post(reverse("store_create"), store_post(name="Second shop"), follow=True),
        lambda shop, _: Store.objects.filter(name="Second shop").exists(),
        {"approved"},
    ),
    "ready (API)": (
        lambda shop: shop.api.post(f"/api/v1/orders/{shop.created.pk}/ready/"),
        lambda shop, _: shop.status_of(shop.created) == Order.Status.READY,
        {"approved"},
    ),
    "ready (portal)": (
        lambda shop: shop.portal.post(reverse("order_ready", args=[shop.created.pk]), follow=True),
        lambda shop, _: shop.status_of(shop.created) == Order.Status.READY,
        {"approved"},
    ),
    "ready (bulk)": (
        lambda shop: shop.portal.post(
            reverse("orders_bulk"), {"orders": [shop.created.pk], "action": "ready"}, follow=True
        ),
        lambda shop, _: shop.status_of(shop.created) == Order.Status.READY,
        {"approved"},
    ),
    "send a returned order out again (API)": (
        lambda shop: shop.api.post(f"/api/v1/orders/{shop.returned.pk}/ready/"),
        lambda shop, _: shop.status_of(shop.returned) == Order.Status.READY,
        {"approved"},
    ),
    "cancel (API)": (
        lambda shop: shop.api.post(f"/api/v1/orders/{shop.created.pk}/cancel/", {"reason": "Changed their mind"}),
        lambda shop, _: shop.status_of(shop.created) == Order.Status.CANCELLED,
        {"approved", "suspended"},
    ),
    "cancel (portal)": (
        lambda shop: shop.portal.post(
            reverse("order_cancel", args=[shop.created.pk]),
            {"reason": "Changed their mind", "confirm": "on"},
            follow=True,
        ),
        lambda shop, _: shop.status_of(shop.created) == Order.Status.CANCELLED,
        {"approved", "suspended"},
    ),
    "collected (API)": (
        lambda shop: shop.api.post(f"/api/v1/orders/{shop.returned.pk}/collected/"),
        lambda shop, _: shop.status_of(shop.returned) == Order.Status.COLLECTED,
        {"approved", "suspended"},
    ),
    "collected (portal)": (
        lambda shop: shop.portal.post(reverse("order_collected", args=[shop.returned.pk]), follow=True),
        lambda shop, _: shop.status_of(shop.returned) == Order.Status.COLLECTED,
        {"approved", "suspended"},
    ),
    "labels (API)": (
        lambda shop: shop.api.get(f"/api/v1/orders/{shop.created.pk}/label/"),
        lambda shop, response: labels_pdf(response),
        {"pending", "approved", "suspended"},
    ),
    "labels (portal)": (
        lambda shop: shop.portal.get(reverse("order_labels", args=[shop.created.pk]), follow=True),
        lambda shop, response: labels_pdf(response),
        {"pending", "approved", "suspended"},
    ),
    "quote (API)": (
        lambda shop: shop.api.post(
            "/api/v1/quotes/",
            {"store": shop.store.pk, "service_level": "same_day", "postal_code": "85225"},
            format="json",
        ),
        lambda shop, _: Quote.objects.exists(),
        {"approved"},
    ),
    "create an API key": (
        lambda shop: shop.portal.post(reverse("api_keys"), {"name": "Checkout"}, follow=True),
        lambda shop, _: ApiKey.objects.exists(),
        {"approved"},
    ),
    "invite a team member": (
        lambda shop: shop.portal.post(reverse("team"), {"email": "jo@shop.example"}, follow=True),
        lambda shop, _: Invitation.objects.exists(),
        {"approved"},
    ),
    "read the order list (API)": (
        lambda shop: shop.api.get("/api/v1/orders/"),
        lambda shop, response: response.status_code == 200,
        {"pending", "approved", "suspended"},
    ),
    "read the dashboard (portal)": (
        lambda shop: shop.portal.get(reverse("dashboard"), follow=True),
        lambda shop, response: response.status_code == 200 and "Dashboard" in response.content.decode(),
        {"pending", "approved", "suspended"},
    ),
}


@pytest.mark.parametrize("standing_name", STANDINGS)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_write_obeys_the_standing(action, standing_name, django_capture_on_commit_callbacks):
    # given
    shop = Shop(standing_name)
    do, happened, allowed = ACTIONS[action]

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = do(shop)

    # then
    if standing_name in allowed:
        assert happened(shop, response), (response.status_code, response.content[:500])
        return
    assert not happened(shop, response)
    body = response.content.decode(errors="replace")
    if "/api/" in response.wsgi_request.path:
        assert response.status_code == 403
    assert REFUSED_WORDS[standing_name] in body, body[:2000]


def test_the_table_agrees_with_the_issue():
    """The rule in one place: what each standing may do, as merchants.standing has it."""
    allowed = {
        action: {name for name in STANDINGS if name in standing.STANDING_RULES[action][1]}
        for action in standing.STANDING_RULES
    }

    assert allowed == {
        standing.READ: {"pending", "approved", "suspended"},
        standing.ADD: {"approved"},
        standing.READY: {"approved"},
        standing.PICKUP: {"approved"},
        standing.QUOTE: {"approved"},
        standing.CANCEL: {"approved", "suspended"},
        standing.COLLECTED: {"approved", "suspended"},
        standing.API_KEY_CREATE: {"approved"},
        standing.API_KEY_USE: {"approved"},
        standing.INVITE: {"approved"},
        standing.TEAM_JOIN: {"approved"},
        standing.ACCESS_REMOVE: {"pending", "approved", "suspended"},
        standing.WEBHOOKS: {"approved"},
    }


class TestApiKeys:
    def test_a_suspended_merchants_key_is_refused_with_the_reason_and_works_again_when_reinstated(self, merchant):
        _, raw = api_key_create(merchant=merchant, name="Checkout", created_by=None)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        [order] = make_orders(StoreFactory(merchant=merchant))
        Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED, status_reason="Unpaid")

        listed = api.get("/api/v1/orders/")
        ready = api.post(f"/api/v1/orders/{order.pk}/ready/")

        assert listed.status_code == ready.status_code == 403
        assert listed.json()["detail"] == (
            "This merchant account is suspended: you cannot use its API keys until the program team "
            "reinstates it. Reason: Unpaid"
        )
        assert Order.objects.get(pk=order.pk).status == Order.Status.CREATED
        assert ApiKey.objects.get().revoked_at is None  # kept, not revoked
        merchant_approve(merchant=Merchant.objects.get(pk=merchant.pk))
        assert api.post(f"/api/v1/orders/{order.pk}/ready/").status_code == 200

    def test_a_pending_merchants_old_key_is_refused(self):
        member = MembershipFactory()
        _, raw = api_key_create(merchant=member.merchant, name="Old", created_by=None)
        Merchant.objects.filter(pk=member.merchant.pk).update(status=Merchant.Status.PENDING)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

        response = api.get("/api/v1/stores/")

        assert response.status_code == 403 and "waiting for approval" in response.json()["detail"]

    def test_a_suspended_owner_may_still_revoke_keys_and_remove_staff(self, owner_client, merchant):
        api_key, _ = api_key_create(merchant=merchant, name="Old", created_by=None)
        staff = MembershipFactory(merchant=merchant, role="staff")
        Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED)

        owner_client.post(reverse("api_key_revoke", args=[api_key.pk]))
        owner_client.post(reverse("member_remove", args=[staff.pk]))

        api_key.refresh_from_db()
        assert api_key.revoked_at is not None
        assert not merchant.memberships.filter(pk=staff.pk).exists()


class TestSuspension:
    @pytest.fixture
    def admin_client(self, client):
        client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
        return client

    def suspend(self, admin_client, merchant, capture):
        with capture(execute=True):
            return admin_client.post(
                reverse("admin:merchants_merchant_changelist"),
                {"action": "suspended_selected", "_selected_action": [merchant.pk]},
                follow=True,
            )

    def test_scheduled_orders_leave_their_windows_and_picked_up_ones_carry_on(
        self, window, admin_client, django_capture_on_commit_callbacks
    ):
        # given a merchant with an order scheduled in a window (3 packages) and one on the road
        scheduled = Order.objects.get(pickup_window=window)
        merchant = scheduled.merchant
        [on_the_road] = make_orders(scheduled.store)
        Order.objects.filter(pk=on_the_road.pk).update(status=Order.Status.PICKED_UP)
        Merchant.objects.filter(pk=merchant.pk).update(status_reason="Unpaid invoices")
        owner = MembershipFactory(merchant=merchant).user

        # when the program admin suspends it
        self.suspend(admin_client, merchant, django_capture_on_commit_callbacks)

        # then the scheduled order is ready again, out of its window, whose room is given back
        scheduled.refresh_from_db()
        window.refresh_from_db()
        assert Merchant.objects.get(pk=merchant.pk).status == Merchant.Status.SUSPENDED
        assert scheduled.status == Order.Status.READY and scheduled.pickup_window is None
        assert window.booked_packages == 0
        assert "suspended" in scheduled.not_scheduled_reason and "Unpaid invoices" in scheduled.not_scheduled_reason
        event = scheduled.events.latest("id")
        assert (event.type, event.from_status, event.to_status) == ("order.withdrawn", "scheduled", "ready")
        assert event.title == "Taken out of its pickup: the merchant account is suspended"
        assert event.actor_label  # the admin who suspended it
        # and the parcel already with a driver carries on
        assert Order.objects.get(pk=on_the_road.pk).status == Order.Status.PICKED_UP
        # and the owner was told
        assert [m.to for m in mail.outbox if "suspended" in m.subject] == [[owner.email]]

    def test_the_sweep_leaves_their_ready_orders_waiting_until_reinstated(
        self, window, admin_client, django_capture_on_commit_callbacks
    ):
        scheduled = Order.objects.get(pickup_window=window)
        self.suspend(admin_client, scheduled.merchant, django_capture_on_commit_callbacks)
        an_hour_ago = timezone.now() - timedelta(hours=1)
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            assert orders_assign(now=an_hour_ago).scheduled == []

        scheduled.refresh_from_db()
        assert scheduled.status == Order.Status.READY and "suspended" in scheduled.not_scheduled_reason
        assert not [m for m in mail.outbox if "not scheduled" in m.subject.lower()]  # no alert to the admins

        merchant_approve(merchant=Merchant.objects.get(pk=scheduled.merchant_id))
        assignment = orders_assign(now=an_hour_ago)

        scheduled.refresh_from_db()
        assert assignment.scheduled == [scheduled.pk]
        assert scheduled.status == Order.Status.SCHEDULED and scheduled.not_scheduled_reason == ""

    def test_a_ready_order_of_a_pending_merchant_is_never_scheduled(self, monday_morning):
        store = StoreFactory()
        WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
        orders = make_orders(store)
        orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
        Merchant.objects.filter(pk=store.merchant_id).update(status=Merchant.Status.PENDING)

        assert orders_assign(now=timezone.now() - timedelta(hours=1)).scheduled == []

        order = Order.objects.get(pk=orders[0].pk)
        assert order.status == Order.Status.READY and "waiting for approval" in order.not_scheduled_reason


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_suspension_while_an_assignment_runs_withdraws_what_it_scheduled(monday_morning, monkeypatch):
    """The assignment holds the ready order's lock when the admin suspends: the suspension waits for it,
    then withdraws the order it scheduled. No order of a suspended merchant stays in a window."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    import pickups.windows
    from merchants.services import merchant_suspend
    from pickups.models import PickupWindow
    from pickups.services import orders_withdraw_for_suspension

    store = StoreFactory()
    window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
    orders = make_orders(store, packages=2)
    # ready without the assignment task that a move to ready queues (it would run at once, eagerly)
    Order.objects.filter(pk=orders[0].pk).update(status=Order.Status.READY, ready_at=timezone.now())
    booking, go_on = threading.Event(), threading.Event()
    save_bookings = pickups.windows.windows_save_bookings

    def paused(windows):  # the assignment, its orders locked and the window chosen, waits here
        booking.set()
        go_on.wait(timeout=30)
        save_bookings(windows)

    monkeypatch.setattr(pickups.windows, "windows_save_bookings", paused)

    def in_thread(call):
        def run():
            try:
                return call()
            finally:
                connection.close()

        return run

    with ThreadPoolExecutor(2) as pool:
        assigned = pool.submit(in_thread(lambda: orders_assign(now=timezone.now() - timedelta(hours=1))))
        assert booking.wait(timeout=30)
        suspended = pool.submit(
            in_thread(
                lambda: orders_withdraw_for_suspension(
                    merchant=merchant_suspend(merchant=store.merchant, reason=""), actor=SYSTEM
                )
            )
        )
        time.sleep(0.5)  # the suspension now waits for the assignment's lock on the order
        go_on.set()
        assert assigned.result(timeout=30).scheduled == [orders[0].pk]
        suspended.result(timeout=30)

    order = Order.objects.get(pk=orders[0].pk)
    assert order.status == Order.Status.READY and order.pickup_window is None
    assert list(order.events.order_by("id").values_list("type", flat=True)) == [
        "order.created",
        "order.scheduled",
        "order.withdrawn",
    ]
    assert PickupWindow.objects.get(pk=window.pk).booked_packages == 0
