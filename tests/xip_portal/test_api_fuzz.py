"""Every operation of the REST API, fed inputs generated from its own OpenAPI schema, answers
with a clear error or a success, never a server error (schemathesis over the WSGI app)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from conftest import two_factor_enable
from tests.factories import UserFactory

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


@pytest.fixture
def site_admin_token(db, keep_test_connection) -> str:
    # A site admin with two-factor reaches every endpoint, staff ones included.
    admin = UserFactory(is_staff=True, is_superuser=True)
    two_factor_enable(admin)
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
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Token {site_admin_token}"},
        checks=[not_a_server_error],
    )
