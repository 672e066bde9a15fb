"""`make demo` seeds one login of each role; running it again changes nothing."""

import pytest
from django.core.management import call_command

from xip_portal.models import AuditEntry, Institution, RoleAssignment, StaffRole, User

pytestmark = pytest.mark.django_db


def count_rows() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (User, Institution, RoleAssignment, AuditEntry))


def test_seed_creates_every_role_and_is_idempotent(capsys) -> None:
    call_command("seed_demo")
    first = count_rows()
    call_command("seed_demo")

    assert count_rows() == first
    out = capsys.readouterr().out
    assert "trader@demo.exchange-os.test" in out
    roles = set(RoleAssignment.objects.values_list("role", flat=True))
    assert roles == {StaffRole.XIP_EDITOR, StaffRole.KYC_ADMIN, StaffRole.RISK_GROUP_OPERATOR}
    assert User.objects.get(email="admin@demo.exchange-os.test").is_superuser
    assert User.objects.get(email="trader@demo.exchange-os.test").check_password("exchange-os-demo")
