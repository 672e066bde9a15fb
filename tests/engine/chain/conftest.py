"""The chain tests run on the embedded chain (web3's tester chain, one per test process) and
reuse the engine service's desk: a risk group's engine driven in this process."""

from typing import Any

import pytest

from engine.chain.deployment import chain_deploy
from engine.chain.models import Deployment
from tests.engine.service.conftest import desk, fresh_writers, spot_desk  # noqa: F401


@pytest.fixture
def deployment(db: Any) -> Deployment:
    """A fresh set of contracts on the embedded chain (compiled once, cached under build/)."""
    return chain_deploy()
