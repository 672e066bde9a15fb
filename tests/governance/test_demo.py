"""`make demo` seeds a regulated group and a permissionless one, with applicants waiting."""

from typing import Any

import pytest
from django.core.management import call_command

from governance.kyc.models import KycApplication, KycStatus
from governance.memberships.services import membership_allows
from governance.risk_groups.models import RiskGroup
from xip_portal.models import Institution, User

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_both_kinds_of_group_and_a_review_queue(capsys: Any) -> None:
    call_command("seed_demo")
    call_command("seed_demo")  # a second run adds nothing

    regulated = RiskGroup.objects.get(slug="regulated-main")
    permissionless = RiskGroup.objects.get(slug="open-markets")
    assert regulated.is_regulated and not permissionless.is_regulated
    assert regulated.bounds.max_leverage == 20
    assert permissionless.terms
    waiting = KycApplication.objects.filter(risk_group=regulated, status=KycStatus.SUBMITTED)
    assert waiting.count() == 3
    assert {a.kind for a in waiting} == {"person", "institution"}
    assert all(a.documents.count() == 2 for a in waiting)
    assert KycApplication.objects.filter(status=KycStatus.REJECTED).count() == 1
    trader = User.objects.get(email="trader@demo.exchange-os.test")
    assert membership_allows(user=trader, risk_group=regulated, action="trade")
    assert membership_allows(user=trader, risk_group=permissionless, action="trade")
    member = User.objects.get(email="institution@demo.exchange-os.test")
    house = Institution.objects.get(slug="exchange-os-house")
    assert membership_allows(user=member, risk_group=regulated, action="propose", institution=house)
    assert "wait at /staff/kyc/" in capsys.readouterr().out
