"""How the dashboard writes its figures: rates as whole percents, durations in hours and minutes."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.953 as "95%"; no rate (nothing to count) as a dash."""
    return "–" if rate is None else f"{rate * 100:.0f}%"


@register.filter
def duration(gap: timedelta | None) -> str:
    """A span as "1 h 25 min" or "40 min"; none as a dash."""
    if gap is None:
        return "–"
    minutes = round(gap.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
