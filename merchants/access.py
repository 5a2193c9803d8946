"""Who may open a portal page: decorators that resolve the caller's merchant or refuse."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .selectors import membership_for_user
from .standing import UNCONFIRMED, merchant_standing


def merchant_required(view):
    """Logged in and on a merchant's team; sets `request.membership` and `request.merchant`.

    A merchant whose owner has not confirmed the signup email may do nothing yet: every page leads
    to the page that says so and sends the link again."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        membership = membership_for_user(request.user)
        if membership is None:
            raise PermissionDenied("This login does not belong to a merchant.")
        if merchant_standing(membership.merchant) == UNCONFIRMED:
            return redirect("email_confirmation")
        request.membership = membership
        request.merchant = membership.merchant
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view):
    """Like merchant_required, for pages only the merchant's owners may use (team, API keys)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_owner:
            raise PermissionDenied("Only the account owner can manage this.")
        return view(request, *args, **kwargs)

    return merchant_required(wrapper)
