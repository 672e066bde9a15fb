"""Pages share one layout, errors are pages (not stack traces), and every request leaves
one JSON log line."""

import json
import logging

import pytest
from django.conf import settings
from django.test import Client, override_settings
from pythonjsonlogger.json import JsonFormatter

pytestmark = pytest.mark.django_db


def test_home_page_loads_htmx_and_the_stylesheet_from_this_site(client: Client) -> None:
    page = client.get("/").content.decode()

    assert '<script src="/static/vendor/htmx/htmx.min.js"' in page
    assert 'href="/static/css/portal.css"' in page
    assert "Sign up" in page


def test_security_headers_forbid_inline_and_foreign_scripts(client: Client) -> None:
    response = client.get("/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_unknown_page_is_a_friendly_404(client: Client) -> None:
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "There is nothing here." in response.content.decode()


@override_settings(ALLOWED_HOSTS=["portal.test"])
def test_a_bad_host_is_a_400_not_a_server_error(client: Client) -> None:
    response = client.get("/", HTTP_HOST="evil.test")

    assert response.status_code == 400


def test_each_request_logs_one_json_line_with_its_request_id(client: Client, user, login, caplog):
    caplog.set_level(logging.INFO, logger="xip_portal.request")

    response = login(user).get("/", HTTP_X_REQUEST_ID="trace-abc-12345")

    records = [r for r in caplog.records if r.name == "xip_portal.request"]
    assert len(records) == 1
    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    line = json.loads(JsonFormatter(**options).format(records[0]))
    assert response["X-Request-ID"] == "trace-abc-12345"
    assert line["request_id"] == "trace-abc-12345"
    assert (line["method"], line["path"], line["status"], line["user"]) == (
        "GET",
        "/",
        200,
        user.pk,
    )
    assert line["duration_ms"] >= 0


def test_an_unsafe_request_id_is_replaced(client: Client) -> None:
    response = client.get("/", HTTP_X_REQUEST_ID="<script>")

    assert response["X-Request-ID"] != "<script>"
    assert len(response["X-Request-ID"]) == 32


def test_only_the_api_docs_may_use_inline_styles_and_no_page_inline_scripts(client) -> None:
    docs_policy = client.get("/api/docs/")["Content-Security-Policy"]
    home_policy = client.get("/")["Content-Security-Policy"]

    assert "style-src 'self' 'unsafe-inline'" in docs_policy
    assert "unsafe-inline" not in home_policy
    assert "script-src 'self';" in docs_policy + ";"


@pytest.mark.parametrize("path", ["/api/v1/markets/", "/markets/", "/proposals/"])
def test_a_nul_character_in_the_query_string_is_a_clear_400(client: Client, path) -> None:
    response = client.get(path + "?q=a%00b&q=ok")

    assert response.status_code == 400
    assert "cannot be stored" in response.content.decode()
