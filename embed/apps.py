from django.apps import AppConfig


class EmbedConfig(AppConfig):
    name = "embed"
    verbose_name = "Embeddable delivery promise"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        from .cors import publishable_origin_allowed

        check_request_enabled.connect(publishable_origin_allowed, dispatch_uid="embed.publishable_origin_allowed")
