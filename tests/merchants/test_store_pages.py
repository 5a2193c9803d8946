from datetime import time

import pytest
from django.urls import reverse

from merchants.models import Merchant, Site, Store
from tests.factories import MembershipFactory, SiteFactory, StoreFactory
from tests.merchants.test_onboarding import store_post

pytestmark = pytest.mark.django_db


def form_errors(response):
    """Every error on the page's forms, by field name."""
    errors = dict(response.context["form"].errors)
    errors.update(response.context["hours_form"].errors)
    for index, closure_errors in enumerate(response.context["closures"].errors):
        errors.update({f"closures-{index}-{name}": value for name, value in closure_errors.items()})
    return errors


def test_store_in_a_mall_takes_the_malls_site(owner_client, merchant):
    mall = SiteFactory(name="Fashion Show Las Vegas", timezone="America/Los_Angeles", postal_code="89109")

    response = owner_client.post(reverse("store_create"), store_post(mall=str(mall.pk), unit="2215", postal_code=""))

    assert response.status_code == 302
    store = Store.objects.get(merchant=merchant)
    assert store.site == mall and store.unit == "2215"
    assert Site.objects.count() == 1


def test_editing_a_store_replaces_its_hours_and_closures(owner_client, merchant):
    store = StoreFactory(merchant=merchant)

    response = owner_client.post(
        reverse("store_edit", args=[store.pk]),
        store_post(mall=str(store.site.pk), name="Renamed", saturday_opens="", saturday_closes=""),
    )

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.name == "Renamed"
    assert sorted(h.weekday for h in store.opening_hours.all()) == [0, 1, 2, 3, 4]
    assert store.opening_hours.get(weekday=0).opens == time(9)
    assert store.closures.count() == 1


def test_edit_page_shows_the_current_values(owner_client, merchant):
    store = StoreFactory(merchant=merchant, hours={2: (time(8, 30), time(17))})

    page = owner_client.get(reverse("store_edit", args=[store.pk])).content.decode()

    assert 'value="08:30"' in page and 'value="17:00"' in page
    assert store.name in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"monday_opens": "18:00", "monday_closes": "09:00"}, "monday_closes", "closing time must be after"),
        ({"tuesday_opens": "09:00", "tuesday_closes": ""}, "tuesday_closes", "Give both times for Tuesday"),
        ({"postal_code": "00000"}, "postal_code", "We don't know the ZIP code"),
        ({"postal_code": "85A26"}, "postal_code", "We don't know the ZIP code"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Select a valid choice"),
        ({"city": ""}, "city", "Needed when the store is not in one of our malls"),
        ({"latitude": "33.3"}, "longitude", "Give both coordinates"),
        ({"service_radius_miles": "120"}, "service_radius_miles", "less than or equal to 50"),
        ({"closures-0-date": "2026-13-40"}, "closures-0-date", "Enter a valid date"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(owner_client, changes, field, message):
    response = owner_client.post(reverse("store_create"), store_post(**changes))

    assert response.status_code == 200
    errors = form_errors(response)
    assert message in " ".join(errors[field]), errors
    assert not Store.objects.exists()
    assert not Site.objects.exists()


def test_every_problem_is_summarised_at_the_top_with_a_link_to_its_field(owner_client):
    data = store_post(
        name="", city="", monday_opens="18:00", monday_closes="09:00", **{"closures-0-date": "2026-13-40"}
    )

    response = owner_client.post(reverse("store_create"), data)

    assert response.context["problems"] == [
        ("id_name", "Name: This field is required."),
        ("id_city", "City: Needed when the store is not in one of our malls."),
        ("id_monday_closes", "Monday closes: On Monday the closing time must be after the opening time."),
        ("id_closures-0-date", "Closure 1 date: Enter a valid date."),
    ]
    page = response.content.decode()
    assert page.index('class="error-summary"') < page.index('id="id_name"')
    assert '<a href="#id_closures-0-date">Closure 1 date: Enter a valid date.</a>' in page
    assert owner_client.get(reverse("store_create")).context["problems"] == []


def test_every_closure_field_has_a_label(owner_client, merchant):
    store = StoreFactory(merchant=merchant)
    store.closures.create(date="2027-12-25", reason="Christmas Day")

    page = owner_client.get(reverse("store_edit", args=[store.pk])).content.decode()

    for name in ("closures-0-date", "closures-0-reason", "closures-0-DELETE", "closures-1-date", "closures-2-reason"):
        assert f'for="id_{name}"' in page, name
    assert 'Remove<span class="sr-only"> the closure on Dec 25, 2027</span>' in page


def test_a_week_without_any_hours_is_refused(owner_client):
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    closed = {f"{day}_{end}": "" for day in days for end in ("opens", "closes")}

    response = owner_client.post(reverse("store_create"), store_post(**closed))

    assert "at least one day" in str(response.context["hours_form"].non_field_errors())
    assert not Store.objects.exists()


def test_an_unknown_zip_with_coordinates_and_zone_is_accepted(owner_client):
    response = owner_client.post(
        reverse("store_create"),
        store_post(postal_code="00000", latitude="33.30", longitude="-111.84", timezone="America/Phoenix"),
    )

    assert response.status_code == 302
    assert Store.objects.get().site.timezone == "America/Phoenix"


def test_the_same_closure_date_twice_is_refused(owner_client):
    data = store_post(**{"closures-TOTAL_FORMS": "2", "closures-1-date": "2026-12-25", "closures-1-reason": "again"})

    response = owner_client.post(reverse("store_create"), data)

    assert response.status_code == 200
    assert "duplicate" in str(response.context["closures"].non_form_errors()).lower()
    assert not Store.objects.exists()


@pytest.mark.parametrize("status", [Merchant.Status.PENDING, Merchant.Status.SUSPENDED])
def test_a_merchant_not_approved_cannot_add_stores(client, status):
    member = MembershipFactory(merchant__status=status, merchant__status_reason="Unpaid invoices")
    client.force_login(member.user)

    page = client.get(reverse("store_create"), follow=True).content.decode()
    client.post(reverse("store_create"), store_post())

    assert "cannot add stores" in page
    assert not Store.objects.exists()


def test_another_merchants_store_is_not_found(owner_client):
    theirs = StoreFactory(name="Their store")

    assert owner_client.get(reverse("store_edit", args=[theirs.pk])).status_code == 404
    assert owner_client.post(reverse("store_edit", args=[theirs.pk]), store_post(name="Mine now")).status_code == 404
    assert "Their store" not in owner_client.get(reverse("store_list")).content.decode()
    theirs.refresh_from_db()
    assert theirs.name == "Their store"


@pytest.mark.parametrize("name", ["dashboard", "store_list", "store_create", "team"])
def test_anonymous_visitors_are_sent_to_login(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_store_edit_is_sent_to_login(client):
    response = client.get(reverse("store_edit", args=[StoreFactory().pk]))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_login_without_a_merchant_gets_403(client):
    admin = MembershipFactory().user
    admin.membership.delete()
    client.force_login(admin)

    response = client.get(reverse("store_list"))

    assert response.status_code == 403
    assert "does not belong to a merchant" in response.content.decode()


@pytest.mark.parametrize("count", [2, 20])
def test_the_store_list_runs_a_constant_number_of_queries(owner_client, merchant, count, django_assert_num_queries):
    mall = SiteFactory()
    for store in StoreFactory.create_batch(count, merchant=merchant, site=mall):
        store.closures.create(date="2026-12-25")

    # session, user, membership with merchant, stores with sites, their hours, their closures
    with django_assert_num_queries(6):
        response = owner_client.get(reverse("store_list"))

    assert response.status_code == 200
    assert len(response.context["stores"]) == count
