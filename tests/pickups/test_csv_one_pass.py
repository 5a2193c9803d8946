"""A failed CSV import lists every problem at once, lines' and packages' alike, each under the file's own
column, so that fixing what it lists is enough; and its page never shows a full bar before the end."""

import csv
import io

import pytest
from django.urls import reverse

from pickups import csv_orders
from pickups.models import Order, OrderImport
from tests.pickups.test_csv import csv_text, row, upload

pytestmark = pytest.mark.django_db

# Each line breaks its format (a cell that cannot be read) and a rule (what the program refuses) at once.
BROKEN = [
    row(external_id="A-1", store="Nowhere Shop", weights_lb="2; 80"),
    row(external_id="A-2", weights_lb="abc; 80", dimensions_in=""),
    row(external_id="A-3", customer_phone="", weights_lb="60", dimensions_in="12x8x99"),
    row(external_id="", postal_code="99999"),
    row(external_id="A-5", latitude="abc", longitude="", city="Las Vegas", state="NV", postal_code="89109"),
    row(external_id="A-6", weights_lb=""),
    row(external_id="A-7", store="", postal_code="99999"),
    row(external_id="A-1", postal_code="8"),
    row(external_id="A-9", weights_lb="; ".join(["1"] * 21), dimensions_in=""),
]
EXPECTED = [
    (2, "store", "You have no store named “Nowhere Shop”."),
    (2, "weights_lb", "Package 2 weighs 80 lb; we carry packages up to 50 lb."),
    (3, "weights_lb", "Package 1: A valid number is required."),
    (3, "weights_lb", "Package 2 weighs 80 lb; we carry packages up to 50 lb."),
    (4, "customer_phone", "This field may not be blank."),
    (4, "weights_lb", "Package 1 weighs 60 lb; we carry packages up to 50 lb."),
    (4, "dimensions_in", "Package 1: each side must be more than 0 and at most 48 inches."),
    (5, "external_id", "This field may not be blank."),
    (5, "postal_code", "We don't know the ZIP code “99999”. Check it."),
    (6, "postal_code", "The address is 268.5 miles from Desert Bloom Chandler; this store delivers within 10 miles."),
    (6, "latitude", "A valid number is required."),
    (7, "weights_lb", "Give the weight of each package in lb, separated by ;, e.g. 2.5; 4."),
    (8, "store", "Name one of your stores (as in your account) or give its number."),
    (8, "postal_code", "We don't know the ZIP code “99999”. Check it."),
    (9, "external_id", "The order number “A-1” appears twice in this upload."),
    (9, "postal_code", "We don't know the ZIP code “8”. Use a 5-digit ZIP code, e.g. 85226."),
    (10, "weights_lb", "An order has 1 to 20 packages; this one has more."),
]


def imported(client, text, capture) -> OrderImport:
    upload(client, text, capture=capture)
    return OrderImport.objects.latest("pk")


def test_every_problem_of_every_line_is_listed_in_one_pass(owner_client, store, django_capture_on_commit_callbacks):
    job = imported(owner_client, csv_text(BROKEN), django_capture_on_commit_callbacks)

    assert job.status == "failed" and not Order.objects.exists()
    assert [(p["row"], p["column"], p["message"]) for p in job.errors] == EXPECTED


def test_fixing_what_was_listed_is_enough(owner_client, store, django_capture_on_commit_callbacks):
    # given the problems of a broken file
    job = imported(owner_client, csv_text(BROKEN), django_capture_on_commit_callbacks)

    # when the merchant fixes exactly the cells listed, nothing else
    good = csv_orders.EXAMPLE_ROW | {"store": store.name}
    fixes = {"postal_code": {"postal_code": "85225", "city": "Chandler", "state": "AZ"}, "latitude": {"latitude": ""}}
    fixed = [dict(line) for line in BROKEN]
    for problem in job.errors:
        line = fixed[problem["row"] - 2]
        column = problem["column"]
        line |= fixes.get(column, {column: good[column]})
        if column == "external_id":
            line["external_id"] = f"FIXED-{problem['row']}"
    again = imported(owner_client, csv_text(fixed), django_capture_on_commit_callbacks)

    # then there is no second round of problems
    assert again.status == "succeeded", again.errors
    assert Order.objects.count() == len(BROKEN)


def test_every_problem_is_under_a_column_of_the_merchants_file_or_the_whole_line(
    owner_client, store, django_capture_on_commit_callbacks
):
    header = [*csv_orders.IMPORT_COLUMNS]
    text = csv_text(BROKEN) + ",".join(["x"] * (len(header) + 2)) + "\n"

    job = imported(owner_client, text, django_capture_on_commit_callbacks)

    columns = {p["column"] for p in job.errors}
    assert columns <= {*header, ""} and "" in columns
    assert not columns & {"packages", "weight_lb", "length_in", "delivery_address", "line", "quote"}


def test_the_page_lists_each_problem_under_its_column(owner_client, store, django_capture_on_commit_callbacks):
    text = csv_text(BROKEN[:2]) + csv_text([row(external_id="B-1")]).splitlines()[1] + ",surplus\n"
    job = imported(owner_client, text, django_capture_on_commit_callbacks)

    page = owner_client.get(reverse("order_import_detail", args=[job.pk])).content.decode()

    assert '<p class="result-bar failed"><strong id="import-status">Not imported</strong></p>' in page
    assert "Fix these 5 problems" in page and "<progress" not in page and "result-bar succeeded" not in page
    assert (
        '<tr><td data-label="Line">3</td><td data-label="Column"><code>weights_lb</code></td>'
        '<td data-label="Problem">Package 2 weighs 80 lb; we carry packages up to 50 lb.</td></tr>'
    ) in page
    assert '<td data-label="Column"><span class="muted">the whole line</span></td>' in page


def test_a_running_import_never_shows_a_full_bar(owner_client, merchant):
    # every line checked; the orders are being created, which may still fail
    job = OrderImport.objects.create(
        merchant=merchant, filename="orders.csv", content="", status="running", total_rows=40, checked_rows=40
    )

    page = owner_client.get(reverse("order_import_detail", args=[job.pk])).content.decode()

    assert 'value="99"' in page and "result-bar" not in page
    assert "Math.min(state.percent, 99)" in page  # nor does the poll fill it


def test_rule_problems_of_fields_that_are_no_column_go_to_the_column_to_fix():
    fields = {
        "packages": ["Package 2: each side must be more than 0 and at most 48 inches.", "Package 1 weighs 60 lb; …"],
        "delivery_address": ["The address is 12 miles from Desert Bloom; this store delivers within 10 miles."],
        "external_id": ["You already have an order numbered “A-1”."],
    }

    problems = csv_orders.rule_problems(7, fields)

    assert [(p["row"], p["column"]) for p in problems] == [
        (7, "dimensions_in"),
        (7, "weights_lb"),
        (7, "postal_code"),
        (7, "external_id"),
    ]


def test_the_template_header_is_what_the_problems_name(owner_client, store):
    template = owner_client.get(reverse("order_import_template")).content.decode()

    [example] = csv.DictReader(io.StringIO(template))
    assert list(example) == csv_orders.IMPORT_COLUMNS and example["store"] == "Desert Bloom Chandler"
