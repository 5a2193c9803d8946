"""The order list that does not surprise: status tabs with counts, the filters in a fold, "select all N matching"
with a confirmation, and large bulk actions done by a worker with a progress page (pickups.bulk_actions)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from common.actors import SYSTEM, Actor
from merchants.models import Merchant
from pickups.bulk_actions import (
    BULK_DIED,
    BULK_MAX_RESUMES,
    LABELS_KEPT,
    READY_CHUNK,
    bulk_action_run,
    bulk_action_start,
    bulk_plan,
)
from pickups.filters import STATUS_TABS
from pickups.ledger import orders_transition
from pickups.models import BulkAction, Order, OrderEvent
from pickups.tasks import expire_bulk_labels, resume_stuck_bulk_actions
from tests.conftest import wait_for
from tests.factories import MembershipFactory, StoreFactory, make_orders

pytestmark = pytest.mark.django_db

Status = Order.Status


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom")


@pytest.fixture
def other_store(merchant):
    return StoreFactory(merchant=merchant, name="Desert Bloom Outlet")


@pytest.fixture
def theirs():
    """Another merchant's store with orders to flag ready: none of them may ever move from our pages."""
    store = StoreFactory(name="Neon Threads")
    make_orders(store, 4)
    return store


def tabs_of(response) -> dict[str, int]:
    return {tab.label: tab.count for tab in response.context["tabs"]}


def post_bulk(client, **data):
    return client.post(reverse("orders_bulk"), data)


def ready_events(orders) -> int:
    return OrderEvent.objects.filter(order__in=orders, type="order.ready").count()


class TestStatusTabs:
    def test_every_status_is_in_exactly_one_tab(self):
        grouped = [status for tab in STATUS_TABS for status in tab.statuses]

        assert sorted(grouped) == sorted(Status.values)

    def test_tabs_count_my_orders_by_status_and_honour_the_other_filters(
        self, owner_client, store, other_store, theirs
    ):
        # given: 3 new, 2 ready and 1 cancelled in one store, 2 new in the other; another merchant's 4 new
        new = make_orders(store, 3)
        made_ready = make_orders(store, 2)
        orders_transition(orders=made_ready, to=Status.READY, actor=SYSTEM)
        [cancelled] = make_orders(store)
        orders_transition(orders=[cancelled], to=Status.CANCELLED, actor=SYSTEM, details={"reason": "x"})
        make_orders(other_store, 2)

        # when
        everything = owner_client.get(reverse("order_list"))
        one_store = owner_client.get(reverse("order_list"), {"store": store.pk, "status": "created"})

        # then: counts are mine only, and the store filter narrows every tab, not only the current one
        assert tabs_of(everything) == {
            "All": 8,
            "To flag ready": 5,
            "Waiting for pickup": 2,
            "On the way": 0,
            "Failed or returned": 0,
            "Delivered or collected": 0,
            "Cancelled": 1,
        }
        assert tabs_of(one_store)["All"] == 6 and tabs_of(one_store)["To flag ready"] == 3
        assert one_store.context["page"].paginator.count == 3
        assert {order.pk for order in one_store.context["page"]} == {order.pk for order in new}

    def test_tabs_are_links_that_keep_the_other_filters_and_mark_the_current_one(self, owner_client, store):
        make_orders(store, 2, customer_name="Pat Nguyen")

        page = owner_client.get(reverse("order_list"), {"search": "nguyen", "status": "created"}).content.decode()

        assert 'href="?search=nguyen&amp;status=ready&amp;status=scheduled"' in page
        assert 'href="?search=nguyen&amp;status=created" aria-current="page">To flag ready' in page
        tabs = page[page.index('<nav class="tabs"') : page.index("</nav>", page.index('<nav class="tabs"'))]
        assert tabs.count("aria-current") == 1

    def test_the_dashboards_link_lands_on_its_tab_and_the_raw_status_select_is_gone(self, owner_client, store):
        make_orders(store)

        response = owner_client.get(reverse("order_list"), {"status": "created"})

        [current] = [tab for tab in response.context["tabs"] if tab.current]
        page = response.content.decode()
        assert current.label == "To flag ready"
        assert 'name="status" multiple' not in page and 'type="hidden" name="status" value="created"' in page

    def test_statuses_no_tab_stands_for_are_said_in_words(self, owner_client, store):
        make_orders(store)

        response = owner_client.get(reverse("order_list"), {"status": ["created", "delivered"]})

        assert not any(tab.current for tab in response.context["tabs"])
        assert "Showing the orders that are created, delivered." in response.content.decode()

    @pytest.mark.parametrize("count", [5, 60])
    def test_the_list_with_its_tabs_runs_a_constant_number_of_queries(
        self, owner_client, store, count, django_assert_num_queries
    ):
        make_orders(store, count, packages=2)
        orders_transition(orders=list(Order.objects.filter(store=store)[: count // 2]), to=Status.READY, actor=SYSTEM)

        # session, user, membership, the tabs' grouped count (the page count too), orders, packages, store choices
        with django_assert_num_queries(7):
            response = owner_client.get(reverse("order_list"), {"status": "created", "search": "a"})

        assert len(response.context["tabs"]) == len(STATUS_TABS)


class TestFilterFold:
    def test_the_filters_are_folded_until_one_is_on(self, owner_client, store):
        make_orders(store)

        plain = owner_client.get(reverse("order_list"), {"status": "created"}).content.decode()
        searched = owner_client.get(reverse("order_list"), {"search": "POS"}).content.decode()

        assert '<details class="filters card">' in plain and "<summary>Filters</summary>" in plain
        assert '<details class="filters card" open>' in searched and '<span class="tab-count">1 on</span>' in searched


class TestSelectAllMatching:
    def test_it_is_offered_when_the_filters_match_more_than_a_page(self, owner_client, store):
        make_orders(store, 30)

        page = owner_client.get(reverse("order_list"), {"status": "created"}).content.decode()
        one_page = owner_client.get(reverse("order_list"), {"status": "ready"}).content.decode()

        assert "Select all 30 orders matching these filters" in page and 'name="scope" value="matching"' in page
        assert 'name="scope"' not in one_page

    def test_nothing_happens_before_the_confirmation_which_says_what_will(self, owner_client, store, other_store):
        # given: in the chosen store, 3 new and 1 delivered-ish (ready: it stays); the other store's new ones
        new = make_orders(store, 3)
        [ready] = make_orders(store)
        orders_transition(orders=[ready], to=Status.READY, actor=SYSTEM)
        make_orders(other_store, 2)

        # when
        response = post_bulk(owner_client, action="ready", scope="matching", query=f"store={store.pk}")

        # then
        page = response.content.decode()
        assert response.status_code == 200 and "Flag the 4 matching orders ready for pickup?" in page
        assert "<dt>Store</dt><dd>Desert Bloom</dd>" in page
        assert "3 orders</strong> will be flagged ready" in page and "1 ready for pickup" in page
        assert 'name="confirm" value="4"' in page
        assert set(Order.objects.filter(pk__in=[o.pk for o in new]).values_list("status", flat=True)) == {"created"}

    def test_confirmed_it_applies_to_the_filtered_set_only_and_only_my_orders(
        self, owner_client, store, other_store, theirs, django_capture_on_commit_callbacks
    ):
        chosen = make_orders(store, 3)
        untouched = make_orders(other_store, 2)

        with django_capture_on_commit_callbacks(execute=True):
            response = post_bulk(
                owner_client, action="ready", scope="matching", query=f"store={store.pk}&status=created", confirm="3"
            )

        assert (
            response.status_code == 302 and response.url == f"{reverse('order_list')}?store={store.pk}&status=created"
        )
        statuses = dict(Order.objects.values_list("pk", "status"))
        assert {statuses[o.pk] for o in chosen} <= {"ready", "scheduled"}
        assert {statuses[o.pk] for o in untouched} == {"created"}
        assert set(Order.objects.filter(store=theirs).values_list("status", flat=True)) == {"created"}

    def test_posted_ids_of_another_merchant_are_ignored_and_their_store_is_no_filter(self, owner_client, store, theirs):
        [mine] = make_orders(store)
        their_ids = list(Order.objects.filter(store=theirs).values_list("pk", flat=True))

        ticked = post_bulk(owner_client, action="ready", orders=their_ids)
        matching = post_bulk(owner_client, action="ready", scope="matching", query=f"store={theirs.pk}", confirm="1")

        assert ticked.status_code == matching.status_code == 302
        assert set(Order.objects.filter(store=theirs).values_list("status", flat=True)) == {"created"}
        mine.refresh_from_db()
        assert mine.status == "created"  # a filter that is not valid is refused, never dropped to "all"

    def test_a_confirmation_for_another_number_asks_again(self, owner_client, store):
        make_orders(store, 3)

        response = post_bulk(owner_client, action="ready", scope="matching", query="status=created", confirm="2")

        page = response.content.decode()
        assert response.status_code == 200 and "changed since you asked: there are 3 now" in page
        assert set(Order.objects.values_list("status", flat=True)) == {"created"}

    def test_matching_labels_confirmed_are_one_pdf_of_the_filtered_orders(self, owner_client, store, other_store):
        mine = make_orders(store, 2, packages=2)
        [elsewhere] = make_orders(other_store)

        asked = post_bulk(owner_client, action="labels", scope="matching", query=f"store={store.pk}")
        response = post_bulk(owner_client, action="labels", scope="matching", query=f"store={store.pk}", confirm="2")

        assert "One PDF with <strong>4 labels</strong>" in asked.content.decode()
        assert 'data-preparing="Preparing 4 labels…"' in asked.content.decode()
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
        text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
        assert all(order.tracking_code in text for order in mine) and elsewhere.tracking_code not in text

    def test_bad_input_says_what_to_do(self, owner_client, store):
        make_orders(store)

        no_action = post_bulk(owner_client, scope="matching", query="")
        assert "Choose what to do" in owner_client.get(no_action.url).content.decode()
        nothing = post_bulk(owner_client, action="ready", scope="matching", query="status=delivered", confirm="0")
        assert "No orders match these filters." in owner_client.get(nothing.url).content.decode()
        unticked = post_bulk(owner_client, action="labels", query="")
        assert "Tick at least one order first." in owner_client.get(unticked.url).content.decode()

    def test_many_refusals_are_summed_up_in_one_line(self, owner_client, store):
        made_ready = make_orders(store, 6)
        orders_transition(orders=made_ready, to=Status.READY, actor=SYSTEM)

        response = post_bulk(owner_client, action="ready", orders=[o.pk for o in made_ready])

        page = owner_client.get(response.url).content.decode()
        assert "6 order(s) left as they were: 6 ready for pickup." in page


class TestOnAWorker:
    @pytest.fixture(autouse=True)
    def small_threshold(self, settings):
        settings.BULK_WORKER_THRESHOLD = 3

    def test_a_large_set_is_a_bulk_action_whose_task_flags_them_and_records_progress(
        self, owner_client, owner, store, theirs, django_capture_on_commit_callbacks
    ):
        # given: 5 new orders and 2 scheduled-or-ready ones matching "all"
        new = make_orders(store, 5)
        made_ready = make_orders(store, 2)
        orders_transition(orders=made_ready, to=Status.READY, actor=SYSTEM)

        # when: confirmed, and the worker runs what was queued at commit
        with django_capture_on_commit_callbacks(execute=True):
            response = post_bulk(owner_client, action="ready", scope="matching", query="", confirm="7")

        # then
        action = BulkAction.objects.get()
        assert response.status_code == 302 and response.url == reverse("bulk_action_detail", args=[action.pk])
        assert action.merchant == owner.membership.merchant and action.created_by == owner
        assert (action.kind, action.status, action.total, action.done_count) == ("ready", "done", 7, 7)
        assert action.changed_count == 5 and action.refused == {"ready": 2}
        assert set(Order.objects.filter(pk__in=[o.pk for o in new]).values_list("status", flat=True)) <= {
            "ready",
            "scheduled",
        }
        assert set(Order.objects.filter(store=theirs).values_list("status", flat=True)) == {"created"}
        page = owner_client.get(response.url).content.decode()
        assert "5 orders flagged ready for pickup" in page and "2 orders left as they were" in page
        progress = owner_client.get(response.url, headers={"Accept": "application/json"}).json()
        assert progress == {
            "status": "done",
            "status_display": "Done",
            "finished": True,
            "percent": 100,
            "done": 7,
            "total": 7,
        }

    def test_progress_shows_before_the_worker_ran(self, owner_client, store):
        make_orders(store, 4)

        response = post_bulk(owner_client, action="ready", scope="matching", query="", confirm="4")

        page = owner_client.get(response.url).content.decode()
        assert "Waiting for a worker" in page and "<span data-progress-done>0</span> of 4 orders done" in page
        assert 'src="/static/js/progress.js"' in page
        state = owner_client.get(response.url, headers={"Accept": "application/json"}).json()
        assert state["finished"] is False and state["percent"] == 0
        assert set(Order.objects.values_list("status", flat=True)) == {"created"}

    def test_ticked_orders_with_many_labels_go_to_the_worker_too_and_give_a_real_pdf(
        self, owner_client, store, django_capture_on_commit_callbacks
    ):
        orders = make_orders(store, 2, packages=3)

        with django_capture_on_commit_callbacks(execute=True):
            response = post_bulk(owner_client, action="labels", orders=[o.pk for o in orders])

        action = BulkAction.objects.get()
        assert response.url == reverse("bulk_action_detail", args=[action.pk])
        assert (action.kind, action.status, action.changed_count, action.done_count) == ("labels", "done", 6, 2)
        page = owner_client.get(response.url).content.decode()
        assert "Download 6 labels (PDF)" in page and 'src="/static/js/progress.js"' not in page
        download = owner_client.get(reverse("bulk_action_labels", args=[action.pk]))
        content = b"".join(download.streaming_content)
        assert download["Content-Type"] == "application/pdf" and content.startswith(b"%PDF")
        assert len(PdfReader(BytesIO(content)).pages) == 6
        assert "attachment" in download["Content-Disposition"]

    def test_another_merchant_gets_404_on_the_progress_page_and_the_download(
        self, client, owner_client, store, django_capture_on_commit_callbacks
    ):
        orders = make_orders(store, 2, packages=2)
        with django_capture_on_commit_callbacks(execute=True):
            post_bulk(owner_client, action="labels", orders=[o.pk for o in orders])
        action = BulkAction.objects.get()
        client.force_login(MembershipFactory().user)

        assert client.get(reverse("bulk_action_detail", args=[action.pk])).status_code == 404
        assert client.get(reverse("bulk_action_labels", args=[action.pk])).status_code == 404
        json = client.get(reverse("bulk_action_detail", args=[action.pk]), headers={"Accept": "application/json"})
        assert json.status_code == 404

    def test_labels_not_drawn_yet_are_404(self, owner_client, merchant, owner, store):
        make_orders(store, 4)
        plan = bulk_plan(orders=Order.objects.filter(merchant=merchant), kind="labels")
        action = bulk_action_start(merchant=merchant, actor=Actor.of_user(owner), plan=plan)

        assert owner_client.get(reverse("bulk_action_labels", args=[action.pk])).status_code == 404

    def test_a_suspended_merchant_cannot_start_one_and_nothing_is_written(self, owner_client, merchant, store):
        make_orders(store, 4)
        Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED)

        response = post_bulk(owner_client, action="ready", scope="matching", query="", confirm="4")

        assert response.status_code == 302 and not BulkAction.objects.exists()
        assert "suspended" in owner_client.get(response.url).content.decode().lower()


class TestTheTask:
    def start(self, merchant, owner, kind="ready") -> BulkAction:
        plan = bulk_plan(orders=Order.objects.filter(merchant=merchant), kind=kind)
        return bulk_action_start(merchant=merchant, actor=Actor.of_user(owner), plan=plan)

    def test_running_it_again_does_not_move_anything_twice(self, merchant, owner, store):
        orders = make_orders(store, 4)
        action = self.start(merchant, owner)

        first = bulk_action_run(action_id=action.pk)
        again = bulk_action_run(action_id=action.pk)

        assert first.status == again.status == "done"
        action.refresh_from_db()
        assert (action.done_count, action.changed_count, action.refused) == (4, 4, {})
        assert ready_events(orders) == 4

    def test_a_run_that_died_after_a_step_resumes_after_it(self, merchant, owner, store):
        # given: the worker committed its first step (2 orders flagged, progress saved) and died
        orders = make_orders(store, 5)
        action = self.start(merchant, owner)
        first_step = Order.objects.filter(pk__in=action.order_ids[:2])
        orders_transition(orders=first_step, to=Status.READY, actor=Actor.of_user(owner))
        BulkAction.objects.filter(pk=action.pk).update(status="running", done_count=2, changed_count=2)

        # when
        bulk_action_run(action_id=action.pk)

        # then: the rest moved, the first two were not looked at again (no "already ready" refusals)
        action.refresh_from_db()
        assert (action.status, action.done_count, action.changed_count, action.refused) == ("done", 5, 5, {})
        assert ready_events(orders) == 5

    def test_a_merchant_suspended_meanwhile_stops_it_with_the_reason(self, merchant, owner, store):
        orders = make_orders(store, 4)
        action = self.start(merchant, owner)
        Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED)

        bulk_action_run(action_id=action.pk)

        action.refresh_from_db()
        assert action.status == "failed" and "suspended" in action.error.lower() and action.finished_at
        assert ready_events(orders) == 0

    def test_labels_record_their_file_and_progress(self, merchant, owner, store):
        make_orders(store, 3, packages=2)
        action = self.start(merchant, owner, kind="labels")

        done = bulk_action_run(action_id=action.pk)

        assert (done.status, done.done_count, done.changed_count) == ("done", 3, 6)
        with default_storage.open(done.labels_file) as stored:
            assert stored.read(4) == b"%PDF"

    def test_labels_are_deleted_a_day_after_and_the_page_says_so(self, merchant, owner, owner_client, store):
        make_orders(store, 2)
        done = bulk_action_run(action_id=self.start(merchant, owner, kind="labels").pk)
        kept = bulk_action_run(action_id=self.start(merchant, owner, kind="labels").pk)
        BulkAction.objects.filter(pk=done.pk).update(finished_at=timezone.now() - LABELS_KEPT - timedelta(minutes=1))
        deleted = done.labels_file

        assert expire_bulk_labels() == 1
        assert expire_bulk_labels() == 0  # again: nothing left to delete

        done.refresh_from_db()
        assert done.labels_file == "" and not default_storage.exists(deleted)
        assert default_storage.exists(kept.labels_file)
        page = owner_client.get(reverse("bulk_action_detail", args=[done.pk])).content.decode()
        assert "These labels were deleted a day after they were made" in page
        assert owner_client.get(reverse("bulk_action_labels", args=[done.pk])).status_code == 404
        assert owner_client.get(reverse("bulk_action_labels", args=[kept.pk])).status_code == 200


class TestTheSweep:
    def stuck(self, merchant, owner, store, **fields) -> BulkAction:
        make_orders(store, 3)
        plan = bulk_plan(orders=Order.objects.filter(merchant=merchant, status="created"), kind="ready")
        action = bulk_action_start(merchant=merchant, actor=Actor.of_user(owner), plan=plan)
        BulkAction.objects.filter(pk=action.pk).update(**fields)
        return action

    def test_it_runs_a_job_whose_task_was_lost(self, merchant, owner, store):
        action = self.stuck(merchant, owner, store, updated_at=timezone.now() - timedelta(minutes=6))

        resumed = resume_stuck_bulk_actions()

        action.refresh_from_db()
        assert resumed == 1 and (action.status, action.done_count, action.resumes) == ("done", 3, 1)

    def test_it_resumes_a_job_whose_worker_died(self, merchant, owner, store):
        long_ago = timezone.now() - timedelta(minutes=10)
        action = self.stuck(merchant, owner, store, status="running", started_at=long_ago, updated_at=long_ago)

        assert resume_stuck_bulk_actions() == 1
        action.refresh_from_db()
        assert action.status == "done" and action.changed_count == 3

    def test_it_leaves_fresh_and_finished_jobs_alone(self, merchant, owner, store):
        fresh = self.stuck(merchant, owner, store)

        assert resume_stuck_bulk_actions() == 0
        fresh.refresh_from_db()
        assert fresh.status == "queued"

    def test_a_job_that_keeps_dying_fails_instead_of_running_for_ever(self, merchant, owner, store):
        long_ago = timezone.now() - timedelta(minutes=10)
        action = self.stuck(merchant, owner, store, status="running", updated_at=long_ago, resumes=BULK_MAX_RESUMES)

        assert resume_stuck_bulk_actions() == 0
        action.refresh_from_db()
        assert action.status == "failed" and action.error == BULK_DIED
        assert set(Order.objects.values_list("status", flat=True)) == {"created"}


@pytest.mark.broker
def test_a_real_worker_does_it_through_the_broker_and_the_page_follows(client, celery_worker, settings):
    settings.BULK_WORKER_THRESHOLD = 3
    member = MembershipFactory()
    orders = make_orders(StoreFactory(merchant=member.merchant), 5, packages=2)
    client.force_login(member.user)

    response = post_bulk(client, action="labels", scope="matching", query="", confirm="5")

    def finished():
        """the bulk action finished"""
        return client.get(response.url, headers={"Accept": "application/json"}).json()["finished"]

    wait_for(finished)
    action = BulkAction.objects.get()
    assert (action.status, action.done_count, action.changed_count) == ("done", 5, 10)
    download = client.get(reverse("bulk_action_labels", args=[action.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert ready_events(orders) == 0  # labels change nothing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_bulk_action_never_flag_an_order_twice():
    # given: three steps of work (READY_CHUNK orders each), and the task delivered twice
    owner = MembershipFactory().user
    merchant = owner.membership.merchant
    orders = make_orders(StoreFactory(merchant=merchant), 2 * READY_CHUNK + 50)
    plan = bulk_plan(orders=Order.objects.filter(merchant=merchant), kind="ready")
    action = BulkAction.objects.create(
        merchant=merchant, created_by=owner, kind="ready", order_ids=plan.order_ids, total=plan.total
    )
    barrier = threading.Barrier(2)

    def run(_):
        barrier.wait(timeout=30)
        try:
            return bulk_action_run(action_id=action.pk).status
        finally:
            connection.close()

    # when: both run at once
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(run, range(2))) == ["done", "done"]

    # then: each step was done by one of them, and each order flagged once
    action.refresh_from_db()
    assert (action.done_count, action.changed_count, action.refused) == (len(orders), len(orders), {})
    assert ready_events(orders) == len(orders)
