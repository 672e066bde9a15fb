"""Fixtures shared by the whole suite."""

from collections.abc import Callable
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from governance.risk_groups.models import RiskGroup
from tests.factories import TEST_PASSWORD, UserFactory
from xip_portal.models import StaffRole, User
from xip_portal.services import role_grant

# The XIP tests and the registry tests share these fixtures; the trading tests sign requests.
pytest_plugins = [
    "tests.markets.fixtures",
    "tests.trading.fixtures",
    "tests.trading.boards",
    "tests.url_routes",
]


def totp_code_at(secret: str, *, step: int = 0) -> str:
    """The authenticator app's code for `secret`, `step` periods from now (codes once used
    are refused, so a second login in the same period takes the next step's code)."""
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2] + step))


def two_factor_enable(user: User) -> str:
    """Sets up TOTP for `user` as allauth's set-up page would; returns the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture(autouse=True)
def rate_limits_unspent() -> None:
    """Rate limits and throttles count in the cache: each test starts with none spent, so a
    test that signs up many times does not leave the next one refused."""
    cache.clear()


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


@pytest.fixture
def user(db: Any) -> User:
    return UserFactory()


@pytest.fixture
def make_staff(db: Any) -> Callable[..., User]:
    """make_staff(role, risk_group=None, two_factor=True): a user holding a staff role."""

    def make(
        role: StaffRole, risk_group: RiskGroup | None = None, *, two_factor: bool = True, **kw: Any
    ) -> User:
        staff = UserFactory(**kw)
        if role == StaffRole.SITE_ADMIN:
            staff.is_superuser = staff.is_staff = True
            staff.save(update_fields=["is_superuser", "is_staff"])
        else:
            role_grant(actor=None, user=staff, role=role, risk_group=risk_group, reason="test")
        if two_factor:
            two_factor_enable(staff)
        return staff

    return make


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    """login(user): the test client, signed in as `user` (two-factor already passed)."""

    def sign_in(person: User) -> Client:
        client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return sign_in


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
