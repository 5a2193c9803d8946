from rest_framework.permissions import BasePermission

from common.actors import Actor
from merchants.models import ApiKey
from merchants.selectors import membership_for_user
from merchants.standing import API_KEY_USE, READ, merchant_refusal


class IsMerchant(BasePermission):
    """An API key, or a logged-in member of a merchant's team; sets `request.merchant`.

    Every merchant endpoint scopes its queries to `request.merchant`, so another tenant's rows
    are simply not there (404). An API key works only while its merchant is approved (403 with the
    reason otherwise; the key is kept); a member's login reads as the portal does, and each write is
    checked by its service (merchants.standing). A publishable key gets here only on the quote endpoint,
    from a web origin it lists: ApiKeyAuthentication refuses it everywhere else.
    """

    message = "This login does not belong to a merchant."

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiKey):
            request.merchant = request.auth.merchant
            return self._may(request.merchant, API_KEY_USE)
        membership = membership_for_user(request.user)
        request.merchant = membership.merchant if membership else None
        return request.merchant is not None and self._may(request.merchant, READ)

    def _may(self, merchant, action) -> bool:
        refusal = merchant_refusal(merchant, action)
        if refusal:
            self.message = refusal
        return not refusal


def actor_of(request) -> Actor:
    """Whoever makes this API request, as the ledger names them."""
    if isinstance(request.auth, ApiKey):
        return Actor(user=None, label=f"API key “{request.auth.name}” ({request.auth.prefix}…)")
    return Actor.of_user(request.user)
