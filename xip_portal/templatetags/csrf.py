from typing import Any

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def csrf_input(context: Any) -> SafeString:
    """`{% csrf_input as csrf %}`: the hidden input `{% csrf_token %}` renders (nothing
    without a request), rendered once for a template that repeats it in a loop as `{{ csrf }}`
    (the tag formats it again at each use)."""
    return SafeString(CsrfTokenNode().render(context))
