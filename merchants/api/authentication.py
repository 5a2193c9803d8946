from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from merchants.services import api_key_authenticate

PUBLISHABLE_KEY_REFUSED = (
    "This is a publishable key (mpk_pub_…): it can only ask for delivery quotes (POST /api/v1/quotes/) from "
    "the web pages it lists. Use a secret key (mpk_…) from your server for everything else."
)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer mpk_...`: the request acts for the key's merchant, with no user.

    A publishable key is public (it is in the merchant's web pages), so it is refused here, 403, on every
    view that does not say `publishable_keys_allowed = True` (the quote endpoint) and from any web origin
    it does not list. Refusing it at authentication rather than in a permission means no view can forget:
    driver, owner-only and future endpoints alike.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if len(header) != 2 or header[0] != self.keyword or not header[1].startswith("mpk_"):
            return None
        api_key = api_key_authenticate(header[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or revoked.")
        if api_key.is_publishable:
            self._check_publishable(request, api_key)
        return AnonymousUser(), api_key

    def _check_publishable(self, request, api_key) -> None:
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if not getattr(view, "publishable_keys_allowed", False):
            raise exceptions.PermissionDenied(PUBLISHABLE_KEY_REFUSED)
        origin = request.headers.get("Origin", "")
        if not api_key.allows_origin(origin):
            came_from = f"a page at {origin}" if origin else "no web page (no Origin header)"
            raise exceptions.PermissionDenied(
                f"This publishable key works only in web pages at {', '.join(api_key.allowed_origins)}; this "
                f"request came from {came_from}. Create a publishable key listing that address on the API keys "
                "page, or ask from your server with a secret key."
            )

    def authenticate_header(self, request):
        return self.keyword
