import hashlib
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import condition, require_safe

SCRIPT_PATH = settings.BASE_DIR / "static" / "embed" / "promise.js"
# Shops embed one fixed address, so the script cannot be fingerprinted and cached for ever: browsers and CDNs
# keep it a day and may serve it a week longer while they check it again (cheaply: ETag), so a fix reaches
# every shop within a day.
SCRIPT_CACHE_CONTROL = "public, max-age=86400, stale-while-revalidate=604800"


@lru_cache(maxsize=1)
def _script_cached() -> tuple[bytes, str]:
    body = SCRIPT_PATH.read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]


def _script() -> tuple[bytes, str]:
    """The script and its ETag; read once per process, except in development where it is being edited."""
    if settings.DEBUG:
        _script_cached.cache_clear()
    return _script_cached()


@require_safe
@condition(etag_func=lambda request: _script()[1])
def promise_js(request):
    """The embeddable delivery promise, for any web page to load (`<script src=".../embed/promise.js">`)."""
    response = HttpResponse(_script()[0], content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = SCRIPT_CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"  # also with crossorigin="anonymous" or from a module
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # shops whose pages require it (COEP)
    return response


def promise_demo(request):
    """A pretend shop checkout with the widget, against the demo data: development only (404 otherwise)."""
    if not settings.DEBUG:
        raise Http404("The widget demo is served in development only.")
    from demo.seed import widget_demo  # the demo app is only needed here, in development

    demo = widget_demo()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(request.build_absolute_uri("/")))
    context = {
        "demo": demo,
        "origin": origin,
        "origin_listed": bool(demo) and demo["api_key"].allows_origin(origin),
        "portal_url": settings.PORTAL_URL,
    }
    return render(request, "embed/promise_demo.html", context)
