"""Two KYC admins approving the same four-eyes case at the same moment: the row lock makes
one the first approver and the other the second, so the case ends approved exactly once."""

import threading
from typing import Any

import pytest
from django.db import connection

from governance.kyc.models import KycStatus
from governance.kyc.services import kyc_application_approve, kyc_application_submit
from governance.memberships.models import Membership
from tests.governance.factories import RegulatedGroupFactory
from xip_portal.models import AuditEntry, StaffRole


@pytest.mark.django_db(transaction=True)
def test_simultaneous_approvals_of_a_four_eyes_case(complete_kyb: Any, make_staff: Any) -> None:
    group = RegulatedGroupFactory(four_eyes_for_institutions=True)
    application = complete_kyb(risk_group=group)
    kyc_application_submit(actor=application.applicant, application=application)
    admins = [make_staff(StaffRole.KYC_ADMIN, group) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def approve(admin: Any) -> None:
        try:
            start.wait()
            kyc_application_approve(actor=admin, application=application)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    application.refresh_from_db()
    assert application.status == KycStatus.APPROVED
    assert {application.first_approved_by, application.decided_by} == set(admins)
    actions = AuditEntry.objects.filter(action__in=["kyc.approve_first", "kyc.approve"])
    assert sorted(actions.values_list("action", flat=True)) == ["kyc.approve", "kyc.approve_first"]
    assert Membership.objects.filter(institution=application.institution).count() == 1
