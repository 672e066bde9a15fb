from django import template
from django.utils.safestring import SafeString

from governance.proposals.markdown_render import markdown_render

register = template.Library()


@register.filter(name="xip_markdown")
def xip_markdown(text: str) -> SafeString:
    """`{{ proposal.body|xip_markdown }}`: sanitised HTML of a markdown text."""
    return markdown_render(text)
