"""Approvals expire after the group's re-verification period: the beat task marks them
expired, the member is emailed and must re-verify."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from governance.kyc.models import KycStatus
from governance.kyc.services import (
    kyc_application_approve,
    kyc_application_create,
    kyc_application_submit,
)
from governance.memberships.models import Membership, MembershipStatus
from governance.memberships.services import MembershipRequired, membership_require
from governance.memberships.tasks import memberships_expire
from tests.governance.factories import MembershipFactory, RegulatedGroupFactory
from xip_portal.models import AuditEntry, StaffRole

pytestmark = pytest.mark.django_db


def test_the_task_expires_lapsed_approvals_and_asks_to_reverify(
    complete_application: Any, make_staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    group = RegulatedGroupFactory(reverification_days=365)
    application = complete_application(risk_group=group)
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    kyc_application_submit(actor=application.applicant, application=application)
    kyc_application_approve(actor=admin, application=application)
    membership = Membership.objects.get(user=application.applicant)
    current = MembershipFactory(risk_group=group)  # still valid: untouched
    Membership.objects.filter(pk=membership.pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert memberships_expire.apply().get() == 1

    membership.refresh_from_db()
    application.refresh_from_db()
    current.refresh_from_db()
    assert membership.status == MembershipStatus.EXPIRED
    assert application.status == KycStatus.EXPIRED
    expiry = application.status_changes.get(to_status=KycStatus.EXPIRED)
    assert (expiry.from_status, expiry.actor) == (KycStatus.APPROVED, None)
    assert AuditEntry.objects.filter(action="kyc.expire", object_id=str(application.pk)).exists()
    assert current.status == MembershipStatus.ACTIVE
    assert mail.outbox[-1].to == [application.applicant.email]
    assert "re-verify" in mail.outbox[-1].subject
    with pytest.raises(MembershipRequired) as refused:
        membership_require(user=application.applicant, risk_group=group, action="trade")
    assert refused.value.code == "membership_expired"
    assert AuditEntry.objects.filter(action="membership.expire").count() == 1

    # A second run finds nothing to do and writes nothing.
    assert memberships_expire.apply().get() == 0
    assert AuditEntry.objects.filter(action="membership.expire").count() == 1


def test_after_expiry_the_member_reverifies_and_the_membership_is_renewed(
    complete_application: Any, make_staff: Any
) -> None:
    group = RegulatedGroupFactory()
    application = complete_application(risk_group=group)
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    kyc_application_submit(actor=application.applicant, application=application)
    kyc_application_approve(actor=admin, application=application)
    Membership.objects.update(valid_until=timezone.now() - timedelta(days=1))
    memberships_expire.apply()

    renewal = kyc_application_create(
        actor=application.applicant,
        risk_group=group,
        kind="person",
        profile={
            "legal_name": application.legal_name,
            "date_of_birth": application.date_of_birth,
            "nationality": "DE",
            "country_of_residence": "FR",
            "address": application.address,
        },
    )
    from tests.governance.conftest import with_documents

    with_documents(renewal)
    kyc_application_submit(actor=application.applicant, application=renewal)
    kyc_application_approve(actor=admin, application=renewal)

    membership = Membership.objects.get(user=application.applicant)
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.application == renewal
    assert membership_require(user=application.applicant, risk_group=group, action="trade")


def test_the_expiry_task_is_scheduled() -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "governance.memberships.tasks.memberships_expire" in tasks
