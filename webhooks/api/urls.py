from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import DeliveryResendView, EndpointViewSet

router = SimpleRouter()
router.register("webhooks", EndpointViewSet, basename="webhook")

urlpatterns = [
    *router.urls,
    path("webhook-deliveries/<int:pk>/resend/", DeliveryResendView.as_view(), name="webhook-delivery-resend"),
]
