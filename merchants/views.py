from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.clients import client_address
from common.errors import NotAllowedError, TooManyAttemptsError, TransitionError

from . import selectors, services, standing
from .access import merchant_required, owner_required
from .forms import (
    ApiKeyForm,
    ClosureFormSet,
    InvitationForm,
    OutboxPasswordResetForm,
    SetPasswordForm,
    SignupForm,
    StoreForm,
    WeeklyHoursForm,
    error_summary,
)
from .models import Store


def signup(request):
    form = SignupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.merchant_signup(
                business_name=data["business_name"],
                owner_name=data["owner_name"],
                email=data["email"],
                password=data["password"],
                phone=data["phone"],
                client=client_address(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        except TooManyAttemptsError as error:
            form.add_error(None, str(error))
            status = 429
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("email_confirmation")
    return render(request, "merchants/signup.html", {"form": form}, status=status)


@login_required
def email_confirmation(request):
    """After signup: "check your email", and a button to send the link again (rate-limited)."""
    membership = selectors.membership_for_user(request.user)
    if membership is None:
        raise PermissionDenied("This login does not belong to a merchant.")
    merchant = request.merchant = membership.merchant  # for the account banner
    if merchant.email_confirmed_at is not None:
        return redirect("dashboard")
    status = 200
    if request.method == "POST":
        try:
            services.merchant_confirmation_resend(merchant=merchant, user=request.user, client=client_address(request))
        except TooManyAttemptsError as error:
            messages.error(request, str(error))
            status = 429
        else:
            messages.success(request, f"We sent a new link to {merchant.contact_email}.")
            return redirect("email_confirmation")
    context = {"merchant": merchant, "valid_days": services.CONFIRMATION_LINK_LIFETIME.days}
    return render(request, "merchants/email_confirmation.html", context, status=status)


def email_confirm(request, token):
    """The emailed link: a page with a button, so a mail scanner opening the link confirms nothing."""
    try:
        merchant = services.merchant_for_confirmation(token)
    except services.ConfirmationLinkError as error:
        context = {"error": str(error), "expired": error.expired}
        return render(request, "merchants/email_confirm_invalid.html", context, status=400)
    if request.method == "POST":
        services.merchant_email_confirm(merchant=merchant)
        messages.success(request, "Thank you, your email is confirmed. We review new accounts within one business day.")
        return redirect("dashboard")
    return render(request, "merchants/email_confirm.html", {"merchant": merchant})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset through the outbox, limited per client and per address (429 over it).

    Routed at /accounts/password_reset/ (config/urls.py)."""

    form_class = OutboxPasswordResetForm

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"request": self.request}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.rate_limited:
            response.status_code = 429
        return response


password_reset = PasswordResetView.as_view()


@merchant_required
def store_list(request):
    stores = selectors.stores_for_merchant(request.merchant)
    return render(request, "merchants/store_list.html", {"stores": stores})


@merchant_required
def store_create(request):
    return _store_form(request, Store())


@merchant_required
def store_edit(request, pk):
    return _store_form(request, selectors.store_for_merchant(merchant=request.merchant, pk=pk))


def _store_form(request, store):
    refusal = standing.merchant_refusal(request.merchant, standing.ADD)
    if refusal:
        messages.error(request, refusal)
        return redirect("store_list")
    data = request.POST if request.method == "POST" else None
    form = StoreForm(data, instance=store)
    hours_form = WeeklyHoursForm(data, store=store)
    closures = ClosureFormSet(data, instance=store, prefix="closures")
    if request.method == "POST" and all([form.is_valid(), hours_form.is_valid(), closures.is_valid()]):
        try:
            services.store_save(
                merchant=request.merchant,
                store=form.instance,
                mall=form.cleaned_data["mall"],
                address=form.standalone_address(),
                hours=hours_form.hours,
                closures=[
                    (item["date"], item["reason"])
                    for item in closures.cleaned_data
                    if item.get("date") and not item.get("DELETE")
                ],
            )
        except NotAllowedError as error:
            messages.error(request, str(error))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved {form.instance.name}.")
            return redirect("store_list")
    context = {
        "form": form,
        "hours_form": hours_form,
        "closures": closures,
        "store": store,
        "problems": error_summary(form, hours_form, closures),
    }
    return render(request, "merchants/store_form.html", context)


@owner_required
def team(request):
    form = InvitationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                merchant=request.merchant,
                email=form.cleaned_data["email"],
                invited_by=request.user,
                client=client_address(request),
            )
        except ValidationError as error:
            form.add_error("email", error.message_dict["email"])
        except NotAllowedError as error:
            form.add_error(None, str(error))
            status = 403
        except TooManyAttemptsError as error:
            form.add_error(None, str(error))
            status = 429
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("team")
    context = {
        "form": form,
        "members": selectors.team_for_merchant(request.merchant),
        "invitations": selectors.open_invitations(request.merchant),
        "refusal": standing.merchant_refusal(request.merchant, standing.INVITE),
    }
    return render(request, "merchants/team.html", context, status=status)


@require_POST
@owner_required
def member_remove(request, pk):
    member = selectors.member_for_merchant(merchant=request.merchant, pk=pk)
    try:
        services.membership_remove(membership=member)
    except TransitionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{member.user.email} no longer has access.")
    return redirect("team")


def invitation_accept(request, token):
    invitation = services.invitation_for_token(token)
    if invitation is None:
        raise Http404("This invitation link is unknown, already used or expired.")
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept(
                invitation=invitation, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        except (TransitionError, NotAllowedError) as error:
            form.add_error(None, str(error))
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to the {invitation.merchant} team.")
            return redirect("dashboard")
    return render(request, "merchants/invitation_accept.html", {"form": form, "invitation": invitation})


@owner_required
def api_keys(request):
    """Owners create and revoke API keys, secret and publishable; a new key is shown once, on this response
    only (a publishable one with the snippet that puts the delivery promise in a web page)."""
    form = ApiKeyForm(request.POST or None)
    new_key = created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created, new_key = services.api_key_create(
                merchant=request.merchant,
                name=data["name"],
                created_by=request.user,
                kind=data["kind"],
                allowed_origins=data["allowed_origins"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        except NotAllowedError as error:
            form.add_error(None, str(error))
            status = 403
        else:
            form = ApiKeyForm()
    publishable = created is not None and created.is_publishable
    context = {
        "form": form,
        "keys": selectors.api_keys_for_merchant(request.merchant),
        "new_key": new_key,
        "new_key_publishable": publishable,
        "stores": selectors.stores_for_merchant(request.merchant).filter(is_active=True) if publishable else [],
        "portal_url": settings.PORTAL_URL,
        "refusal": standing.merchant_refusal(request.merchant, standing.API_KEY_CREATE),
    }
    return render(request, "merchants/api_keys.html", context, status=status)


@require_POST
@owner_required
def api_key_revoke(request, pk):
    api_key = selectors.api_key_for_merchant(merchant=request.merchant, pk=pk)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"The key “{api_key.name}” no longer works.")
    return redirect("api_keys")
