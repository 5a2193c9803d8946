from django.apps import AppConfig


class PickupsConfig(AppConfig):
    name = "pickups"
    verbose_name = "Orders and pickup windows"
