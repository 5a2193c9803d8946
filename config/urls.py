from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from merchants.forms import OutboxPasswordResetForm

from . import views

admin.site.site_header = "Mall Pickup program admin"
admin.site.site_title = "Mall Pickup admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=OutboxPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("", views.home, name="home"),
    path("driver/", include("deliveries.urls")),
    path("", include("merchants.urls")),
    path("", include("pickups.urls")),
]
