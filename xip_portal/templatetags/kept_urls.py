"""`{% url %}` with the URLs it reverses kept in the process.

Reversing a URL costs 80,000 to 110,000 instructions (a page has 20 to 40 of them, the
navigation's the same on every page), while what it gives depends only on the URLconf, the
script prefix and the language, which are the same for a whole request (read once, kept on
it), and on the view's name, the current application and the arguments. For arguments that
are strings or integers (their text is their value) those are the cache's key; a URL with
other arguments is reversed each time. Registered as a builtin of the template engine (settings
TEMPLATES), this tag replaces Django's of the same name in every template."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.http import HttpRequest
from django.template.base import Parser, Token
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as url_tag
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.resolvers import URLResolver
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# one entry per distinct URL a page shows: the registry's markets and groups, not orders
KEPT_URLS = 4096
# the types of the arguments whose text is their value (a template's literal is a SafeString)
KEPT_ARGUMENTS = (str, SafeString, int)


@lru_cache(maxsize=KEPT_URLS)
def _reversed(
    resolver: URLResolver,
    prefix: str,
    language: str | None,
    view_name: str,
    args: tuple[str | int, ...],
    kwargs: tuple[tuple[str, str | int], ...],
    current_app: str | None,
) -> str:
    # the resolver, prefix and language are the key: reverse() reads them itself
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


def _scope(request: HttpRequest | None) -> tuple[URLResolver, str, str | None]:
    """The request's URLconf, script prefix and language (each read from a thread's or
    task's local storage, which costs about 20,000 instructions), kept on the request."""
    scope: tuple[URLResolver, str, str | None] | None = getattr(request, "_url_scope", None)
    if scope is None:
        scope = (get_resolver(get_urlconf()), get_script_prefix(), get_language())
        if request is not None:
            request._url_scope = scope  # type: ignore[attr-defined]
    return scope


class KeptURLNode(URLNode):
    """Django's URLNode, with reverse() through _reversed() where the arguments allow."""

    def render(self, context: Any) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        if any(type(value) not in KEPT_ARGUMENTS for value in (*args, *kwargs.values())):
            return super().render(context)
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _reversed(
                *_scope(getattr(context, "request", None)),
                view_name,
                tuple(args),
                tuple(sorted(kwargs.items())),
                current_app,
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> KeptURLNode:
    """As Django's {% url %}: `{% url 'name' arg1 name=arg2 [as var] %}`."""
    node = url_tag(parser, token)
    return KeptURLNode(node.view_name, node.args, node.kwargs, node.asvar)
