from django import template

register = template.Library()

_UNITS = ((7 * 24 * 60, "week"), (24 * 60, "day"), (60, "hour"), (1, "minute"))


@register.filter(name="minutes_as_duration")
def minutes_as_duration(minutes: int) -> str:
    """`{{ group.last_call_minutes|minutes_as_duration }}`, exactly: 10080 → "1 week",
    90 → "1 hour 30 minutes", 5 → "5 minutes"."""
    parts = []
    left = int(minutes)
    for size, name in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 minutes"
