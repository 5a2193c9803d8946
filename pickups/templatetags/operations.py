from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from pickups.work_queues import queue_counts

register = template.Library()


@register.inclusion_tag("admin/work_queues.html")
def work_queues():
    return {"queues": queue_counts()}


@register.simple_tag
def local_time(instant, zone_name: str, pattern: str = "D M j, g:i A T"):
    """An instant in a site's own time with its zone's abbreviation; UTC on hover."""
    if instant is None:
        return "–"
    local = timezone.localtime(instant, ZoneInfo(zone_name))
    return format_html(
        '<span title="{} UTC">{}</span>', instant.strftime("%Y-%m-%d %H:%M"), date_format(local, pattern)
    )
