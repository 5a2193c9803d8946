"""Store codes: 6 digits from the store's own TOTP secret, new every 5 minutes; the current and previous accepted."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from merchants.handoff_codes import STEP_SECONDS, store_code, store_code_is_valid
from merchants.models import Store
from merchants.services import api_key_create
from tests.factories import DriverFactory, MerchantFactory, SiteFactory, StoreFactory
from tests.merchants.test_onboarding import store_post

pytestmark = pytest.mark.django_db

# RFC 4226 appendix D's secret, "12345678901234567890" in base32: its HOTP values are published.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
OTHER_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
MONDAY = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)  # on a 5-minute mark
STEP = timedelta(seconds=STEP_SECONDS)


def a_store(secret=RFC_SECRET):
    """An unsaved store: the codes are pure functions of its secret and the time."""
    return Store(handoff_secret=secret)


def handoff_code_url(store):
    return f"/api/v1/stores/{store.pk}/handoff-code/"


def test_codes_are_rfc_6238_totp_with_a_5_minute_step():
    # RFC 4226's published HOTP values for counters 1 and 2: TOTP's time step is floor(unix time / 300)
    store = a_store()

    assert store_code(store, at=datetime(1970, 1, 1, 0, 5, tzinfo=UTC)).code == "287082"
    assert store_code(store, at=datetime(1970, 1, 1, 0, 9, 59, tzinfo=UTC)).code == "287082"
    assert store_code(store, at=datetime(1970, 1, 1, 0, 10, tzinfo=UTC)).code == "359152"


def test_the_code_is_6_digits_and_changes_every_5_minutes():
    store = a_store()

    with time_machine.travel(MONDAY + timedelta(minutes=2, seconds=30), tick=False) as traveller:
        first = store_code(store)
        traveller.move_to(MONDAY + timedelta(minutes=4, seconds=59))
        same = store_code(store)
        traveller.move_to(MONDAY + timedelta(minutes=5))
        second = store_code(store)

    assert re.fullmatch(r"[0-9]{6}", first.code) and re.fullmatch(r"[0-9]{6}", second.code)
    assert same == first
    assert first.valid_until == MONDAY + STEP and first.accepted_until == MONDAY + 2 * STEP
    assert first.valid_until.utcoffset() == timedelta(0)
    assert second.code != first.code
    assert second.valid_until == MONDAY + 2 * STEP and second.accepted_until == MONDAY + 3 * STEP


def test_the_previous_code_is_accepted_but_not_one_two_steps_old():
    store = a_store()

    with time_machine.travel(MONDAY + timedelta(minutes=1), tick=False) as traveller:
        code = store_code(store).code
        assert store_code_is_valid(store, code)
        traveller.move_to(MONDAY + STEP)  # the next code is on the screen
        assert store_code(store).code != code
        assert store_code_is_valid(store, code)
        traveller.move_to(MONDAY + 2 * STEP - timedelta(seconds=1))
        assert store_code_is_valid(store, code)
        traveller.move_to(MONDAY + 2 * STEP)  # two steps old
        assert not store_code_is_valid(store, code)


def test_the_next_code_is_refused():
    store = a_store()
    current, upcoming = store_code(store, at=MONDAY).code, store_code(store, at=MONDAY + STEP).code
    assert upcoming not in {current, store_code(store, at=MONDAY - STEP).code}

    with time_machine.travel(MONDAY + STEP - timedelta(seconds=1), tick=False):
        assert store_code_is_valid(store, current)
        assert not store_code_is_valid(store, upcoming)


def test_spaces_in_a_typed_code_are_ignored():
    store = a_store()
    code = store_code(store, at=MONDAY).code

    assert store_code_is_valid(store, f" {code[:3]} {code[3:]} ", at=MONDAY)


def test_garbage_is_refused():
    store = a_store()
    code = store_code(store, at=MONDAY).code
    arabic_indic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))

    for typed in ["", "   ", "abc", "abcdef", "12345", "1234567", f"{code}0", code[:5], arabic_indic, None, 123456]:
        assert not store_code_is_valid(store, typed, at=MONDAY), typed


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        store_code(a_store(), at=datetime(2027, 1, 4, 17, 0))  # noqa: DTZ001


def test_two_stores_have_different_codes_at_the_same_instant():
    ours, theirs = a_store(RFC_SECRET), a_store(OTHER_SECRET)

    with time_machine.travel(MONDAY, tick=False):
        assert store_code(ours).code != store_code(theirs).code
        assert not store_code_is_valid(theirs, store_code(ours).code)


def test_every_new_store_gets_its_own_secret():
    merchant = MerchantFactory()
    stores = [*StoreFactory.create_batch(3), Store.objects.create(merchant=merchant, site=SiteFactory(), name="Plain")]

    secrets = [Store.objects.get(pk=store.pk).handoff_secret for store in stores]
    assert len(set(secrets)) == len(secrets)
    assert all(re.fullmatch(r"[A-Z2-7]{32}", secret) for secret in secrets)


@pytest.fixture
def clock():
    """Stopped at MONDAY before any login is made, so sessions and tokens are fresh then."""
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture(params=["member", "api_key"])
def merchant_api(request, clock, owner, merchant):
    """The merchant's API, as a logged-in member or with an API key."""
    api = APIClient()
    if request.param == "member":
        api.force_login(owner)
    else:
        _, raw = api_key_create(merchant=merchant, name="Counter screen", created_by=owner)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_the_merchant_gets_its_store_code(merchant_api, merchant, clock):
    store = StoreFactory(merchant=merchant)
    clock.move_to(MONDAY + timedelta(minutes=7, seconds=12))

    response = merchant_api.get(handoff_code_url(store))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    valid_until = datetime.fromisoformat(body["valid_until"])
    assert body["code"] == store_code(store).code
    assert valid_until == MONDAY + 2 * STEP
    assert valid_until.timestamp() % STEP_SECONDS == 0
    assert datetime.fromisoformat(body["accepted_until"]) == valid_until + STEP
    assert store_code_is_valid(store, body["code"], at=valid_until + STEP - timedelta(seconds=1))


def test_another_merchants_store_code_is_not_found(merchant_api):
    theirs = StoreFactory()

    response = merchant_api.get(handoff_code_url(theirs))

    assert response.status_code == 404
    assert store_code(theirs).code not in response.content.decode()


def test_a_driver_cannot_see_a_store_code(clock):
    store = StoreFactory()
    _, token = AuthToken.objects.create(user=DriverFactory().user)
    driver_api = APIClient()
    driver_api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = driver_api.get(handoff_code_url(store))

    assert response.status_code in (403, 404)
    assert store_code(store).code not in response.content.decode()


def test_anonymous_gets_401(clock):
    store = StoreFactory()

    response = APIClient().get(handoff_code_url(store))

    assert response.status_code == 401
    assert store_code(store).code not in response.content.decode()


def test_the_store_api_never_shows_the_secret(merchant_api, merchant):
    store = StoreFactory(merchant=merchant)

    detail = merchant_api.get(f"/api/v1/stores/{store.pk}/").content.decode()
    listing = merchant_api.get("/api/v1/stores/").content.decode()

    assert store.handoff_secret not in detail and store.handoff_secret not in listing
    assert "handoff_secret" not in detail


def test_the_schema_documents_the_store_code(client):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/stores/{id}/handoff-code/"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    assert set(properties) == {"code", "valid_until", "accepted_until"}


def test_the_store_form_saves_text_on_arrival(owner_client, merchant):
    store = StoreFactory(merchant=merchant)
    edit = reverse("store_edit", args=[store.pk])

    assert 'name="text_on_arrival"' in owner_client.get(edit).content.decode()
    checked = owner_client.post(edit, store_post(mall=str(store.site.pk), text_on_arrival="on"))
    store.refresh_from_db()
    assert checked.status_code == 302 and store.text_on_arrival

    unchecked = owner_client.post(edit, store_post(mall=str(store.site.pk)))
    store.refresh_from_db()
    assert unchecked.status_code == 302 and not store.text_on_arrival
