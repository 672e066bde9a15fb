"""Limits every request meets before a view reads it: JSON bodies are bounded in size and
depth, and characters no database stores (NUL, lone surrogates) are refused with a 400 and
the code `invalid_characters` wherever they arrive; loading the URLconf leaves the
interpreter's limits alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from xip_portal.errors import ApplicationError
from xip_portal.models import Institution
from xip_portal.request_limits import JSON_MAX_DEPTH, json_depth_exceeds, json_loads_bounded

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_urls_and_the_wsgi_app_leaves_the_recursion_limit_unchanged() -> None:
    # A fresh interpreter: this one may already have imported the chain libraries.
    script = (
        "import sys; before = sys.getrecursionlimit()\n"
        "from django.core.wsgi import get_wsgi_application; get_wsgi_application()\n"
        "from django.urls import get_resolver; get_resolver().url_patterns\n"
        "print(before, sys.getrecursionlimit())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )

    before, after = result.stdout.split()
    assert after == before


def test_json_nested_far_too_deep_is_refused_without_parsing_it(user) -> None:
    client = APIClient()
    client.force_authenticate(user)
    body = '{"title": "x", "spec": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = client.post("/api/v1/proposals/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"
    assert str(JSON_MAX_DEPTH) in response.json()["message"]


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH, False),
        ("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1), True),
        ('{"a": ' * (JSON_MAX_DEPTH + 1) + "1" + "}" * (JSON_MAX_DEPTH + 1), True),
        ("[{" * 17 + "}]" * 17, True),
        ("[" * 100_000, True),  # unclosed: the parser would still descend that far
        (json.dumps(["[[[[" * 40, {"k": "]]]]{{" * 40}]), False),  # brackets inside strings
        (json.dumps([[1, [2]], {"a": [{}]}] * 1000), False),  # wide, not deep
    ],
)
def test_json_depth_is_counted_outside_strings(text: str, too_deep: bool) -> None:
    assert json_depth_exceeds(text) is too_deep


def test_a_json_body_over_the_upload_limit_is_refused(user, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(user)

    body = json.dumps({"name": "x" * 2000})
    response = client.post("/api/v1/institutions/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not Institution.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "Acme\\u0000 Markets"}',
        '{"name": "Acme \\ud800 Markets"}',
        '{"name": "Acme", "web\\u0000site": ""}',
        '{"name": NaN}',
        '{"name": 1' + "0" * 5000 + "}",
    ],
)
def test_json_a_database_cannot_store_is_refused_and_nothing_stored(user, body) -> None:
    client = APIClient()
    client.force_authenticate(user)

    response = client.post("/api/v1/institutions/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_characters", "parse_error"}
    assert not Institution.objects.exists()


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ('{"px": "100.5", "tag": "caf\u00e9"}', {"px": "100.5", "tag": "caf\u00e9"}),
        ('{"tag": "\\ud83d\\ude00"}', {"tag": "\U0001f600"}),  # a surrogate pair, escaped
        ('{"tag": "\\\\u0000"}', {"tag": "\\u0000"}),  # an escaped backslash, then text
    ],
)
def test_json_whose_strings_a_database_stores_is_parsed(text: str, parsed: object) -> None:
    assert json_loads_bounded(text) == parsed


@pytest.mark.parametrize(
    "text",
    ['{"tag": "a\\u0000"}', '["\\udfff"]', '{"\\ud800": 1}', '{"tag": "a\x00"}'],
)
def test_json_decoding_to_a_nul_or_a_lone_surrogate_is_refused(text: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        json_loads_bounded(text)

    assert refused.value.code in {"invalid_characters", "parse_error"}


@pytest.mark.parametrize("path", ["/markets/BTC%00USDC/", "/api/v1/markets/BTC%00USDC/"])
def test_a_nul_character_in_the_path_is_a_clear_400(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 400
    assert "invalid_characters" in response.content.decode()


def test_a_nul_character_in_a_form_field_is_refused_and_nothing_stored(user, login) -> None:
    response = login(user).post("/institutions/new/", {"name": "Acme\x00 Markets"})

    assert response.status_code == 400
    assert "cannot be stored" in response.content.decode()
    assert not Institution.objects.exists()
