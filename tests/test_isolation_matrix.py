"""Who may reach what: every URL of the portal and the API, tried by every kind of caller.

The routes come from the URL resolver, so a new route without an entry in ROUTES fails
`test_every_route_has_an_isolation_entry`. Each entry says how to fill in its URL for merchant A's
and driver 1's objects, which methods to try and what each actor gets. The actors use the real
authentication of each surface: a session for pages, an API key (`Bearer mpk_...`) for merchants on
the API (staff, who cannot make keys, and program admins use their session there), a knox token for
drivers. What the answers mean:

- anonymous: the login page (302) on the portal, 401 on the API, 200 on public pages;
- another merchant's owner, another driver: 404 for an object that is not theirs (its existence is
  not revealed), and their own empty list where the route lists things;
- a caller of the wrong kind (a driver on a merchant page, a merchant on a driver's, a staff member on
  an owner's page, a program admin on either): 403;
- the object's own merchant or driver: what the route does (200, a redirect after a form, or 409 when the
  object's state refuses the move: it was found, which is what isolation is about).

The world is built once for the module; every request runs in a savepoint rolled back after it.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from knox.models import AuthToken
from PIL import Image
from rest_framework.test import APIClient

from common.actors import SYSTEM, Actor
from deliveries.handoffs import order_deliver
from deliveries.services import offer_accept, visit_collect, window_offer_wave
from merchants.handoff_codes import store_code
from merchants.models import Membership
from merchants.services import api_key_create
from pickups.bulk_actions import bulk_action_run, bulk_action_start, bulk_plan
from pickups.ledger import orders_transition
from pickups.models import Order, OrderEvent, OrderImport
from pickups.visits import window_arrive
from pickups.windows import orders_assign
from tests.factories import DriverFactory, MembershipFactory, StoreFactory, UserFactory, WindowFactory, make_orders
from webhooks.services import endpoint_create, endpoint_test

# Deliberately not in the matrix: the Django admin (its own permission system, tested in tests/*/test_admin.py),
# static and media files, and the API schema and its docs (public by design, no data of anyone's).
EXCLUDED_PREFIXES = ("admin/", "static/", "media/")
EXCLUDED_NAMES = {"api-schema", "api-docs"}

ACTORS = ["anonymous", "owner", "staff", "other_owner", "driver", "other_driver", "admin"]
NOW = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)  # Monday 10:00 in Chandler


@dataclass(frozen=True)
class Entry:
    """One route: how to fill in its URL from the world, what to send, and what each actor gets."""

    expect: dict[str, int]
    kwargs: object = None  # world -> URL kwargs
    method: str = "get"
    data: object = field(default_factory=dict)  # the body, or world -> the body


def expect(base: dict[str, int], **changes: int) -> dict[str, int]:
    return base | changes


LOGIN = 302  # the portal sends anonymous callers to the login page (checked to be that page)
# Portal pages of a merchant (merchant_required): the member's merchant's own data, nobody else's.
MERCHANT_PAGE = {
    "anonymous": LOGIN,
    "owner": 200,
    "staff": 200,
    "other_owner": 200,
    "driver": 403,
    "other_driver": 403,
    "admin": 403,
}
MERCHANT_OBJECT = expect(MERCHANT_PAGE, other_owner=404)
# A form posted on a merchant's object: the portal answers with a redirect (and a message).
MERCHANT_POST = expect(MERCHANT_OBJECT, owner=302, staff=302)
# Owners only (team, API keys, webhooks): staff 403.
OWNER_PAGE = expect(MERCHANT_PAGE, staff=403)
OWNER_OBJECT = expect(OWNER_PAGE, other_owner=404)
OWNER_POST = expect(OWNER_OBJECT, owner=302)
# Driver pages (driver_required).
DRIVER_PAGE = {
    "anonymous": LOGIN,
    "owner": 403,
    "staff": 403,
    "other_owner": 403,
    "driver": 200,
    "other_driver": 200,
    "admin": 403,
}
DRIVER_OBJECT = expect(DRIVER_PAGE, other_driver=404)
DRIVER_POST = expect(DRIVER_OBJECT, driver=302)
# The merchant API (IsMerchant): owners by API key, staff by session; drivers and admins are no merchant.
MERCHANT_API = {
    "anonymous": 401,
    "owner": 200,
    "staff": 200,
    "other_owner": 200,
    "driver": 403,
    "other_driver": 403,
    "admin": 403,
}
MERCHANT_API_OBJECT = expect(MERCHANT_API, other_owner=404)
# Webhooks on the API: an owner's key, or a logged-in owner; staff 403.
OWNER_API = expect(MERCHANT_API, staff=403)
OWNER_API_OBJECT = expect(OWNER_API, other_owner=404)
# The driver API (IsActiveDriver): a merchant's key or session is no driver.
DRIVER_API = {
    "anonymous": 401,
    "owner": 403,
    "staff": 403,
    "other_owner": 403,
    "driver": 200,
    "other_driver": 200,
    "admin": 403,
}
DRIVER_API_OBJECT = expect(DRIVER_API, other_driver=404)
PUBLIC = dict.fromkeys(ACTORS, 200)
# Any logged-in user (Django's own account pages, the landing redirect).
LOGGED_IN = expect(dict.fromkeys(ACTORS, 200), anonymous=LOGIN)


def order(w):
    return {"pk": w["order"].pk}


def SCAN(w):
    """A well-formed counter scan, so the answer comes from the object's lookup, not from validation."""
    return {"store": w["store"].pk, "store_code": "000000", "label_codes": ["NOT-A-LABEL"]}


ROUTES: dict[str, Entry] = {
    # --- accounts and public pages
    "login": Entry(PUBLIC),
    "logout": Entry(dict.fromkeys(ACTORS, 405)),  # POST only (Django 5): a link cannot log anyone out
    "password_change": Entry(LOGGED_IN),
    "password_change_done": Entry(LOGGED_IN),
    "password_reset": Entry(PUBLIC),
    "password_reset_done": Entry(PUBLIC),
    "password_reset_confirm": Entry(PUBLIC, lambda w: {"uidb64": "MQ", "token": "not-a-token"}),  # "invalid link"
    "password_reset_complete": Entry(PUBLIC),
    "healthz": Entry(PUBLIC),
    "embed_promise_js": Entry(PUBLIC),
    "embed_promise_demo": Entry(dict.fromkeys(ACTORS, 404)),  # development only (DEBUG)
    "home": Entry(dict.fromkeys(ACTORS, 302)),  # the login page, or where each kind of login lands
    "signup": Entry(PUBLIC),
    "email_confirmation": Entry(expect(MERCHANT_PAGE, owner=302, staff=302, other_owner=302)),  # confirmed: onward
    "email_confirm": Entry(dict.fromkeys(ACTORS, 400), lambda w: {"token": "not-a-token"}),
    "invitation_accept": Entry(dict.fromkeys(ACTORS, 404), lambda w: {"token": "not-a-token"}),
    "tracking": Entry(PUBLIC, lambda w: {"tracking_code": w["order"].tracking_code}),
    "tracking_stop": Entry(PUBLIC, lambda w: {"tracking_code": w["order"].tracking_code}),
    # --- merchant portal
    "dashboard": Entry(MERCHANT_PAGE),
    "dashboard_chart": Entry(MERCHANT_OBJECT, lambda w: {"pk": w["store"].pk}),
    "dashboard_export": Entry(MERCHANT_PAGE),
    "pickup_schedule": Entry(MERCHANT_PAGE),
    "store_list": Entry(MERCHANT_PAGE),
    "store_create": Entry(MERCHANT_PAGE),
    "store_edit": Entry(MERCHANT_OBJECT, lambda w: {"pk": w["store"].pk}),
    "store_handoff": Entry(MERCHANT_OBJECT, lambda w: {"pk": w["store"].pk}),
    "team": Entry(OWNER_PAGE),
    "member_remove": Entry(OWNER_POST, lambda w: {"pk": w["staff"].membership.pk}, "post"),
    "api_keys": Entry(OWNER_PAGE),
    "api_key_revoke": Entry(OWNER_POST, lambda w: {"pk": w["api_key"].pk}, "post"),
    "order_list": Entry(MERCHANT_PAGE),
    "order_create": Entry(MERCHANT_PAGE),
    # the ticked orders are looked up among the caller's own: another merchant's tick is no order at all
    "orders_bulk": Entry(
        expect(MERCHANT_POST, other_owner=302),
        method="post",
        data=lambda w: {"orders": [w["order"].pk], "action": "ready"},
    ),
    # a bulk action a worker did (labels), its progress page and its file: the merchant's own only
    "bulk_action_detail": Entry(MERCHANT_OBJECT, lambda w: {"pk": w["labels_job"].pk}),
    "bulk_action_labels": Entry(MERCHANT_OBJECT, lambda w: {"pk": w["labels_job"].pk}),
    "order_export": Entry(MERCHANT_PAGE),
    "order_import": Entry(MERCHANT_PAGE),
    "order_import_template": Entry(MERCHANT_PAGE),
    "order_import_detail": Entry(MERCHANT_OBJECT, lambda w: {"pk": w["import"].pk}),
    "order_detail": Entry(MERCHANT_OBJECT, order),
    "order_status_fragment": Entry(MERCHANT_OBJECT, order),  # the order page's pickup block, which live.js polls
    "order_edit": Entry(MERCHANT_OBJECT, order),  # the order is new: its form, prefilled
    "order_ready": Entry(MERCHANT_POST, order, "post"),
    "order_cancel": Entry(MERCHANT_POST, order, "post", {"reason": "Customer changed their mind", "confirm": "on"}),
    "order_collected": Entry(MERCHANT_POST, order, "post"),
    "order_labels": Entry(MERCHANT_OBJECT, order),
    "order_custody_pdf": Entry(MERCHANT_OBJECT, order),
    "order_custody_csv": Entry(MERCHANT_OBJECT, order),
    # the order's merchant's team and program admins only; everyone else 404 (login_required first)
    "order_proof_photo": Entry(
        expect(MERCHANT_OBJECT, admin=200, driver=404, other_driver=404),
        lambda w: {"pk": w["delivered"].pk, "event_pk": w["photo_event"].pk},
    ),
    "webhooks": Entry(OWNER_PAGE),
    "webhook_detail": Entry(OWNER_OBJECT, lambda w: {"pk": w["endpoint"].pk}),
    "webhook_switch": Entry(OWNER_POST, lambda w: {"pk": w["endpoint"].pk}, "post", {"on": "0"}),
    "webhook_rotate_secret": Entry(expect(OWNER_POST, owner=200), lambda w: {"pk": w["endpoint"].pk}, "post"),
    "webhook_test": Entry(OWNER_POST, lambda w: {"pk": w["endpoint"].pk}, "post"),
    "webhook_delete": Entry(OWNER_POST, lambda w: {"pk": w["endpoint"].pk}, "post"),
    "webhook_delivery_resend": Entry(OWNER_POST, lambda w: {"pk": w["delivery"].pk}, "post"),
    # --- driver pages
    "driver_home": Entry(DRIVER_PAGE),
    "driver_offer_accept": Entry(DRIVER_POST, lambda w: {"pk": w["offer"].pk}, "post"),
    "driver_offer_decline": Entry(DRIVER_POST, lambda w: {"pk": w["offer"].pk}, "post"),
    "driver_window": Entry(DRIVER_OBJECT, lambda w: {"pk": w["accepted"].pk}),
    "driver_window_arrive": Entry(DRIVER_POST, lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver_window_pickup": Entry(DRIVER_POST, lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver_window_depart": Entry(DRIVER_POST, lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver_window_release": Entry(DRIVER_POST, lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver_run": Entry(DRIVER_PAGE),
    "driver_order_deliver": Entry(DRIVER_POST, lambda w: {"pk": w["in_care"].pk}, "post"),
    "driver_order_fail": Entry(DRIVER_POST, lambda w: {"pk": w["in_care"].pk}, "post"),
    "driver_returns": Entry(DRIVER_PAGE),
    # --- merchant API
    "store-list": Entry(MERCHANT_API),
    "store-detail": Entry(MERCHANT_API_OBJECT, lambda w: {"pk": w["store"].pk}),
    "store-handoff-code": Entry(MERCHANT_API_OBJECT, lambda w: {"pk": w["store"].pk}),
    "order-list": Entry(MERCHANT_API),
    "order-detail": Entry(MERCHANT_API_OBJECT, order),
    "order-ready": Entry(MERCHANT_API_OBJECT, order, "post"),
    "order-cancel": Entry(MERCHANT_API_OBJECT, order, "post", {"reason": "Customer changed their mind"}),
    "order-collected": Entry(expect(MERCHANT_API_OBJECT, owner=409, staff=409), order, "post"),  # not returned
    "order-events": Entry(MERCHANT_API_OBJECT, order),
    "order-label": Entry(MERCHANT_API_OBJECT, order),
    "order-custody": Entry(MERCHANT_API_OBJECT, order),
    "window-list": Entry(MERCHANT_API),
    "api-quotes": Entry(expect(MERCHANT_API, owner=400, staff=400, other_owner=400), method="post"),  # empty body
    "api-track": Entry(PUBLIC, lambda w: {"tracking_code": w["order"].tracking_code}),
    "webhook-list": Entry(OWNER_API),
    "webhook-events": Entry(OWNER_API),
    "webhook-detail": Entry(OWNER_API_OBJECT, lambda w: {"pk": w["endpoint"].pk}),
    "webhook-deliveries": Entry(OWNER_API_OBJECT, lambda w: {"pk": w["endpoint"].pk}),
    "webhook-rotate-secret": Entry(OWNER_API_OBJECT, lambda w: {"pk": w["endpoint"].pk}, "post"),
    "webhook-test": Entry(expect(OWNER_API_OBJECT, owner=202), lambda w: {"pk": w["endpoint"].pk}, "post"),
    "webhook-delivery-resend": Entry(expect(OWNER_API_OBJECT, owner=202), lambda w: {"pk": w["delivery"].pk}, "post"),
    # --- driver API
    "driver-token": Entry(dict.fromkeys(ACTORS, 400), method="post"),  # a login: no credentials, 400
    "driver-offer-list": Entry(DRIVER_API),
    "driver-offer-accept": Entry(DRIVER_API_OBJECT, lambda w: {"pk": w["offer"].pk}, "post"),
    "driver-offer-decline": Entry(DRIVER_API_OBJECT, lambda w: {"pk": w["offer"].pk}, "post"),
    "driver-window-list": Entry(DRIVER_API),
    "driver-window-detail": Entry(DRIVER_API_OBJECT, lambda w: {"pk": w["accepted"].pk}),
    "driver-window-arrive": Entry(expect(DRIVER_API_OBJECT, driver=409), lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver-window-pickup": Entry(
        expect(DRIVER_API_OBJECT, driver=409), lambda w: {"pk": w["accepted"].pk}, "post", SCAN
    ),
    "driver-window-depart": Entry(expect(DRIVER_API_OBJECT, driver=409), lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver-window-release": Entry(DRIVER_API_OBJECT, lambda w: {"pk": w["accepted"].pk}, "post"),
    "driver-order-deliver": Entry(
        DRIVER_API_OBJECT, lambda w: {"pk": w["in_care"].pk}, "post", {"recipient_name": "Jo"}
    ),
    "driver-order-fail": Entry(DRIVER_API_OBJECT, lambda w: {"pk": w["in_care"].pk}, "post", {"reason": "not_home"}),
    # no failed delivery of that store in their care: 400 naming `store`, for both drivers alike
    "driver-returns": Entry(expect(DRIVER_API, driver=400, other_driver=400), method="post", data=SCAN),
    "driver-run": Entry(DRIVER_API),
}


def routes() -> dict[str, str]:
    """{route name: its pattern} for every named route outside the exclusions, walking nested patterns."""

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.name

    found = {}
    for path, name in walk(get_resolver().url_patterns, ""):
        if path.startswith(EXCLUDED_PREFIXES) or name in EXCLUDED_NAMES:
            continue
        assert name, f"the route {path} has no name: name it, so the isolation matrix can hold it"
        found.setdefault(name, path)
    return found


def test_every_route_has_an_isolation_entry():
    found = routes()
    missing = sorted(set(found) - set(ROUTES))
    assert not missing, "new route(s) with no isolation entry: " + ", ".join(f"{n} ({found[n]})" for n in missing)
    gone = sorted(set(ROUTES) - set(found))
    assert not gone, f"isolation entries for routes that no longer exist: {gone}"


# ---------------------------------------------------------------------------------------------
# The world: merchant A (owner, staff, a store, orders, an API key, a webhook, an import), merchant B,
# driver 1 (an open offer, an accepted pickup, an order in care, one delivered with a photo), driver 2.


def _jpeg() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile("door.jpg", buffer.getvalue(), content_type="image/jpeg")


def _labels_job(owner):
    """A bulk action of labels for all merchant A's orders, done as a worker does it (its file stored)."""
    merchant = owner.membership.merchant
    plan = bulk_plan(orders=Order.objects.filter(merchant=merchant), kind="labels")
    job = bulk_action_start(merchant=merchant, actor=Actor.of_user(owner), plan=plan)
    return bulk_action_run(action_id=job.pk)


def _build():
    owner = MembershipFactory().user
    merchant = owner.membership.merchant
    staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF).user
    other_owner = MembershipFactory().user
    store = StoreFactory(merchant=merchant)
    StoreFactory(merchant=other_owner.membership.merchant, site=store.site)
    driver, other_driver = DriverFactory(), DriverFactory()
    admin = UserFactory(is_staff=True, is_superuser=True)

    # Driver 1 takes a pickup now, collects two orders, delivers one with a photo; the other stays in care.
    done = WindowFactory(site=store.site, starts_at=NOW + timedelta(minutes=90))
    collected = make_orders(store, count=2)
    orders_transition(orders=collected, to=Order.Status.READY, actor=SYSTEM)
    orders_assign(now=NOW - timedelta(hours=1))
    [first_offer] = [o for o in window_offer_wave(window_id=done.pk, now=NOW) if o.driver_id == driver.pk]
    offer_accept(offer=first_offer, driver=driver, now=NOW)
    with time_machine.travel(done.starts_at - timedelta(minutes=5), tick=False):
        actor = Actor.of_driver(driver.user)
        window_arrive(window_id=done.pk, driver_id=driver.pk, actor=actor, now=timezone.now())
        labels = [p.label_code for o in collected for p in o.packages.all()]
        code = store_code(store).code
        visit_collect(
            window_id=done.pk,
            driver_id=driver.pk,
            store_id=store.pk,
            store_code=code,
            label_codes=labels,
            actor=actor,
            now=timezone.now(),
        )
        delivered, in_care = (Order.objects.get(pk=o.pk) for o in collected)
        order_deliver(order=delivered, driver=driver, left_at="front_door", photo=_jpeg())
    photo_event = OrderEvent.objects.get(order=delivered, type="order.delivered")

    # A later pickup driver 1 accepted, and one still offered to them.
    accepted = WindowFactory(site=store.site, starts_at=NOW + timedelta(hours=5))
    offered = WindowFactory(site=store.site, starts_at=NOW + timedelta(hours=8))
    for window in (accepted, offered):
        orders = make_orders(store)
        orders_transition(orders=orders, to=Order.Status.READY, actor=SYSTEM)
        orders_assign(order_ids=[o.pk for o in orders], now=window.starts_at - timedelta(hours=2))
        assert Order.objects.get(pk=orders[0].pk).pickup_window_id == window.pk
    [mine] = [o for o in window_offer_wave(window_id=accepted.pk, now=NOW) if o.driver_id == driver.pk]
    offer_accept(offer=mine, driver=driver, now=NOW)
    [offer] = [o for o in window_offer_wave(window_id=offered.pk, now=NOW) if o.driver_id == driver.pk]

    api_key, owner_key = api_key_create(merchant=merchant, name="Checkout", created_by=owner)
    _, other_key = api_key_create(merchant=other_owner.membership.merchant, name="Theirs", created_by=other_owner)
    endpoint = endpoint_create(
        merchant=merchant, url="https://93.184.215.14/hooks", events=[]
    )  # a public address: no DNS
    delivery = endpoint_test(endpoint=endpoint)
    return {
        "owner": owner,
        "staff": staff,
        "other_owner": other_owner,
        "driver": driver,
        "other_driver": other_driver,
        "admin": admin,
        "store": store,
        "order": make_orders(store)[0],
        "delivered": delivered,
        "photo_event": photo_event,
        "in_care": in_care,
        "accepted": accepted,
        "offer": offer,
        "api_key": api_key,
        "keys": {"owner": owner_key, "other_owner": other_key},
        "tokens": {
            "driver": AuthToken.objects.create(user=driver.user)[1],
            "other_driver": AuthToken.objects.create(user=other_driver.user)[1],
        },
        "endpoint": endpoint,
        "delivery": delivery,
        "import": OrderImport.objects.create(merchant=merchant, created_by=owner, filename="orders.csv", content=""),
        "labels_job": _labels_job(owner),
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back at its end; each test adds a savepoint."""
    with django_db_blocker.unblock(), time_machine.travel(NOW, tick=False), transaction.atomic():
        world = _build()
        world["clients"] = _clients(world)
        yield world
        transaction.set_rollback(True)


def _clients(world) -> dict[tuple[str, bool], Client]:
    """{(actor, API or not): client}: a session on pages; on the API a merchant key, a driver token, or
    (staff and admins have no key) the session. Logged in here, in the module's transaction, so that the
    sessions outlive each test's savepoint."""
    clients = {}
    for actor in ACTORS:
        for api in (False, True):
            client = APIClient() if api else Client()
            if api and actor in world["keys"]:
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['keys'][actor]}")
            elif api and actor in world["tokens"]:
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][actor]}")
            elif actor != "anonymous":
                user = world[actor]
                client.force_login(getattr(user, "user", user))
            clients[actor, api] = client
    return clients


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_each_actor_gets_what_the_matrix_says(world, db, name):
    entry = ROUTES[name]
    url = reverse(name, kwargs=entry.kwargs(world) if entry.kwargs else None)
    data = entry.data(world) if callable(entry.data) else entry.data
    wrong = []
    with time_machine.travel(NOW, tick=False):
        for actor in ACTORS:
            with transaction.atomic():  # what one actor changes, the next one does not see
                client = world["clients"][actor, url.startswith("/api/")]
                response = getattr(client, entry.method)(url, data)
                transaction.set_rollback(True)
            got, wanted = response.status_code, entry.expect[actor]
            if got == LOGIN and actor == "anonymous" and not response["Location"].startswith(reverse("login")):
                got = f"302 to {response['Location']}"
            if got != wanted:
                wrong.append(f"{actor}: {got}, expected {wanted}")
    assert not wrong, f"{entry.method.upper()} {url}: " + "; ".join(wrong)
