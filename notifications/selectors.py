from django.db.models import QuerySet

from .models import Notification


def in_app_messages(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, channel=Notification.Channel.IN_APP).order_by("-created_at")
