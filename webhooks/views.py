"""The owners' Webhooks pages: endpoints, their secrets (shown once), and what was sent to each."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from common.errors import NotAllowedError, TransitionError
from merchants.access import owner_required

from . import selectors, services
from .forms import EndpointForm

PAGE_SIZE = 25
# What a service refuses with, said to the owner as a message.
REFUSED = (NotAllowedError, TransitionError, ValidationError)


@never_cache  # it may hold a secret
@owner_required
def endpoint_list(request):
    """List and add endpoints; a new endpoint's secret is shown once, on this response only."""
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = services.endpoint_create(
                merchant=request.merchant, url=data["url"], events=data["events"], description=data["description"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        except NotAllowedError as error:
            form.add_error(None, str(error))
        else:
            return _list(request, EndpointForm(), secret_for=endpoint)
    return _list(request, form)


@require_POST
@owner_required
def endpoint_switch(request, pk):
    """Switch an endpoint on (which clears why it was off) or off; `on` says which, so a stale page
    cannot flip it the wrong way."""
    endpoint = selectors.endpoint_for_merchant(merchant=request.merchant, pk=pk)
    switch_on = request.POST.get("on") == "1"
    try:
        services.endpoint_update(endpoint=endpoint, is_active=switch_on)
    except REFUSED as error:
        messages.error(request, _words(error))
        return redirect("webhooks")
    if switch_on:
        messages.success(request, f"Events go to {endpoint.url} again.")
    else:
        messages.success(request, f"Nothing more is sent to {endpoint.url} until you switch it on.")
    return redirect("webhooks")


@never_cache
@require_POST
@owner_required
def endpoint_rotate_secret(request, pk):
    """A new secret, shown once on this response; the old one keeps signing for a while (and until it
    stops, rotating again is refused, so a reloaded page cannot rotate twice)."""
    endpoint = selectors.endpoint_for_merchant(merchant=request.merchant, pk=pk)
    try:
        endpoint = services.endpoint_rotate_secret(endpoint=endpoint)
    except REFUSED as error:
        messages.error(request, _words(error))
        return redirect("webhooks")
    return _list(request, EndpointForm(), secret_for=endpoint)


@require_POST
@owner_required
def endpoint_test(request, pk):
    endpoint = selectors.endpoint_for_merchant(merchant=request.merchant, pk=pk)
    try:
        services.endpoint_test(endpoint=endpoint)
    except REFUSED as error:
        messages.error(request, _words(error))
    else:
        messages.success(request, "Test event on its way: it shows below within a few seconds (reload the page).")
    return redirect("webhook_detail", pk=endpoint.pk)


@require_POST
@owner_required
def endpoint_delete(request, pk):
    endpoint = selectors.endpoint_for_merchant(merchant=request.merchant, pk=pk)
    endpoint.delete()
    messages.success(request, f"Removed {endpoint.url}: nothing more is sent to it.")
    return redirect("webhooks")


@owner_required
def endpoint_detail(request, pk):
    """Recent deliveries to one endpoint, newest first, each with its attempts."""
    endpoint = selectors.endpoint_for_merchant(merchant=request.merchant, pk=pk)
    page = Paginator(selectors.deliveries_for_endpoint(endpoint), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "page": page, "zone": selectors.merchant_time_zone(request.merchant)}
    return render(request, "webhooks/endpoint_detail.html", context)


@require_POST
@owner_required
def delivery_resend(request, pk):
    delivery = selectors.delivery_for_merchant(merchant=request.merchant, pk=pk)
    try:
        services.delivery_resend(delivery=delivery)
    except REFUSED as error:
        messages.error(request, _words(error))
    else:
        messages.success(request, f"Sending “{delivery.type}” again now, with the same event id.")
    return redirect("webhook_detail", pk=delivery.endpoint_id)


def _words(error: Exception) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def _list(request, form, secret_for=None):
    context = {
        "form": form,
        "endpoints": selectors.endpoints_for_merchant(request.merchant),
        "secret_for": secret_for,
        "now": timezone.now(),
        "zone": selectors.merchant_time_zone(request.merchant),
    }
    return render(request, "webhooks/endpoint_list.html", context)
