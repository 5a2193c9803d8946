"""CSV import (all or nothing, errors by line and column, limits) and export (formula-safe)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from merchants.models import Merchant
from pickups import csv_orders
from pickups.models import Order, OrderImport
from tests.factories import MembershipFactory, SiteFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db


def csv_text(rows, columns=csv_orders.IMPORT_COLUMNS):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def row(**changes):
    return csv_orders.EXAMPLE_ROW | changes


def upload(client, text, name="orders.csv", capture=None):
    data = {"file": SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, "text/csv")}
    if capture is None:
        return client.post(reverse("order_import"), data, follow=True)
    with capture(execute=True):
        return client.post(reverse("order_import"), data, follow=True)


def test_the_template_imports_as_it_is(owner_client, store, django_capture_on_commit_callbacks):
    template = owner_client.get(reverse("order_import_template"))
    assert template["Content-Type"] == "text/csv"

    upload(owner_client, template.content.decode(), capture=django_capture_on_commit_callbacks)

    job = OrderImport.objects.get()
    response = owner_client.get(reverse("order_import_detail", args=[job.pk]))
    assert job.status == "succeeded" and job.created_count == 1 and job.checked_rows == job.total_rows == 1
    assert "1 order created" in response.content.decode()
    order = Order.objects.get()
    assert order.external_id == "WEB-1001" and order.store == store
    assert [(p.weight_lb, p.length_in) for p in order.packages.all()] == [(2.5, 12), (4, 10)]
    assert order.created_by.membership.merchant == store.merchant
    assert order.events.get().actor == order.created_by


def test_one_bad_line_means_nothing_is_imported_and_every_problem_is_listed(
    owner_client, store, django_capture_on_commit_callbacks
):
    rows = [
        row(external_id="A-1"),
        row(external_id="A-2", postal_code="852"),
        row(external_id="A-3", store="Nowhere Shop"),
        row(external_id="A-1"),
        row(external_id="A-5", city="Las Vegas", state="NV", postal_code="89109"),
        row(external_id="A-6", dimensions_in="12x8"),
        row(external_id="A-7", weights_lb="2; 80", dimensions_in=""),
    ]

    upload(owner_client, csv_text(rows), capture=django_capture_on_commit_callbacks)
    response = owner_client.get(reverse("order_import_detail", args=[OrderImport.objects.get().pk]))

    assert not Order.objects.exists()
    job = OrderImport.objects.get()
    assert job.status == "failed" and job.created_count == 0
    problems = {(p["row"], p["column"]) for p in job.errors}
    assert problems == {
        (3, "postal_code"),
        (4, "store"),
        (5, "external_id"),
        (6, "postal_code"),  # 268.5 miles away: the ZIP code places the customer
        (7, "dimensions_in"),
        (8, "weights_lb"),
    }
    page = response.content.decode()
    assert "Nothing was imported" in page and "You have no store named “Nowhere Shop”" in page
    assert "we carry packages up to 50 lb" in page
    # a red bar that says so, not a progress bar filled green
    assert '<p class="result-bar failed"><strong id="import-status">Not imported</strong></p>' in page
    assert "<progress" not in page


def test_the_templates_example_line_is_for_the_merchants_own_store(owner_client, merchant):
    # given a merchant whose only store is in Las Vegas, not the Chandler store of our example
    site = SiteFactory(name="Fashion Show", city="Las Vegas", state="NV", postal_code="89109")
    StoreFactory(merchant=merchant, site=site, name="Neon Threads Fashion Show")

    # when
    template = owner_client.get(reverse("order_import_template")).content.decode()
    page = owner_client.get(reverse("order_import")).content.decode()

    # then the example names that store and its town, and the import page lists the store names to use
    [example] = csv.DictReader(io.StringIO(template))
    assert (example["store"], example["city"], example["state"], example["postal_code"]) == (
        "Neon Threads Fashion Show",
        "Las Vegas",
        "NV",
        "89109",
    )
    assert "“Neon Threads Fashion Show”" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00b\x00a\x00d", "not UTF-8 text"),
        ("store,external_id\nDesert Bloom Chandler,X-1\n", "lacks the column(s)"),
        (",".join(csv_orders.IMPORT_COLUMNS) + "\n", "has no orders"),
        (b"x" * (csv_orders.MAX_IMPORT_BYTES + 10), "upload at most 2 MB"),
    ],
)
def test_a_file_we_cannot_read_is_refused_at_once(owner_client, store, content, message):
    response = upload(owner_client, content)

    assert message in " ".join(response.context["form"].errors["file"])
    assert not OrderImport.objects.exists()


def test_the_row_limit(owner_client, store, monkeypatch):
    monkeypatch.setattr(csv_orders, "MAX_IMPORT_ROWS", 3)

    response = upload(owner_client, csv_text([row(external_id=f"L-{n}") for n in range(4)]))

    assert "The file has 4 orders; upload at most 3" in str(response.context["form"].errors["file"])


def test_a_pending_merchant_cannot_import(client, django_capture_on_commit_callbacks):
    member = MembershipFactory(merchant__status=Merchant.Status.PENDING)
    client.force_login(member.user)

    response = upload(client, csv_text([row()]))

    assert "waiting for approval" in response.content.decode()
    assert not OrderImport.objects.exists()


def test_the_progress_endpoint_and_tenancy(owner_client, store):
    job = OrderImport.objects.create(merchant=store.merchant, filename="a.csv", content="", total_rows=200)
    OrderImport.objects.filter(pk=job.pk).update(checked_rows=50, status="running")
    theirs = OrderImport.objects.create(merchant=MembershipFactory().merchant, filename="b.csv", content="")

    state = owner_client.get(reverse("order_import_detail", args=[job.pk]), HTTP_ACCEPT="application/json").json()

    assert state == {"status": "running", "percent": 25, "checked_rows": 50, "total_rows": 200}
    assert owner_client.get(reverse("order_import_detail", args=[theirs.pk])).status_code == 404


def test_a_retried_import_task_creates_the_orders_once(owner_client, store, django_capture_on_commit_callbacks):
    from pickups.services import order_import_run

    upload(owner_client, csv_text([row()]), capture=django_capture_on_commit_callbacks)

    order_import_run(import_id=OrderImport.objects.get().pk)

    assert Order.objects.count() == 1


def test_a_lost_import_task_is_resumed_by_the_sweep(owner_client, store):
    from datetime import timedelta

    import time_machine

    from pickups.tasks import resume_stuck_imports

    upload(owner_client, csv_text([row()]))  # on_commit not run: the task never reached a worker
    job = OrderImport.objects.get()
    assert job.status == "queued"

    with time_machine.travel(job.created_at + timedelta(minutes=6)):
        assert resume_stuck_imports() == 1

    job.refresh_from_db()
    assert job.status == "succeeded" and Order.objects.count() == 1


class TestExport:
    def test_exports_the_filtered_list_with_formulas_defused(self, owner_client, store):
        [evil] = make_orders(store, customer_name='=HYPERLINK("http://x")', notes="@SUM(A1)")
        [plain] = make_orders(store, customer_name="Pat Nguyen")
        owner_client.post(reverse("order_ready", args=[plain.pk]))
        make_orders(StoreFactory())  # another merchant's

        response = owner_client.get(reverse("order_export"), {"status": "created"})

        assert response["Content-Type"] == "text/csv"
        lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [line["tracking_code"] for line in lines] == [evil.tracking_code]
        assert lines[0]["customer_name"].startswith("'=")
        assert lines[0]["notes"] == "'@SUM(A1)"
        assert lines[0]["label_codes"] == f"{evil.tracking_code}01"

    def test_an_export_imports_back(self, owner_client, store, django_capture_on_commit_callbacks):
        [order] = make_orders(store, packages=2)
        exported = b"".join(owner_client.get(reverse("order_export")).streaming_content).decode()
        Order.objects.filter(pk=order.pk).update(external_id="OLD")

        upload(owner_client, exported, capture=django_capture_on_commit_callbacks)

        job = OrderImport.objects.get()
        assert job.status == "succeeded", job.errors
        assert Order.objects.get(external_id=order.external_id).packages.count() == 2

    def test_anonymous_visitors_go_to_login(self, client):
        for name in ("order_export", "order_import", "order_import_template"):
            response = client.get(reverse(name))
            assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_extra_cells_are_a_problem_of_that_line_not_a_crash(owner_client, store, django_capture_on_commit_callbacks):
    text = csv_text([row()]) + ",,,,,,,,,,,,,,,,x\n" + csv_text([row(external_id="B-2")]).splitlines()[1] + ",surplus\n"

    upload(owner_client, text, capture=django_capture_on_commit_callbacks)

    job = OrderImport.objects.get()
    assert job.status == "failed"
    # no column of the file: the line as a whole
    assert {(p["row"], p["column"]) for p in job.errors if "more cells" in p["message"]} == {(3, ""), (4, "")}


def test_a_cell_too_large_for_csv_is_refused_at_once(owner_client, store):
    response = upload(owner_client, csv_text([row(notes="n" * 200_000)]))

    assert "is not valid CSV" in str(response.context["form"].errors["file"])
