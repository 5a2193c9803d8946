from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Drivers and deliveries"

    def ready(self):
        from .api import schema  # noqa: F401  registers the drivers' token scheme with drf-spectacular
