from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.errors import TransitionError
from notifications.selectors import in_app_messages

from . import selectors, services
from .access import driver_required


@driver_required
def driver_home(request):
    context = {
        "offers": selectors.open_offers(request.driver),
        "windows": selectors.windows_for_driver(request.driver).filter(ends_at__gt=timezone.now()),
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
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    return render(request, "deliveries/driver_window.html", {"window": window, "stops": selectors.manifest(window)})


@require_POST
@driver_required
def window_arrive(request, pk):
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    try:
        services.window_arrive(window=window, driver=request.driver)
    except TransitionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Checked in. The stores know you are here.")
    return redirect("driver_window", pk=window.pk)


@require_POST
@driver_required
def window_pickup(request, pk):
    """The manifest's checkboxes: the labels the driver scanned or checked off."""
    window = selectors.window_for_driver(driver=request.driver, pk=pk)
    try:
        result = services.window_pickup(
            window=window, driver=request.driver, label_codes=request.POST.getlist("label_codes")
        )
    except TransitionError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{len(result.picked_up)} order(s) picked up.")
        for tracking_code, missing in result.incomplete.items():
            messages.warning(request, f"{tracking_code}: still to collect {', '.join(missing)}.")
        if result.completed:
            return redirect("driver_home")
    return redirect("driver_window", pk=window.pk)
