"""A property of the whole portal: whatever hostile value arrives in whichever field of any
form or API operation (huge, negative, NaN, Infinity, exponents, unicode digits, NUL, lone
surrogates, impossible dates, deep nesting), the answer is never a server error, and a
refused request stores nothing.

The forms are found by reading every page a site admin (also a member, an institution
admin and an author) can open; the API operations come from the OpenAPI schema. A test
fails when a new page or operation has a path argument this module cannot fill, so nothing
escapes the sweep. Derandomized, with few examples: every field meets several hostile
values on every run, and the run stays short."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from governance.proposals.forms import SPEC_FIELDS
from governance.proposals.models import ProposalType
from tests.markets.factories import spot_spec
from tests.url_routes import World, db_writes, route_paths, url_routes
from xip_portal.models import User

pytestmark = pytest.mark.django_db

HOSTILE_TEXT = [
    "1e1000000",
    "-1e1000000",
    "1e-1000000",
    str(10**30),
    str(2**31),
    str(2**63),
    str(-(2**31) - 1),
    "-1",
    "NaN",
    "Infinity",
    "-Infinity",
    "١٢٣",  # Arabic-Indic digits
    "１２",  # full-width digits
    "0x10",
    "1_000",
    "9" * 5000,
    "2030-02-30T00:00:00Z",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+01:00",
    "10000-01-01T00:00",
    "2030-13-01",
    "\x00",
    "BTC\x00USDC",
    "x" * 20_000,
    "",
]
# JSON can carry what a form cannot: real numbers, lone surrogates, nesting.
DEEP = reduce(lambda inner, _: [inner], range(200), [])
HOSTILE_JSON_EXTRA: list[Any] = [
    10**30,
    -(2**63),
    2**31,
    1e308,
    -0.0,
    None,
    True,
    "\ud800",
    DEEP,
    {"a": DEEP},
    [],
    {},
]
hostile_text = st.sampled_from(HOSTILE_TEXT)
hostile_json = st.one_of(
    hostile_text,
    st.sampled_from(HOSTILE_JSON_EXTRA),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**80), max_value=2**80),
)
# Which fields of a request get the hostile value: every `stride`th from `offset`, the
# others a plausible value (the page's own, or a sound one for the API), so the checks
# behind the first refusal are reached too (a sound lot, then a huge minimum size).
# (A stride past a body's field count makes one field the only hostile one.)
spread = st.tuples(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=39))
EVERY_FIELD = (1, 0)


def _field_value(value: Any, plausible: Any, spread: tuple[int, int], index: int) -> Any:
    stride, offset = spread
    return value if index % stride == offset % stride else plausible


class _Leaves:
    """Decides each field of a body in order: the hostile value, or a plausible one (named
    in PLAUSIBLE, else the first choice, True, the minimum, an empty list or "1")."""

    def __init__(self, value: Any, spread: tuple[int, int], named: dict[str, Any]) -> None:
        self.value, self.spread, self.named = value, spread, named
        self.indexes = itertools.count()

    def hostile(self) -> bool:
        return _field_value(True, False, self.spread, next(self.indexes))

    def plausible(self, name: str, node: dict[str, Any]) -> Any:
        if name in self.named:
            return self.named[name]
        if node.get("enum"):
            return node["enum"][0]
        kinds = {"boolean": True, "integer": node.get("minimum", 1), "number": 1, "array": []}
        return kinds.get(node.get("type", ""), "1")


PLAUSIBLE: dict[str, Any] = {
    **spot_spec(symbol="HOST-USDC"),
    "spec": spot_spec(symbol="HOST-USDC"),
    "title": "Hostile",
    "proposal_type": "market",
    "body": "Why.",
    "reason": "Why.",
    "choice": "for",
    "move": "schedule",
    "launch_at": "2031-01-01T00:00:00Z",
    "name": "Hostile group",
    "kind": "permissionless",
    "role": "member",
    "email": "someone@example.test",
    "share_percent": "50",
    "country": "DE",
    "haircut_bps": 100,
    "vote_quorum": 3,
    "last_call_minutes": 24,
}
SPEC_KEYS = sorted({name for fields in SPEC_FIELDS.values() for name in fields})

# Pages that render no form of their own, or only download/redirect.
# (the live stream is an event stream, served under ASGI: tests/trading/test_live_stream.py
# sends it what it refuses)
NOT_FORMS = {
    "healthz",
    "api_token_action",
    "kyc_document_download",
    "kyc_review_document",
    "live_stream",
}
# Routes with path arguments the world does not fill: posted to by forms found on other
# pages, or taking no input but the path (downloads, deletions).
REACHED_OTHERWISE = {
    "proposal_action",
    "proposal_staff_action",
    "kyc_document_upload",
    "kyc_document_delete",
    "kyc_submit",
    "kyc_document_download",
    "kyc_review_document",
    "market_staff_action",
    "market_resolution_action",
    "market_oracle_price",
    "api_kyc_document",
    "api_kyc_document_delete",
    "api_kyc_review_document",
    "api_key_revoke",
    "api_api_key",
    "withdrawal_claim",
    # a withdrawal of the trader's own (tests/engine/chain/test_proof_pages_and_api.py)
    "api_withdrawal",
    "api_withdrawal_proof",
    "api_withdrawal_claim",
    # an open order's buttons on a live market's page (tests/trading, tests/browser)
    "market_order_cancel",
    "market_order_amend",
    "membership_revoke",
    "board_buy",
}
FUZZ = settings(
    max_examples=4,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_route_with_arguments_is_filled_or_reached_otherwise(world: World) -> None:
    unfilled = {name for route, name in url_routes() if "<" in route and name not in world.kwargs}

    assert unfilled == REACHED_OTHERWISE


def _check(response: Any, what: str, before: int) -> None:
    status = response.status_code
    assert status < 500, f"{what} answered {status}"
    if 400 <= status < 500:
        assert db_writes() == before, f"{what} was refused ({status}) but wrote to the database"


# Forms.


@dataclass
class Form:
    action: str
    fields: dict[str, str]  # hidden fields and buttons, sent as they are
    fuzzed: list[str]
    defaults: dict[str, str] = field(default_factory=dict)  # what the page filled in


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._field = ""
        self._in_textarea = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        self._in_textarea = tag == "textarea"
        if tag == "form" and attr.get("method", "get").lower() == "post":
            self._current = Form(attr.get("action", ""), {}, [])
        elif self._current is not None and attr.get("name"):
            name, kind = attr["name"], attr.get("type", "text").lower()
            if name == "csrfmiddlewaretoken" or tag == "button" or kind in ("hidden", "submit"):
                self._current.fields.setdefault(name, attr.get("value", ""))
            elif tag in ("input", "select", "textarea") and name not in self._current.fuzzed:
                self._current.fuzzed.append(name)
                self._current.defaults[name] = attr.get("value", "")
                self._field = name
        elif self._current is not None and tag == "option" and self._field:
            chosen = self._current.defaults.get(self._field, "")
            if attr.get("value") and (not chosen or "selected" in attr):
                self._current.defaults[self._field] = attr["value"]

    def handle_data(self, data: str) -> None:
        if self._current is not None and self._field and self._in_textarea:
            self._current.defaults[self._field] += data

    def handle_endtag(self, tag: str) -> None:
        self._in_textarea = False
        if tag == "form" and self._current is not None:
            self.forms.append(self._current)
            self._current = None


def _forms(client: Client, world: World) -> tuple[list[tuple[str, Form]], set[str]]:
    """Every POST form on every page, and the url names of the pages that were read."""
    found, read = [], set()
    for route, name in url_routes():
        if route.startswith("api/") or name in NOT_FORMS:
            continue
        paths = route_paths(world, name, route)
        if name == "proposal_new":  # the draft editor has the spec fields of each type
            paths += [f"{paths[0]}?type={kind}" for kind in ProposalType.values]
        for path in paths:
            page = client.get(path)
            assert page.status_code < 500, f"GET {path} answered {page.status_code}"
            read.add(name)
            if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
                continue
            reader = _FormReader()
            reader.feed(page.content.decode())
            for form in reader.forms:
                action = urlsplit(form.action).path or path
                if not action.startswith("/accounts/"):  # allauth's own (log out!), below
                    found.append((action, form))
    return found, read


def _one_per_page(forms: list[tuple[str, Form]]) -> list[tuple[str, Form]]:
    """The first of forms that differ only in the object they act on (a comment form on
    each of three proposals is one form)."""
    kept: dict[tuple[str | None, str, tuple[str, ...]], tuple[str, Form]] = {}
    for action, form in forms:
        match = resolve(urlsplit(action).path)
        key = (match.url_name, str(match.kwargs.get("action", "")), tuple(form.fuzzed))
        kept.setdefault(key, (action, form))
    return list(kept.values())


# Each example sends one hostile value to every field at once (each field is still read and
# reported on its own); the explicit examples are the findings of the attacker's sweep.
@FUZZ
@given(value=hostile_text, spread=spread)
@example(value="\x00", spread=EVERY_FIELD)
@example(value="1e1000000", spread=EVERY_FIELD)
@example(value=str(10**30), spread=EVERY_FIELD)
@example(value="2030-02-30T00:00:00Z", spread=EVERY_FIELD)
@example(value="9999-12-31T23:00:00-05:00", spread=EVERY_FIELD)
@example(value="NaN", spread=EVERY_FIELD)
@example(value="١٢٣", spread=EVERY_FIELD)
def test_no_hostile_form_value_makes_a_page_fail_or_is_stored(
    world: World, login: Callable[[User], Client], value: str, spread: tuple[int, int]
) -> None:
    client = login(world.actor)
    if not world.forms:  # read once; the examples reuse them
        forms, read = _forms(client, world)
        unreached = {name for route, name in url_routes() if not route.startswith("api/")} - read
        assert unreached <= NOT_FORMS | REACHED_OTHERWISE
        world.forms = _one_per_page(forms)
        assert len(world.forms) >= 20, [action for action, _ in world.forms]
    for action, form in world.forms:
        before = db_writes()
        values = {
            name: _field_value(value, form.defaults.get(name, ""), spread, index)
            for index, name in enumerate(form.fuzzed)
        }
        response = client.post(action, form.fields | values)
        _check(response, f"POST {action} {values}"[:2000], before)


def test_the_sign_up_and_login_forms_refuse_hostile_values(client: Client) -> None:
    for value in HOSTILE_TEXT:
        for path, fields in (
            ("/accounts/signup/", ("email", "display_name", "password1", "password2")),
            ("/accounts/login/", ("login", "password")),
        ):
            before = db_writes()
            response = client.post(path, dict.fromkeys(fields, value))
            _check(response, f"POST {path} {value[:20]!r}", before)


# API operations.


def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


_OMIT = object()


def _hostile_body(
    schema: dict[str, Any],
    node: dict[str, Any],
    leaves: _Leaves,
    name: str = "",
    depth: int = 0,
    required: bool = True,
) -> Any:
    """A body shaped like `node`: each leaf field hostile, or (as `leaves` decide) left out
    when optional and plausible when required; an array holds one hostile item."""
    node = _resolved(schema, node)
    if node.get("properties") and depth <= 2:
        needed = set(node.get("required", []))
        fields = {
            key: _hostile_body(schema, sub, leaves, key, depth + 1, key in needed)
            for key, sub in node["properties"].items()
        }
        body = {key: value for key, value in fields.items() if value is not _OMIT}
        return body if body or required else _OMIT
    if node.get("type") == "object" and depth <= 2:  # free-form JSON: an XIP spec
        spec = dict(PLAUSIBLE["spec"])
        spec.update({key: leaves.value for key in SPEC_KEYS if leaves.hostile()})
        return spec
    if not leaves.hostile():
        return leaves.plausible(name, node) if required else _OMIT
    if node.get("type") == "array" and "items" in node and depth <= 2:
        return [_hostile_body(schema, node["items"], leaves, name, depth + 1)]
    return leaves.value


OPENAPI_ROUTE = re.compile(r"<(?:\w+:)?(\w+)>")


def _openapi_parameter(match: re.Match[str]) -> str:
    return "{id}" if match.group(1) == "pk" else "{" + match.group(1) + "}"  # as spectacular names


@FUZZ
@given(value=hostile_json, spread=spread)
@example(value="\x00", spread=EVERY_FIELD)
@example(value="\ud800", spread=EVERY_FIELD)
@example(value="1e1000000", spread=EVERY_FIELD)
@example(value=10**30, spread=EVERY_FIELD)
@example(value=2**31, spread=EVERY_FIELD)
@example(value="2030-02-30T00:00:00Z", spread=EVERY_FIELD)
@example(value="9999-12-31T23:00:00-05:00", spread=EVERY_FIELD)
@example(value=DEEP, spread=EVERY_FIELD)
def test_no_hostile_api_value_makes_an_operation_fail_or_is_stored(
    world: World, value: Any, spread: tuple[int, int]
) -> None:
    operations = _api_sweep(world, value, [spread])
    assert operations >= 25


# A value in one field alone, every field in turn: a single bad field behind sound ones is
# how most of the sweep's server errors were found.
@pytest.mark.parametrize("value", [2**31, "1e1000000", "2030-02-30T00:00:00Z"])
def test_each_api_field_alone_with_a_hostile_value(world: World, value: Any) -> None:
    _api_sweep(world, value, [(10**6, index) for index in range(60)])


def _api_sweep(world: World, value: Any, spreads: list[tuple[int, int]]) -> int:
    """Sends `value` to every API operation, once per spread; returns the requests sent."""
    schema = _schema()
    api = APIClient()
    api.force_authenticate(world.actor)
    as_text = value if isinstance(value, str) else json.dumps(value)[:200]
    plausible = PLAUSIBLE | {"risk_group": world.open_group.slug}
    operations = 0
    for route, name in url_routes():
        if not route.startswith("api/v1/"):
            continue
        item = schema["paths"]["/" + OPENAPI_ROUTE.sub(_openapi_parameter, route)]
        for path in route_paths(world, name, route):
            assert resolve(path).url_name == name
            for method, operation in item.items():
                content = operation.get("requestBody", {}).get("content", {})
                body_schema = content.get("application/json", {}).get("schema")
                params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
                for spread in spreads:
                    leaves = _Leaves(value, spread, plausible)
                    query = {param: as_text for param in params if leaves.hostile()}
                    body = _hostile_body(schema, body_schema, leaves) if body_schema else None
                    if next(leaves.indexes) <= spread[1] % spread[0] and len(spreads) > 1:
                        break  # every field of this operation had its turn
                    if not query and body is None:
                        continue
                    operations += 1
                    before = db_writes()
                    # Encoded here with ASCII escapes, so lone surrogates travel as JSON allows.
                    text = json.dumps(body) if body is not None else None
                    response = getattr(api, method)(
                        path,
                        text,
                        content_type="application/json",
                        QUERY_STRING=urlencode(query, errors="surrogatepass"),
                        # the trading API's writes need one, new for each request
                        HTTP_IDEMPOTENCY_KEY=f"hostile-{operations}",
                    )
                    _check(response, f"{method.upper()} {path} {text and text[:300]}", before)
    return operations
