"""{% url %} keeps the URLs it reverses in the process: it gives what Django's tag gives,
for each request's script prefix, and raises or leaves the variable empty as Django's does
for a name that reverses to nothing."""

from types import SimpleNamespace

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse, set_script_prefix

from xip_portal.templatetags.kept_urls import _reversed


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_the_url_tag_gives_what_reverse_gives_from_the_first_page_on() -> None:
    _reversed.cache_clear()
    for _ in range(2):  # reversed, then kept
        assert render("{% url 'portfolio' %}") == reverse("portfolio")
        assert render("{% url 'market_detail' symbol %}", symbol="BTC-USDC") == reverse(
            "market_detail", args=["BTC-USDC"]
        )
        assert render(
            "{% url 'market_order_cancel' 'WC26-WINNER' order_id %}", order_id=12
        ) == reverse("market_order_cancel", args=["WC26-WINNER", 12])
        assert render("{% url 'settlement' slug=slug %}", slug="open") == reverse(
            "settlement", kwargs={"slug": "open"}
        )
    assert _reversed.cache_info().hits == 4


def test_a_symbol_is_escaped_as_django_escapes_it() -> None:
    assert render("{% url 'market_detail' symbol %}", symbol="A&B") == reverse(
        "market_detail", args=["A&B"]
    ).replace("&", "&amp;")


def test_each_request_has_its_script_prefix() -> None:
    template = Template("{% url 'portfolio' %} {% url 'market_detail' 'BTC-USDC' %}")
    try:
        for prefix in ("/", "/portal/", "/"):
            set_script_prefix(prefix)
            request = RequestFactory().get("/")
            assert template.render(RequestContext(request)) == (
                f"{prefix}portfolio/ {prefix}markets/BTC-USDC/"
            )
    finally:
        set_script_prefix("/")


def test_other_arguments_are_reversed_each_time() -> None:
    # (a model instance, say: its text may change while it stays equal)
    class Symbol:
        def __init__(self) -> None:
            self.text = "BTC-USDC"

        def __str__(self) -> str:
            return self.text

    symbol = Symbol()
    assert render("{% url 'market_detail' symbol %}", symbol=symbol) == "/markets/BTC-USDC/"
    symbol.text = "ETH-PERP"
    assert render("{% url 'market_detail' symbol %}", symbol=symbol) == "/markets/ETH-PERP/"


def test_a_name_without_url_raises_or_leaves_the_variable_empty() -> None:
    with pytest.raises(NoReverseMatch):
        render("{% url 'no_such_page' %}")
    assert render("{% url 'no_such_page' as link %}[{{ link }}]") == "[]"
    assert render("{% url 'portfolio' as link %}[{{ link }}]") == f"[{reverse('portfolio')}]"


def test_the_current_application_is_part_of_the_key() -> None:
    request = SimpleNamespace(current_app="admin")
    assert Template("{% url 'admin:index' %}").render(Context({"request": request})) == "/admin/"
