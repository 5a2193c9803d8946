"""Version 1 of the REST API, under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("merchants.api.urls")),
    path("", include("pickups.api.urls")),
    path("", include("deliveries.api.urls")),
    path("", include("webhooks.api.urls")),
]
