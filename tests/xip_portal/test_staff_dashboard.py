"""The staff dashboard shows each role only the activity of its own groups and its own
concern: a KYC admin of one group never sees another group's applicants or reviewers'
notes; XIP editors and operators see no KYC activity at all."""

import pytest
from django.test import Client

from governance.risk_groups.models import RiskGroup
from tests.governance.factories import KycApplicationFactory, RegulatedGroupFactory
from tests.markets.factories import proposal_make
from xip_portal.audit import audit_record
from xip_portal.models import StaffRole
from xip_portal.services import role_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity() -> dict[str, RiskGroup]:
    """In groups A and B: a KYC review note, an XIP step and a policy change each."""
    groups = {"A": RegulatedGroupFactory(), "B": RegulatedGroupFactory()}
    for name, group in groups.items():
        application = KycApplicationFactory(risk_group=group, legal_name=f"Applicant {name}")
        audit_record(actor=None, action="kyc.reject", obj=application, reason=f"kyc note {name}")
        proposal = proposal_make(group=group, title=f"XIP {name}")
        audit_record(actor=None, action="proposal.submit", obj=proposal, reason=f"xip step {name}")
        audit_record(actor=None, action="risk_group.policy", obj=group, reason=f"policy {name}")
    return groups


def _seen(client: Client) -> set[str]:
    page = client.get("/staff/").content.decode()
    notes = [f"{what} {name}" for what in ("kyc note", "xip step", "policy") for name in "AB"]
    return {note for note in notes if note in page}


def test_a_kyc_admin_sees_the_kyc_activity_of_their_group_only(make_staff, login, activity):
    admin = make_staff(StaffRole.KYC_ADMIN, activity["A"])

    assert _seen(login(admin)) == {"kyc note A"}


def test_an_xip_editor_sees_proposal_activity_and_no_kyc(make_staff, login, activity):
    editor = make_staff(StaffRole.XIP_EDITOR)  # editors are usually unscoped

    assert _seen(login(editor)) == {"xip step A", "xip step B"}


def test_an_operator_sees_their_group_policy_and_proposals_and_no_kyc(
    make_staff, login, activity
) -> None:
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, activity["B"])

    assert _seen(login(operator)) == {"xip step B", "policy B"}


def test_a_site_admin_sees_everything(make_staff, login, activity) -> None:
    site_admin = make_staff(StaffRole.SITE_ADMIN)

    assert len(_seen(login(site_admin))) == 6


def test_someone_with_two_scoped_roles_sees_the_union(make_staff, login, activity) -> None:
    staff = make_staff(StaffRole.KYC_ADMIN, activity["A"])
    operator = StaffRole.RISK_GROUP_OPERATOR
    role_grant(actor=None, user=staff, role=operator, risk_group=activity["B"], reason="test")

    assert _seen(login(staff)) == {"kyc note A", "xip step B", "policy B"}
