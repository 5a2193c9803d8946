from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from embed import views as embed_views
from merchants import views as merchant_views

from . import views

admin.site.site_header = "Mall Pickup program admin"
admin.site.site_title = "Mall Pickup admin"

# Swagger UI under the Content-Security-Policy: the split view loads its start-up script from a second request
# (?script) instead of inlining it; its page keeps one fixed inline <style> (drf_spectacular/swagger_ui.html,
# allowed by its hash) and its stylesheet draws icons from data: images.
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"
api_docs = csp_update({"style-src": [SWAGGER_UI_STYLE_HASH], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/password_reset/", merchant_views.password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    # The delivery promise for shops' own pages: the script (any site may load it) and its demo (development only).
    path("embed/promise.js", embed_views.promise_js, name="embed_promise_js"),
    path("embed/demo/", embed_views.promise_demo, name="embed_promise_demo"),
    path("", views.home, name="home"),
    path("driver/", include("deliveries.urls")),
    path("", include("merchants.urls")),
    path("", include("pickups.urls")),
    path("", include("webhooks.urls")),
]

handler404 = "common.api.not_found"  # JSON under /api/, like every other API error
handler500 = "common.api.server_error"  # a lost database connection is a 503 to retry, not a 500
