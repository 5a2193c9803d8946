from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from common.actors import Actor
from common.errors import NotAllowedError, TooManyAttemptsError, TransitionError
from notifications.selectors import in_app_messages
from pickups import visits
from pickups.models import DELIVERY_PLACES, FAILURE_REASONS

from . import handoffs, runs, selectors, services
from .access import driver_required
from .forms import DeliverForm, FailForm, ScanForm, posted_location

# What a failed service call says to a driver on these pages (the API answers 400/403/409/429).
REFUSED = (TransitionError, NotAllowedError, TooManyAttemptsError, ValidationError)


@driver_required
def driver_home(request):
    context = {
        "offers": selectors.open_offers(request.driver),
        "windows": selectors.windows_for_driver(request.driver).filter(ends_at__gt=timezone.now()),
        "in_care": selectors.orders_in_care(request.driver),
        "inbox": in_app_messages(request.user)[:10],
    }
    return render(request, "deliveries/driver_home.html", context)


@require_POST
@driver_required
def offer_accept(request, pk):
    offer = selectors.offer_for_driver(driver=request.driver, pk=pk)
    try:
        services.offer_accept(offer=offer, driver=request.driver)
    except TransitionError as error:
        messages.error(request, str(error))
        return redirect("driver_home")
    messages.success(request, "The pickup is yours. Here is what to collect.")
    return redirect("driver_window", pk=offer.window_id)


@require_POST
@driver_required
def offer_decline(request, pk):
    offer = selectors.offer_for_driver(driver=request.driver, pk=pk)
    try:
        services.offer_decline(offer=offer, driver=request.driver)
    except TransitionError as error:
        messages.error(request, str(error))
    return redirect("driver_home")


@driver_required
def driver_window(request, pk):
    """The manifest; once checked in, the scan page: a store's code, then each label."""
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    codes = request.session.get(_codes_key(window), {})
    stops = selectors.manifest(window)
    for stop in stops:
        stop.code = codes.get(str(stop.store.pk), "")
    return render(request, "deliveries/driver_window.html", {"window": window, "stops": stops})


@require_POST
@driver_required
def window_arrive(request, pk):
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    try:
        visits.window_arrive(
            window_id=window.pk,
            driver_id=request.driver.pk,
            actor=Actor.of_driver(request.user),
            now=timezone.now(),
            location=posted_location(request.POST),
        )
    except REFUSED as error:
        messages.error(request, _words(error))
    else:
        messages.success(request, "Checked in. Each store with parcels for you has been told you are here.")
    return redirect("driver_window", pk=window.pk)


@require_POST
@driver_required
def window_pickup(request, pk):
    """A scan sent without JavaScript (the page's script posts to the API instead)."""
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    form = ScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_words(form))
        return redirect("driver_window", pk=window.pk)
    data = form.cleaned_data
    try:
        result = services.visit_collect(
            window_id=window.pk,
            driver_id=request.driver.pk,
            store_id=data["store"],
            store_code=data["store_code"],
            label_codes=data["label_codes"],
            actor=Actor.of_driver(request.user),
            now=timezone.now(),
        )
    except REFUSED as error:
        messages.error(request, _words(error))
    else:
        codes = request.session.get(_codes_key(window), {})
        request.session[_codes_key(window)] = codes | {str(data["store"]): data["store_code"]}
        for scan in result.scans:
            level = messages.SUCCESS if scan.result == "collected" else messages.WARNING
            messages.add_message(request, level, f"{scan.label_code}: {scan.message}")
        if result.window.status == result.window.Status.COMPLETED:
            messages.success(request, "Every parcel collected: the visit is over.")
            return redirect("driver_home")
    return redirect("driver_window", pk=window.pk)


@require_POST
@driver_required
def window_depart(request, pk):
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    try:
        result = services.visit_depart(
            window_id=window.pk, driver_id=request.driver.pk, actor=Actor.of_driver(request.user), now=timezone.now()
        )
    except REFUSED as error:
        messages.error(request, _words(error))
        return redirect("driver_window", pk=window.pk)
    for store, labels in result.hand_back.items():
        messages.warning(request, f"Give back to {store} before you go: {', '.join(labels)}.")
    for store, orders in _by_store(result.left_behind).items():
        messages.info(request, f"Left with {store}: {', '.join(order.external_id for order in orders)}.")
    left = len(result.left_behind)
    messages.success(
        request,
        f"Visit ended. {left} order{'s' if left != 1 else ''} stay{'s' if left == 1 else ''} with the stores."
        if left
        else "Visit ended with every parcel collected.",
    )
    return redirect("driver_run")


@require_POST
@driver_required
def window_release(request, pk):
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    try:
        services.window_give_back(window=window, driver=request.driver)
    except TransitionError as error:
        messages.error(request, str(error))
        return redirect("driver_window", pk=window.pk)
    messages.success(request, "You gave the pickup back; other drivers are being asked.")
    return redirect("driver_home")


def _by_store(orders) -> dict[str, list]:
    stores: dict[str, list] = {}
    for order in orders:
        stores.setdefault(order.store.name, []).append(order)
    return stores


def _codes_key(window) -> str:
    return f"store-codes:{window.pk}"


def _words(error: Exception) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@driver_required
def driver_run(request):
    """The delivery run: stops in route order with ETAs, and for each a Delivered and a Couldn't deliver form."""
    context = {
        "run": runs.driver_run(driver=request.driver, now=timezone.now()),
        "to_return": selectors.orders_to_return(request.driver).count(),
        "places": DELIVERY_PLACES.items(),
        "reasons": FAILURE_REASONS.items(),
    }
    return render(request, "deliveries/driver_run.html", context)


@require_POST
@driver_required
def order_deliver(request, pk):
    order = get_object_or_404(selectors.orders_of_driver(request.driver), pk=pk)
    form = DeliverForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_words(form))
        return redirect("driver_run")
    try:
        handoffs.order_deliver(
            order=order,
            driver=request.driver,
            left_at=form.cleaned_data["left_at"],
            recipient_name=form.cleaned_data["recipient_name"],
            photo=form.cleaned_data["photo"],
            location=posted_location(request.POST),
        )
    except REFUSED as error:
        messages.error(request, _words(error))
    else:
        messages.success(request, f"Delivered to {order.customer_first_name}.")
    return redirect("driver_run")


@require_POST
@driver_required
def order_fail(request, pk):
    order = get_object_or_404(selectors.orders_of_driver(request.driver), pk=pk)
    form = FailForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_words(form))
        return redirect("driver_run")
    try:
        handoffs.order_fail(
            order=order,
            driver=request.driver,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            location=posted_location(request.POST),
        )
    except REFUSED as error:
        messages.error(request, _words(error))
    else:
        messages.warning(request, f"Take {order.customer_first_name}'s parcel back to {order.store.name} today.")
    return redirect("driver_run")


@require_http_methods(["GET", "POST"])
@driver_required
def driver_returns(request):
    """Failed deliveries to hand back, store by store; a POST is a scan sent without JavaScript."""
    if request.method == "POST":
        form = ScanForm(request.POST)
        if not form.is_valid():
            messages.error(request, _form_words(form))
            return redirect("driver_returns")
        try:
            result = handoffs.orders_return(
                driver=request.driver,
                store_id=form.cleaned_data["store"],
                store_code=form.cleaned_data["store_code"],
                label_codes=form.cleaned_data["label_codes"],
                now=timezone.now(),
            )
        except REFUSED as error:
            messages.error(request, _words(error))
        else:
            for scan in result.scans:
                level = messages.SUCCESS if scan.result == "returned" else messages.WARNING
                messages.add_message(request, level, f"{scan.label_code}: {scan.message}")
        return redirect("driver_returns")
    stops = selectors.stops_of(
        selectors.orders_to_return(request.driver), done=lambda package, order: package.returned_at is not None
    )
    return render(request, "deliveries/driver_returns.html", {"stops": stops})


def _form_words(form) -> str:
    return " ".join(message for errors in form.errors.values() for message in errors)
