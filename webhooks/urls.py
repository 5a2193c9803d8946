from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.endpoint_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/switch/", views.endpoint_switch, name="webhook_switch"),
    path("webhooks/<int:pk>/rotate-secret/", views.endpoint_rotate_secret, name="webhook_rotate_secret"),
    path("webhooks/<int:pk>/test/", views.endpoint_test, name="webhook_test"),
    path("webhooks/<int:pk>/delete/", views.endpoint_delete, name="webhook_delete"),
    path("webhooks/deliveries/<int:pk>/resend/", views.delivery_resend, name="webhook_delivery_resend"),
]
