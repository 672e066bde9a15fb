"""Fixtures of the XIP and registry tests: assets, both kinds of risk group, editors."""

from collections.abc import Callable
from typing import Any

import pytest

from governance.risk_groups.models import RiskGroup
from tests.markets.factories import assets_create, open_group_create, regulated_group_create
from xip_portal.models import StaffRole, User


@pytest.fixture
def assets(db: Any) -> None:
    assets_create()


@pytest.fixture
def open_group(assets: None) -> RiskGroup:
    return open_group_create()


@pytest.fixture
def regulated_group(assets: None) -> RiskGroup:
    return regulated_group_create()


@pytest.fixture
def editor(make_staff: Callable[..., User], open_group: RiskGroup) -> User:
    """An XIP editor of the open group (only)."""
    return make_staff(StaffRole.XIP_EDITOR, open_group)
