import csv
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from csp.constants import NONE
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from common.actors import Actor
from common.clients import rate_limited
from common.errors import NotAllowedError, TransitionError
from merchants.access import merchant_required
from merchants.forms import error_summary
from merchants.handoff_codes import store_code
from merchants.selectors import store_for_merchant, stores_for_merchant
from merchants.standing import ADD, merchant_refusal
from notifications.services import opt_out

from . import bulk_actions, selectors, services
from .attention import attention_for
from .charts import daily_outcomes_svg
from .csv_orders import IMPORT_COLUMNS, MAX_IMPORT_BYTES, UploadError, export_rows, import_template
from .custody import custody_csv, custody_pdf
from .filters import OrderFilter, filters_in_words, status_tabs
from .forms import CancelForm, OrderForm, OrderImportForm, PackageFormSet, package_drafts, packages_initial
from .labels import labels_pdf
from .models import BulkAction, Order, PickupWindow
from .order_status import pickup_status
from .performance import performance_csv, stores_performance
from .pickup_days import DAYS, pickup_days
from .tracking import tracking_of

PAGE_SIZE = 25


@merchant_required
def dashboard(request):
    """What needs the merchant now, today's orders, and how each store did over 7 and 30 days."""
    stores = list(stores_for_merchant(request.merchant))
    counts = selectors.order_counts_today(request.merchant, stores)
    attention = attention_for(request.merchant, stores)
    context = {
        "stores": stores,
        "now": attention,
        "today": [(status, label, counts.get(status, 0)) for status, label in Order.Status.choices],
        "waiting": attention.to_flag,
        "performance": stores_performance(stores),
    }
    return render(request, "pickups/dashboard.html", context)


# The chart is an SVG image with pygal's own <style>: its response allows that style and nothing else.
CHART_POLICY = {
    "default-src": [NONE],
    "style-src": ["'unsafe-inline'"],
    "script-src": [NONE],
    "img-src": [NONE],
    "connect-src": [NONE],
    "font-src": [NONE],
}


@csp_replace(CHART_POLICY)
@merchant_required
def dashboard_chart(request, pk):
    """One store's orders per day over 30 days by outcome, as an SVG image (the dashboard's table has the figures)."""
    store = store_for_merchant(merchant=request.merchant, pk=pk)
    [performance] = stores_performance([store])
    response = HttpResponse(daily_outcomes_svg(performance), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@merchant_required
def dashboard_export(request):
    """The dashboard's figures as CSV: a line per store and period, and one per store and day."""
    stores = list(stores_for_merchant(request.merchant))
    return _csv_download(performance_csv(stores_performance(stores)), "store-performance.csv")


@merchant_required
def order_list(request):
    """The merchant's orders, a page at a time: status tabs counting what the other filters let through (one
    grouped query, which also gives the page count), the other filters in a fold, bulk actions."""
    orders = OrderFilter(request.GET, queryset=selectors.orders_for_merchant(request.merchant), request=request)
    query = request.GET.copy()
    query.pop("page", None)
    tabs, listed = status_tabs(orders, query)
    paginator = Paginator(orders.qs, PAGE_SIZE)
    paginator.count = listed  # a cached property: the tabs counted the list already
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "filter": orders,
        "page": page,
        "query": query.urlencode(),
        "tabs": tabs,
        "statuses": sorted(orders.statuses),
        # statuses no tab stands for (a link from elsewhere): said in words
        "status_labels": []
        if any(tab.current for tab in tabs)
        else [label for status, label in Order.Status.choices if status in orders.statuses],
        "filters_active": orders.active,
    }
    return render(request, "pickups/order_list.html", context)


@merchant_required
def pickup_schedule(request):
    """A day of pickups at each of the merchant's sites, on the site's local clock: `?day=N` is N days after
    each site's today (0 to 6); anything else is a 400 that says so, with today shown."""
    day = request.GET.get("day", "0")
    offset = int(day) if day.isascii() and day.isdigit() and int(day) < DAYS else None
    schedule = pickup_days(merchant=request.merchant, offset=offset or 0)
    problem = "" if offset is not None else f"day: choose a day from 0 (today) to {DAYS - 1}; here is today."
    context = {"schedule": schedule, "problem": problem}
    return render(request, "pickups/pickup_schedule.html", context, status=400 if problem else 200)


@merchant_required
def order_create(request):
    refusal = merchant_refusal(request.merchant, ADD)
    if refusal:
        messages.error(request, refusal)
        return redirect("order_list")
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, merchant=request.merchant)
    packages = PackageFormSet(data, prefix="packages")
    if data is not None and form.is_valid() and packages.is_valid():
        try:
            order = services.order_create(
                merchant=request.merchant, draft=form.draft(package_drafts(packages)), actor=Actor.of_user(request.user)
            )
        except ValidationError as error:
            form.add_rule_errors(error.message_dict)
        except NotAllowedError as error:  # suspended since the page was checked
            messages.error(request, str(error))
            return redirect("order_list")
        else:
            messages.success(request, f"Order {order.external_id} created. Print its labels, then flag it ready.")
            return redirect("order_detail", pk=order.pk)
    context = {"form": form, "packages": packages, "problems": error_summary(form, packages)}
    return render(request, "pickups/order_form.html", context)


# What a parcel's label shows of an order (pickups.labels): a change of any means printing the labels again.
ON_THE_LABEL = {"customer_name", "city", "state", "postal_code", "packages"}


@merchant_required
def order_edit(request, pk):
    """Change a new order (customer, address, notes, packages) until it is flagged ready; after that, back to
    the order with the reason."""
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    refusal = services.order_edit_refusal(order) or merchant_refusal(request.merchant, ADD)
    if refusal:
        messages.error(request, refusal)
        return redirect("order_detail", pk=order.pk)
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, merchant=request.merchant, order=order)
    packages = PackageFormSet(data, prefix="packages", initial=packages_initial(order))
    if data is not None and form.is_valid() and packages.is_valid():
        try:
            edited = services.order_edit(
                order=order, changes=form.edits(package_drafts(packages)), actor=Actor.of_user(request.user)
            )
        except ValidationError as error:
            form.add_rule_errors(error.message_dict)
        except (TransitionError, NotAllowedError) as error:  # flagged ready or suspended since the page was shown
            messages.error(request, str(error))
            return redirect("order_detail", pk=order.pk)
        else:
            changed = set(edited.changes.get("changed", []))
            if not changed:
                messages.info(request, f"Nothing changed: order {order.external_id} is as it was.")
            elif changed & ON_THE_LABEL:
                messages.success(request, f"Order {order.external_id} changed. Print its labels again.")
            else:
                messages.success(request, f"Order {order.external_id} changed.")
            return redirect("order_detail", pk=order.pk)
    context = {"form": form, "packages": packages, "problems": error_summary(form, packages), "order": order}
    return render(request, "pickups/order_form.html", context)


@merchant_required
def order_detail(request, pk):
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    context = {
        "order": order,
        "events": order.events.all(),
        "cancel_form": CancelForm(),
        "can_try_again": order.attempt < settings.MAX_DELIVERY_ATTEMPTS,
        "pickup": pickup_status(order, now=timezone.now()),
    }
    return render(request, "pickups/order_detail.html", context)


@never_cache
@merchant_required
def order_status_fragment(request, pk):
    """The order page's pickup block alone, with the heading's status badge: live.js asks for it while the
    order waits for a worker to schedule it, and stops when the block says it has settled."""
    order = selectors.order_status_for_merchant(merchant=request.merchant, pk=pk)
    context = {"order": order, "pickup": pickup_status(order, now=timezone.now()), "oob": True}
    return render(request, "pickups/_order_status.html", context)


@require_POST
@merchant_required
def order_ready(request, pk):
    return _order_move(request, pk, services.order_mark_ready, "Order {} is ready for pickup.")


@require_POST
@merchant_required
def order_collected(request, pk):
    return _order_move(request, pk, services.order_mark_collected, "Order {} was collected in the store.")


def _order_move(request, pk, move, done: str):
    """Move one of the merchant's orders with `move`; say so, or why it cannot move."""
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    try:
        move(order=order, actor=Actor.of_user(request.user))
    except (TransitionError, NotAllowedError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done.format(order.external_id))
    return redirect("order_detail", pk=order.pk)


@login_required
def order_proof_photo(request, pk, event_pk):
    """A delivery's photo, only for the order's merchant and the program's admins."""
    event = selectors.proof_event(request.user, order_pk=pk, event_pk=event_pk)
    response = FileResponse(default_storage.open(event.details["photo"]), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@merchant_required
def order_cancel(request, pk):
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        problems = ["Say why the order is cancelled."] if "reason" in form.errors else []
        problems += form.errors.get("confirm", [])
        messages.error(request, " ".join([*problems, "Nothing was cancelled."]))
        return redirect("order_detail", pk=order.pk)
    try:
        services.order_cancel(order=order, actor=Actor.of_user(request.user), reason=form.cleaned_data["reason"])
    except (TransitionError, NotAllowedError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Order {order.external_id} is cancelled.")
    return redirect("order_detail", pk=order.pk)


@merchant_required
def order_labels(request, pk):
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    return _pdf(labels_pdf([order]), f"labels-{order.tracking_code}.pdf")


@require_POST
@merchant_required
def orders_bulk(request):
    """The list's bulk actions, flag ready or print labels: on the ticked orders, or, once confirmed, on every order
    matching the list's filters, found again here from the posted filters among the merchant's own orders. More
    than BULK_WORKER_THRESHOLD go to a worker, and the next page follows its progress."""
    query = request.POST.get("query", "")
    back = redirect(f"{reverse('order_list')}?{query}")
    matching = request.POST.get("scope") == "matching"
    if matching:
        found = OrderFilter(QueryDict(query), queryset=selectors.merchant_orders(request.merchant), request=request)
        if not found.is_valid():  # e.g. a store that is not theirs: never widen the set by dropping the filter
            messages.error(request, "These filters are not valid: choose them again on the order list.")
            return back
        orders = found.qs
    else:
        ids = [value for value in request.POST.getlist("orders") if value.isdigit() and len(value) < 19]
        orders = selectors.merchant_orders(request.merchant).filter(pk__in=ids)
    kind = request.POST.get("action")
    if kind not in BulkAction.Kind.values:
        messages.error(request, "Choose what to do with the ticked orders.")
        return back
    plan = bulk_actions.bulk_plan(orders=orders, kind=kind)
    if not plan.total:
        messages.error(request, "No orders match these filters." if matching else "Tick at least one order first.")
        return back
    if plan.too_many:
        messages.error(request, plan.too_many)
        return back
    if matching and request.POST.get("confirm") != str(plan.total):  # not confirmed, or for another number
        context = {"plan": plan, "query": query, "filters": filters_in_words(found), "again": "confirm" in request.POST}
        return render(request, "pickups/orders_bulk_confirm.html", context)
    if plan.on_worker:
        try:
            action = bulk_actions.bulk_action_start(
                merchant=request.merchant, actor=Actor.of_user(request.user), plan=plan, query=query
            )
        except NotAllowedError as error:
            messages.error(request, str(error))
            return back
        return redirect("bulk_action_detail", pk=action.pk)
    chosen = selectors.orders_for_merchant(request.merchant).filter(pk__in=plan.order_ids)
    if kind == BulkAction.Kind.LABELS:
        return _pdf(labels_pdf(list(chosen)), "labels.pdf")
    try:
        moved, refused = services.orders_mark_ready(orders=chosen, actor=Actor.of_user(request.user))
    except NotAllowedError as error:
        messages.error(request, str(error))
        return back
    if moved:
        messages.success(request, f"{len(moved)} order(s) flagged ready for pickup.")
    if len(refused) > BULK_REFUSALS_LISTED:  # one line for many, as the progress page says it
        summary = bulk_actions.refusals_in_words(order.status for order, _ in refused)
        messages.warning(request, f"{len(refused)} order(s) left as they were: {summary}.")
    else:
        for _, why in refused:
            messages.warning(request, why)
    return back


# Up to this many orders a bulk action could not flag ready are each named with why; more are summed up by status.
BULK_REFUSALS_LISTED = 5


@merchant_required
def bulk_action_detail(request, pk):
    """A bulk action a worker does: its progress (as JSON for the page's script), then what it did."""
    action = bulk_actions.bulk_action_for_merchant(merchant=request.merchant, pk=pk)
    if request.headers.get("Accept") == "application/json":
        response = JsonResponse(
            {
                "status": action.status,
                "status_display": action.get_status_display(),
                "finished": action.is_finished,
                "percent": action.percent,
                "done": action.done_count,
                "total": action.total,
            }
        )
    else:
        response = render(request, "pickups/bulk_action_detail.html", {"action": action})
    patch_vary_headers(response, ["Accept"])
    response["Cache-Control"] = "no-store"
    return response


@merchant_required
def bulk_action_labels(request, pk):
    """The labels PDF a bulk action prepared, for its merchant only."""
    action = bulk_actions.bulk_action_for_merchant(merchant=request.merchant, pk=pk)
    if not action.labels_file or not default_storage.exists(action.labels_file):
        raise Http404("These labels are not ready.")
    response = FileResponse(
        default_storage.open(action.labels_file),
        as_attachment=True,
        filename=f"labels-{action.pk}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@merchant_required
def order_import(request):
    """Upload a CSV of orders; a worker checks and imports it while the next page shows progress."""
    form = OrderImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.order_import_start(
                merchant=request.merchant,
                actor=Actor.of_user(request.user),
                filename=upload.name,
                raw=upload.read(MAX_IMPORT_BYTES + 1),
            )
        except UploadError as error:
            form.add_error("file", str(error))
        except NotAllowedError as error:
            messages.error(request, str(error))
        else:
            return redirect("order_import_detail", pk=job.pk)
    stores = _active_stores(request.merchant).values_list("name", flat=True)
    context = {"form": form, "columns": IMPORT_COLUMNS, "stores": list(stores)}
    return render(request, "pickups/order_import.html", context)


@merchant_required
def order_import_detail(request, pk):
    job = selectors.order_import_for_merchant(merchant=request.merchant, pk=pk)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(
            {
                "status": job.status,
                "percent": job.percent,
                "checked_rows": job.checked_rows,
                "total_rows": job.total_rows,
            }
        )
    return render(request, "pickups/order_import_detail.html", {"job": job})


@merchant_required
def order_import_template(request):
    """Our CSV template, its example line for the merchant's first store (by name)."""
    return _csv_download(import_template(_active_stores(request.merchant).first()), "orders-template.csv")


def _active_stores(merchant):
    """The merchant's stores that take orders, by name (without the hours and closures the selector prefetches)."""
    return stores_for_merchant(merchant).prefetch_related(None).filter(is_active=True).order_by("name")


@merchant_required
def order_export(request):
    """The filtered order list as CSV, streamed so a large export needs little memory."""
    orders = OrderFilter(request.GET, queryset=selectors.orders_for_merchant(request.merchant), request=request).qs
    writer = csv.writer(Echo())
    rows = (writer.writerow(row) for row in export_rows(orders.iterator(chunk_size=500)))
    response = StreamingHttpResponse(rows, content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response


class Echo:
    """A file-like object whose write returns the line, for csv.writer into a streaming response."""

    def write(self, value):
        return value


def _csv_download(content: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@rate_limited("tracking")
def tracking(request, tracking_code):
    """The public tracking page: where the parcel is in plain words, its steps, the promised day, the
    arrival window; a friendly page for a code that does not exist. Limited per client like the tracking API
    (one budget for both), so codes cannot be guessed by the thousand."""
    try:
        order = selectors.order_for_tracking(tracking_code)
    except Http404:
        return render(request, "pickups/tracking_unknown.html", {"tracking_code": tracking_code}, status=404)
    return render(request, "pickups/tracking.html", {"order": order, "tracking": tracking_of(order, order.timeline)})


@require_http_methods(["GET", "POST"])
@rate_limited("tracking")
def tracking_stop(request, tracking_code):
    """Stop parcel messages, from the link in each one: no login, the tracking code is the key."""
    order = selectors.order_for_tracking(tracking_code)
    if request.method == "POST":
        opt_out(addresses=[order.customer_phone, order.customer_email])
    return render(request, "pickups/tracking_stop.html", {"order": order, "stopped": request.method == "POST"})


@never_cache
@merchant_required
def store_handoff(request, pk):
    """The store's counter screen, in the site's local time: the store code a driver types in, today's
    pickups with each parcel's scan, what was left behind and the store's notices. With the header
    `X-Partial: 1`, only the live section (handoff.js swaps it in)."""
    store = store_for_merchant(merchant=request.merchant, pk=pk)
    zone = ZoneInfo(store.site.timezone)
    today = timezone.localdate(timezone=zone)
    since = datetime.combine(today, time(0), tzinfo=zone)
    windows = list(selectors.handoff_windows(store, today))
    context = {
        "store": store,
        "today": today,
        "windows": windows,
        "in_progress": any(window.status == PickupWindow.Status.IN_PROGRESS for window in windows),
        "left_behind": selectors.orders_left_behind(store, since),
        "notices": selectors.store_notices(store, since),
    }
    if request.headers.get("X-Partial") == "1":
        response = render(request, "pickups/_handoff_live.html", context)
    else:
        code = store_code(store)
        context |= {"code": code, "changes_in": _minutes_seconds(code.valid_until - timezone.now())}
        response = render(request, "pickups/store_handoff.html", context)
    patch_vary_headers(response, ["X-Partial"])
    return response


def _minutes_seconds(left: timedelta) -> str:
    """A countdown as m:ss, never below 0:00."""
    seconds = max(0, int(left.total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


@merchant_required
def order_custody_pdf(request, pk):
    """The order's custody record to print or hand over in a dispute: every event, sealed, and
    whether the chain holds."""
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    return _pdf(custody_pdf(order), f"custody-{order.tracking_code}.pdf")


@merchant_required
def order_custody_csv(request, pk):
    """The same record as CSV, with the full seals and what they cover."""
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    return _csv_download(custody_csv(order), f"custody-{order.tracking_code}.csv")
