"""`manage.py engine_queues`: what an operator gives each engine writer host to consume."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engine.services import shard_of
from governance.risk_groups.models import RiskGroup
from tests.governance.factories import PermissionlessGroupFactory

pytestmark = pytest.mark.django_db


def queues(*args: str) -> list[str]:
    out = StringIO()
    call_command("engine_queues", *args, stdout=out)
    return out.getvalue().strip().split(",")


def test_every_risk_group_has_exactly_one_writer_host_among_several() -> None:
    PermissionlessGroupFactory.create_batch(3)
    wanted = {f"engine.shard.{shard_of(risk_group=g).pk}" for g in RiskGroup.objects.all()}

    alone = queues()
    spread = [queues("--hosts", "2", "--host", str(host)) for host in (0, 1)]

    assert set(alone) == wanted and len(alone) == len(wanted)
    assert set(spread[0]).isdisjoint(spread[1])
    assert set(spread[0]) | set(spread[1]) == wanted


def test_a_host_index_outside_the_hosts_is_refused() -> None:
    PermissionlessGroupFactory.create()
    with pytest.raises(CommandError, match="--host must be between 0"):
        call_command("engine_queues", "--hosts", "2", "--host", "2")
