"""The merchant dashboard: what needs the merchant now (with links to act), each store's figures, the
chart as an SVG image and the figures as CSV; only the merchant's own, in a constant number of queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.actors import SYSTEM
from pickups.ledger import events_append, order_event
from pickups.models import Order, PickupWindow
from tests.factories import DriverFactory, MembershipFactory, SiteFactory, StoreFactory, WindowFactory, make_orders

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("monday_morning")]  # 10:00 in Chandler

S = Order.Status


def moved(order, to, *, event="", window=None, at=None):
    """The order moved through the ledger's writer (its event sealed), as the services leave it."""
    at = at or timezone.now()
    order.refresh_from_db()
    events_append([order_event(order, event or f"order.{to}", SYSTEM, at, order.status, to, {})])
    Order.objects.filter(pk=order.pk).update(status=to, pickup_window=window)
    return order


def scheduled(store, window, packages=1):
    [order] = make_orders(store, packages=packages)
    moved(order, S.READY)
    return moved(order, S.SCHEDULED, window=window)


@pytest.fixture
def busy(store):
    """A store with something of everything to do."""
    make_orders(store, 2)  # to flag ready
    moved(make_orders(store)[0], S.DELIVERY_FAILED)
    moved(make_orders(store)[0], S.RETURNED)
    driver = DriverFactory(user__first_name="Dee")
    here = WindowFactory(site=store.site, starts_at=timezone.now() - timedelta(minutes=20), driver=driver)
    here.status, here.driver_name = PickupWindow.Status.IN_PROGRESS, "Dee"
    here.save()
    scheduled(store, here, packages=2)
    later = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(hours=3, minutes=1))
    for _ in range(2):
        scheduled(store, later, packages=2)
    left = make_orders(store)[0]
    moved(left, S.READY)
    moved(left, S.SCHEDULED, window=here)
    moved(left, S.READY, event="order.left_behind")
    return store


def page(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response, response.content.decode()


def test_it_says_what_needs_the_merchant_now_with_a_link_to_each(owner_client, busy):
    response, html = page(owner_client)

    now = response.context["now"]
    assert (now.to_flag, now.failed, now.returned) == (2, 1, 1)
    assert "2 orders to flag ready" in html and f"{reverse('order_list')}?status=created" in html
    assert "1 failed delivery</strong>" in html and "?status=delivery_failed" in html
    assert "1 returned order</strong>" in html and "?status=returned" in html
    handoff = reverse("store_handoff", args=[busy.pk])
    assert "Dee is at Mall" in html and "for 2 parcels (1 order)" in html and handoff in html
    assert "1 order left at your counter</strong> today at Desert Bloom Chandler" in html


def test_the_next_pickup_in_local_time_with_a_countdown_and_its_parcels(owner_client, busy):
    response, html = page(owner_client)

    pickup = response.context["now"].next_pickup
    assert (pickup.orders, pickup.packages, pickup.starts_in) == (2, 4, "in 3 h")
    assert "Next pickup: <time" in html and "Mon Jan 4, 1:01 PM MST</time>" in html
    assert f'data-countdown-to="{int(pickup.window.starts_at.timestamp())}"' in html
    assert "4 parcels in 2 orders" in html and "no driver yet" in html and reverse("pickup_schedule") in html


def test_a_quiet_day_says_so(owner_client, store):
    _, html = page(owner_client)

    assert "Nothing needs you right now" in html


def test_another_merchants_work_is_not_shown(client, busy):
    stranger = MembershipFactory().user
    StoreFactory(merchant=stranger.membership.merchant, site=busy.site)
    client.force_login(stranger)

    response, html = page(client)

    now = response.context["now"]
    assert (now.to_flag, now.failed, now.returned, now.on_site, now.next_pickup, now.left_behind) == (
        0,
        0,
        0,
        [],
        None,
        [],
    )
    assert "Desert Bloom" not in html
    assert [p.period(30).orders for p in response.context["performance"]] == [0]


def test_each_store_has_its_figures_a_chart_with_a_text_alternative_and_the_days_in_a_table(owner_client, busy):
    _, html = page(owner_client)

    assert "<caption>Desert Bloom Chandler: pickups and deliveries of the orders made in the last 7 and 30 days" in html
    assert f'src="{reverse("dashboard_chart", args=[busy.pk])}"' in html
    assert "alt=\"Stacked bar chart of Desert Bloom Chandler's orders per day" in html
    assert "<caption>Desert Bloom Chandler: orders made each day, by outcome</caption>" in html
    assert reverse("dashboard_export") in html


class TestChart:
    def test_it_is_an_svg_with_a_title_and_no_script_under_a_policy_for_its_style_only(self, owner_client, busy):
        response = owner_client.get(reverse("dashboard_chart", args=[busy.pk]))

        assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
        svg = response.content.decode()
        assert svg.startswith("<svg") and 'role="img"' in svg
        assert "<title>Desert Bloom Chandler: orders per day by outcome" in svg
        assert "<script" not in svg and "kozea.github.io" not in svg
        policy = response["Content-Security-Policy"]
        assert (
            "default-src 'none'" in policy and "script-src 'none'" in policy and "style-src 'unsafe-inline'" in policy
        )

    def test_another_merchants_store_is_not_found(self, client, busy):
        client.force_login(MembershipFactory().user)

        assert client.get(reverse("dashboard_chart", args=[busy.pk])).status_code == 404


class TestExport:
    def test_it_has_a_line_per_store_and_period_then_per_day(self, owner_client, busy, merchant):
        StoreFactory(merchant=merchant, name="Second Store", site=SiteFactory(timezone="America/New_York"))

        response = owner_client.get(reverse("dashboard_export"))

        assert response.status_code == 200 and response["Content-Type"] == "text/csv"
        assert response["Content-Disposition"] == 'attachment; filename="store-performance.csv"'
        lines = response.content.decode().splitlines()
        periods = [(cells[0], cells[2], cells[3]) for cells in (line.split(",") for line in lines[1:5])]
        assert periods == [
            ("Desert Bloom Chandler", "America/Phoenix", "7 days"),
            ("Desert Bloom Chandler", "America/Phoenix", "30 days"),
            ("Second Store", "America/New_York", "7 days"),
            ("Second Store", "America/New_York", "30 days"),
        ]
        assert len(lines) == 1 + 4 + 2 * 30

    def test_only_the_merchants_own_stores(self, client, busy):
        client.force_login(MembershipFactory().user)

        assert "Desert Bloom" not in client.get(reverse("dashboard_export")).content.decode()


@pytest.mark.parametrize("name", ["dashboard", "dashboard_export"])
def test_anonymous_visitors_go_to_login(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_anonymous_chart_goes_to_login(client, store):
    response = client.get(reverse("dashboard_chart", args=[store.pk]))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("stores", [1, 6])
def test_the_dashboard_runs_a_constant_number_of_queries(owner_client, merchant, stores, django_assert_num_queries):
    for number in range(stores):
        store = StoreFactory(merchant=merchant, site=SiteFactory())
        make_orders(store, 2)
        window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(hours=2 + number))
        scheduled(store, window, packages=2)
        moved(make_orders(store)[0], S.RETURNED)

    # session, user, membership, stores, hours, closures; today's counts; to-dos, pickups, left behind;
    # the figures' orders and their moves
    with django_assert_num_queries(12):
        response = owner_client.get(reverse("dashboard"))

    assert response.context["now"].to_flag == 2 * stores
    assert len(response.context["performance"]) == stores


@pytest.mark.parametrize("orders", [1, 8])
def test_the_chart_runs_a_constant_number_of_queries(owner_client, store, orders, django_assert_num_queries):
    window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(hours=2))
    for _ in range(orders):
        scheduled(store, window)

    # session, user, membership, the store (with hours and closures), the figures' orders and moves
    with django_assert_num_queries(8):
        owner_client.get(reverse("dashboard_chart", args=[store.pk]))
