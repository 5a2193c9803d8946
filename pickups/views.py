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
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
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

from . import selectors, services
from .attention import attention_for
from .charts import daily_outcomes_svg
from .csv_orders import IMPORT_COLUMNS, MAX_IMPORT_BYTES, UploadError, export_rows, import_template
from .custody import custody_csv, custody_pdf
from .filters import OrderFilter
from .forms import CancelForm, OrderForm, OrderImportForm, PackageFormSet, package_drafts
from .labels import labels_pdf
from .models import Order, PickupWindow
from .performance import performance_csv, stores_performance
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
    orders = OrderFilter(request.GET, queryset=selectors.orders_for_merchant(request.merchant), request=request)
    page = Paginator(orders.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": orders, "page": page, "query": query.urlencode()}
    return render(request, "pickups/order_list.html", context)


@merchant_required
def pickup_schedule(request):
    """Upcoming pickups of the merchant's orders, in each site's local time."""
    windows = selectors.windows_for_merchant(request.merchant)
    return render(request, "pickups/pickup_schedule.html", {"windows": windows})


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


@merchant_required
def order_detail(request, pk):
    order = selectors.order_for_merchant(merchant=request.merchant, pk=pk)
    context = {
        "order": order,
        "events": order.events.all(),
        "cancel_form": CancelForm(),
        "can_try_again": order.attempt < settings.MAX_DELIVERY_ATTEMPTS,
    }
    return render(request, "pickups/order_detail.html", context)


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
        messages.error(request, "Say why the order is cancelled.")
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
    """The list's bulk actions on the ticked orders: flag ready, or print all their labels."""
    ids = [value for value in request.POST.getlist("orders") if value.isdigit() and len(value) < 19]
    chosen = selectors.orders_for_merchant(request.merchant).filter(pk__in=ids)
    action = request.POST.get("action")
    back = redirect(f"{reverse('order_list')}?{request.POST.get('query', '')}")
    if not chosen:
        messages.error(request, "Tick at least one order first.")
        return back
    if action == "labels":
        return _pdf(labels_pdf(list(chosen)), "labels.pdf")
    if action != "ready":
        messages.error(request, "Choose what to do with the ticked orders.")
        return back
    try:
        moved, refused = services.orders_mark_ready(orders=chosen, actor=Actor.of_user(request.user))
    except NotAllowedError as error:
        messages.error(request, str(error))
        return back
    if moved:
        messages.success(request, f"{len(moved)} order(s) flagged ready for pickup.")
    for _, why in refused:
        messages.warning(request, why)
    return back


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
    return render(
        request, "pickups/tracking.html", {"order": order, "tracking": tracking_of(order, order.events.all())}
    )


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
