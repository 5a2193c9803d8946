"""Security hardening: password guessing locked out (portal, admin, driver token API), one rule for client
addresses behind proxies, the public tracking pages throttled like the API, and the Content-Security-Policy."""

import base64
import hashlib
import random
import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from common.clients import client_address
from pickups.models import OrderImport
from tests.factories import PASSWORD, DriverFactory, StoreFactory, UserFactory, make_orders

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def axes_on(settings):
    """The suite runs without django-axes (the test client's login() passes no request); these tests need it."""
    settings.AXES_ENABLED = True


def random_address():
    return f"{random.randint(1, 223)}.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def portal_login(client, username, password, **headers):
    return client.post(LOGIN, {"username": username, "password": password}, **headers)


class TestPortalLogin:
    def test_the_fifth_wrong_password_locks_the_account_from_that_client_with_a_friendly_page(self, client, owner):
        wrong = [portal_login(client, owner.email, f"guess-{n}") for n in range(4)]
        locked = portal_login(client, owner.email, "guess-4")

        assert [r.status_code for r in wrong] == [200] * 4
        assert locked.status_code == 429
        assert {"registration/locked_out.html", "base.html"} <= {t.name for t in locked.templates}
        page = locked.content.decode()
        assert "Login paused for 15 minutes" in page and "ask the program team to lift the lock" in page
        assert locked["Retry-After"] == "900"

    def test_a_locked_account_stays_locked_from_that_client_even_with_the_right_password(self, client, owner):
        for n in range(5):
            portal_login(client, owner.email, f"guess-{n}")

        response = portal_login(client, owner.email, PASSWORD)

        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_the_owner_still_logs_in_from_another_client(self, client, owner):
        for n in range(5):
            portal_login(client, owner.email, f"guess-{n}", REMOTE_ADDR="203.0.113.9")

        response = portal_login(client, owner.email, PASSWORD, REMOTE_ADDR="198.51.100.20")

        assert response.status_code == 302

    def test_a_fresh_x_forwarded_for_is_not_a_fresh_client(self, client, owner):
        statuses = [
            portal_login(client, owner.email, f"guess-{n}", HTTP_X_FORWARDED_FOR=random_address()).status_code
            for n in range(6)
        ]

        assert statuses == [200] * 4 + [429] * 2
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}

    def test_the_lock_lifts_after_the_cool_off(self, client, owner):
        for n in range(5):
            portal_login(client, owner.email, f"guess-{n}")

        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            response = portal_login(client, owner.email, PASSWORD)

        assert response.status_code == 302

    def test_a_right_password_clears_earlier_typos(self, client, owner):
        for n in range(4):
            portal_login(client, owner.email, f"typo-{n}")
        assert portal_login(client, owner.email, PASSWORD).status_code == 302
        client.post("/accounts/logout/")

        statuses = [portal_login(client, owner.email, f"typo-{n}").status_code for n in range(4)]

        assert statuses == [200] * 4


def test_the_admin_login_is_locked_out_too(client):
    UserFactory(username="ops", email="ops@program.example", is_staff=True, is_superuser=True)
    for n in range(5):
        last = client.post(ADMIN_LOGIN, {"username": "ops", "password": f"guess-{n}"})

    response = client.post(ADMIN_LOGIN, {"username": "ops", "password": PASSWORD})

    assert last.status_code == 429 and response.status_code == 429
    assert "Login paused" in response.content.decode()


class TestDriverToken:
    def test_a_locked_out_driver_gets_a_json_429_with_the_reason_and_no_token(self, driver):
        api = APIClient()
        guesses = [api.post(TOKEN, {"username": driver.user.username, "password": f"guess-{n}"}) for n in range(5)]

        right = api.post(TOKEN, {"username": driver.user.username, "password": PASSWORD})

        assert [r.status_code for r in guesses] == [400] * 4 + [429]
        for response in (guesses[-1], right):
            assert response.status_code == 429 and response["Content-Type"] == "application/json"
            assert response["Retry-After"] == "900"
            assert "Too many failed logins" in response.json()["detail"]
        assert not AuthToken.objects.exists()

    def test_a_lockout_holds_at_every_door(self, client, driver):
        for n in range(5):
            portal_login(client, driver.user.username, f"guess-{n}")

        api = APIClient().post(TOKEN, {"username": driver.user.username, "password": PASSWORD})
        admin = client.post(ADMIN_LOGIN, {"username": driver.user.username, "password": PASSWORD})

        assert api.status_code == 429 and admin.status_code == 429
        assert not AuthToken.objects.exists()

    def test_json_logins_are_locked_out_too(self, driver):
        api = APIClient()
        body = {"username": driver.user.username, "password": "guess"}

        statuses = [api.post(TOKEN, body, format="json").status_code for _ in range(6)]

        assert statuses == [400] * 4 + [429] * 2

    def test_a_good_login_is_recorded_and_clears_typos(self, driver):
        api = APIClient()
        for n in range(4):
            api.post(TOKEN, {"username": driver.user.username, "password": f"typo-{n}"})

        assert api.post(TOKEN, {"username": driver.user.username, "password": PASSWORD}).status_code == 200
        assert not AccessAttempt.objects.filter(username=driver.user.username).exists()

    def test_guesses_with_random_x_forwarded_for_hit_the_login_throttle(self):
        # A new account each time, so it is LOGIN_RATE_LIMIT (10/minute per client) that answers, not a lockout.
        api = APIClient()
        statuses = [
            api.post(
                TOKEN, {"username": f"driver{n}", "password": "guess"}, HTTP_X_FORWARDED_FOR=random_address()
            ).status_code
            for n in range(40)
        ]

        assert statuses == [400] * 10 + [429] * 30


class TestLockoutsInTheAdmin:
    @pytest.fixture
    def staff(self, client):
        user = UserFactory(username="ops", email="ops@program.example", is_staff=True)
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="axes", codename__in=["view_accessattempt", "delete_accessattempt"]
            )
        )
        return user

    def test_staff_see_a_lockout_and_lift_it(self, client, owner, staff):
        for n in range(5):
            portal_login(client, owner.email, f"guess-{n}")
        client.force_login(staff)

        listing = client.get("/admin/axes/accessattempt/?locked_out=yes")

        assert listing.status_code == 200
        assert owner.email in listing.content.decode()
        attempt = AccessAttempt.objects.get(username=owner.email)
        lifted = client.post(
            "/admin/axes/accessattempt/",
            {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
        )
        assert lifted.status_code == 302
        client.logout()
        assert portal_login(client, owner.email, PASSWORD).status_code == 302


class TestClientAddress:
    @pytest.mark.parametrize(
        ("proxies", "forwarded", "expected"),
        [
            (0, None, "10.0.0.1"),
            (0, "203.0.113.7", "10.0.0.1"),
            (1, None, "10.0.0.1"),
            (1, "203.0.113.7", "203.0.113.7"),
            (1, "198.51.100.66, 203.0.113.7", "203.0.113.7"),  # the client wrote the first one itself
            (2, "198.51.100.66, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
            (2, "203.0.113.7", "203.0.113.7"),
        ],
    )
    def test_one_rule_for_pages_lockouts_and_drf_throttles(self, settings, proxies, forwarded, expected):
        settings.TRUSTED_PROXY_COUNT = proxies
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
        headers = {"REMOTE_ADDR": "10.0.0.1"} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
        request = RequestFactory().get("/", **headers)

        assert client_address(request) == expected
        assert BaseThrottle().get_ident(request) == expected

    def test_a_forwarded_value_that_is_not_an_address_falls_back_to_the_peer(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="'; drop table")

        assert client_address(request) == "10.0.0.1"


class TestTrackingThrottle:
    @pytest.fixture(autouse=True)
    def ten_a_minute(self, monkeypatch):
        # DRF's throttles read their rates once, at import: lower the shared table for these tests.
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "tracking", "10/minute")

    def test_api_guesses_with_random_x_forwarded_for_get_429_after_the_limit(self):
        api = APIClient()
        statuses = [
            api.get(f"/api/v1/track/GUESS{n:07d}/", HTTP_X_FORWARDED_FOR=random_address()).status_code
            for n in range(40)
        ]

        assert statuses == [404] * 10 + [429] * 30

    def test_page_guesses_with_random_x_forwarded_for_get_a_friendly_429_after_the_limit(self, client):
        responses = [client.get(f"/track/GUESS{n:07d}/", HTTP_X_FORWARDED_FOR=random_address()) for n in range(40)]

        assert [r.status_code for r in responses] == [404] * 10 + [429] * 30
        assert responses[0].templates[0].name == "pickups/tracking_unknown.html"
        over = responses[-1]
        assert over.templates[0].name == "429.html" and "please wait" in over.content.decode()
        assert 0 < int(over["Retry-After"]) <= 60

    def test_the_page_its_stop_link_and_the_api_share_one_budget(self, client):
        [order] = make_orders(StoreFactory())
        code = order.tracking_code

        statuses = [client.get(f"/track/{code}/").status_code for _ in range(4)]
        statuses += [client.get(f"/track/{code}/stop/").status_code for _ in range(3)]
        statuses += [APIClient().get(f"/api/v1/track/{code}/").status_code for _ in range(3)]

        assert statuses == [200] * 10
        assert client.get(f"/track/{code}/").status_code == 429
        assert client.post(f"/track/{code}/stop/").status_code == 429
        assert APIClient().get(f"/api/v1/track/{code}/").status_code == 429

    def test_behind_a_declared_proxy_each_forwarded_client_has_its_own_budget(self, client, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        for n in range(10):
            client.get(f"/track/GUESS{n:07d}/", HTTP_X_FORWARDED_FOR="203.0.113.7")

        assert client.get("/track/GUESS0000010/", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
        assert client.get("/track/GUESS0000010/", HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 404
        api = APIClient()
        assert api.get("/api/v1/track/GUESS0000010/", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
        assert api.get("/api/v1/track/GUESS0000010/", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 404


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def inline_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)


class TestContentSecurityPolicy:
    @pytest.mark.parametrize("path", [LOGIN, ADMIN_LOGIN, "/api/docs/", "/signup/", "/track/NOSUCHCODE12/"])
    def test_every_page_carries_the_policy(self, client, path):
        policy = csp_of(client.get(path))

        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert "'unsafe-inline'" not in policy["style-src"]

    def test_pages_behind_a_login_too(self, client, owner):
        driver = DriverFactory()
        client.force_login(driver.user)
        assert "script-src" in csp_of(client.get("/driver/"))
        client.force_login(owner)
        assert "script-src" in csp_of(client.get("/dashboard/"))

    def test_the_portals_inline_scripts_are_allowed_by_their_hashes(self, client, owner):
        store = StoreFactory(merchant=owner.membership.merchant)
        job = OrderImport.objects.create(merchant=store.merchant, created_by=owner, filename="orders.csv", content="")
        client.force_login(owner)

        for path in ("/orders/new/", f"/orders/import/{job.pk}/"):
            response = client.get(path)
            scripts = inline_scripts(response.content.decode())
            assert scripts, path
            for script in scripts:
                assert inline_hash(script) in csp_of(response)["script-src"], f"{path}: add {inline_hash(script)}"

    def test_the_api_docs_load_their_script_from_the_server_and_allow_exactly_their_inline_style(self, client):
        response = client.get("/api/docs/")
        html = response.content.decode()

        assert inline_scripts(html) == []
        assert '<script src="/api/docs/?script="></script>' in html
        [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
        policy = csp_of(response)
        assert policy["style-src"] == ["'self'", inline_hash(style)]
        assert policy["img-src"] == ["'self'", "data:"]
        script = client.get("/api/docs/?script=")
        assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
