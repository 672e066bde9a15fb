"""While PostgreSQL does not answer (refusing connections, or having terminated ours), the
web says so with 503 and Retry-After, never a 500: JSON under /api/, OKX's envelope under
/api/v5/, a plain page elsewhere. The outages are real: the request's connection points at
a port where nothing listens, or PostgreSQL terminates its backend."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.test import Client

from tests.trading.fixtures import okx_timestamp

OKX_SIGNED = {
    "HTTP_OK_ACCESS_KEY": "a-key",
    "HTTP_OK_ACCESS_PASSPHRASE": "a-passphrase",
    "HTTP_OK_ACCESS_SIGN": "a-signature",
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["connection refused", "backend terminated"])
def database_down(request, transactional_db) -> Iterator[None]:
    settings_dict = connection.settings_dict
    host, port = settings_dict["HOST"], settings_dict["PORT"]
    if request.param == "connection refused":
        connection.close()
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(closed_port())
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        admin = connections.create_connection("default")
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        admin.close()
    yield
    settings_dict["HOST"], settings_dict["PORT"] = host, port
    connection.close()


@pytest.fixture
def web() -> Client:
    return Client(raise_request_exception=False)


def test_the_api_answers_503_in_its_error_shape(database_down, web) -> None:
    response = web.get("/api/v1/me/", HTTP_AUTHORIZATION="Token a-token")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert "database did not answer" in response.json()["message"]


def test_the_okx_api_answers_503_in_okx_envelope(database_down, web) -> None:
    response = web.get(
        "/api/v5/account/balance", HTTP_OK_ACCESS_TIMESTAMP=okx_timestamp(), **OKX_SIGNED
    )

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "50001" and body["data"] == []
    assert "(service_unavailable)" in body["msg"]


def test_a_page_answers_a_plain_503_page(database_down, web) -> None:
    response = web.get("/markets/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.content.decode()
