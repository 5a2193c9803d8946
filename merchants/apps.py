from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = "Merchants and stores"

    def ready(self):
        from .api import schema  # noqa: F401  registers the API-key scheme with drf-spectacular
