"""Every operation of the REST API, fed inputs generated from its own OpenAPI schema, answers
with a clear error or a success, never a server error (schemathesis over the WSGI app).
The trading operations answer as their schema says, too, for a caller who is a funded
member of a group where a market trades."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, response_schema_conformance

from conftest import two_factor_enable
from engine import services as engine_services
from engine import tasks
from engine.services import command_submit, shard_of
from tests.factories import UserFactory
from tests.markets.factories import member_create

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)


@pytest.fixture
def keep_test_connection():
    # Django's test client does the same: the real WSGI handler would close the test's
    # database connection at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# The project's own trading API: its answers are checked against the schema as well.
TRADING_PATHS = (
    "/api/v1/orders/",
    "/api/v1/fills/",
    "/api/v1/balances/",
    "/api/v1/positions/",
    "/api/v1/holdings/",
    "/api/v1/statement/",
    "/api/v1/transfers/",
    "/api/v1/faucet/",
    "/api/v1/books/",
    "/api/v1/trades/",
    "/api/v1/candles/",
    "/api/v1/tickers/",
)


@pytest.fixture
def site_admin_token(db, keep_test_connection, open_group, spot_market) -> str:
    # A site admin with two-factor reaches every endpoint, staff ones included; a funded
    # member of the open group, where BTC-USDC trades (the schema's examples name it).
    tasks._writers.clear()
    engine_services._shards.clear()
    admin = member_create(open_group, UserFactory(is_staff=True, is_superuser=True))
    two_factor_enable(admin)
    for asset, amount in (("USDC", 10**6 * 10**12), ("BTC", 10 * 10**6)):
        command_submit(
            risk_group=open_group,
            account=admin.pk,
            command={"type": "Deposit", "asset": asset, "amount": amount, "external_id": asset},
        )
    tasks.shard_process(shard_of(risk_group=open_group).pk)
    return Token.objects.create(user=admin).key


@schema.parametrize()
# Derandomized: CI sees the same inputs on every run, so a red run means a changed API,
# never an unlucky draw. (Run with more examples by hand to explore: 100 each found the
# NUL-character and date-overflow errors fixed beside this test.)
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_makes_the_api_fail(case, site_admin_token) -> None:
    trading = case.path.startswith(TRADING_PATHS)
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Token {site_admin_token}"},
        checks=[not_a_server_error, *([response_schema_conformance] if trading else [])],
    )
