"""Which web pages may ask for quotes from the browser: CORS on the quote endpoint, per publishable key."""

import re

from corsheaders.conf import conf

from merchants.services import api_key_origin_listed


def publishable_origin_allowed(sender, request, **kwargs) -> bool:
    """django-cors-headers' check_request_enabled: allow the request's Origin if an active publishable key lists it.

    Only on the quote endpoint (CORS_URLS_REGEX): the middleware turns CORS on for any path a handler
    answers True for, so every other path is refused here before any lookup. Preflights carry no key, so
    they pass for any listed origin; the POST itself is refused (403) unless its own key lists the origin
    (merchants.api.authentication). The lookup is cached (merchants.services.api_key_origin_listed).
    """
    if not re.match(conf.CORS_URLS_REGEX, request.path_info):
        return False
    return api_key_origin_listed(request.headers.get("Origin", ""))
