"""KYC review: submission, jurisdiction screening, needs-info round trip, four eyes,
self-review, approval into a membership, emails and the case history."""

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
    kyc_application_history,
    kyc_application_reject,
    kyc_application_request_info,
    kyc_application_submit,
    kyc_application_update,
    kyc_review_queue,
)
from governance.memberships.models import Membership
from governance.memberships.services import membership_require
from tests.factories import UserFactory
from tests.governance.factories import (
    KycApplicationFactory,
    PermissionlessGroupFactory,
    RegulatedGroupFactory,
)
from xip_portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from xip_portal.models import AuditEntry, StaffRole

pytestmark = pytest.mark.django_db


def actions_of(application: Any) -> list[str]:
    return [entry.action for entry in kyc_application_history(application)]


def test_a_person_starts_one_application_per_group_at_a_time() -> None:
    group, user = RegulatedGroupFactory(), UserFactory()
    kyc_application_create(actor=user, risk_group=group, kind="person")

    with pytest.raises(Conflict) as refused:
        kyc_application_create(actor=user, risk_group=group, kind="person")

    assert refused.value.code == "application_exists"
    assert user.kyc_applications.count() == 1


def test_permissionless_groups_take_no_kyc_applications() -> None:
    with pytest.raises(ApplicationError, match="permissionless"):
        kyc_application_create(
            actor=UserFactory(), risk_group=PermissionlessGroupFactory(), kind="person"
        )


def test_bad_profile_input_names_each_field_and_writes_nothing() -> None:
    user = UserFactory()
    with pytest.raises(ApplicationError) as refused:
        kyc_application_create(
            actor=user,
            risk_group=RegulatedGroupFactory(),
            kind="person",
            profile={"nationality": "XX", "date_of_birth": "17/05/1990", "shoe_size": 9},
        )

    assert set(refused.value.fields) == {"nationality", "date_of_birth", "shoe_size"}
    assert not user.kyc_applications.exists()
    assert not AuditEntry.objects.filter(action="kyc.create").exists()


def test_an_incomplete_application_cannot_be_submitted(complete_application: Any) -> None:
    application = KycApplicationFactory(address="")

    with pytest.raises(ApplicationError) as refused:
        kyc_application_submit(actor=application.applicant, application=application)

    assert refused.value.code == "incomplete"
    assert set(refused.value.fields) == {"address", "documents"}
    application.refresh_from_db()
    assert application.status == KycStatus.DRAFT


def test_an_applicant_from_a_blocked_jurisdiction_is_rejected_at_once_and_stays_visible(
    complete_application: Any, make_staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    group = RegulatedGroupFactory(blocked_jurisdictions=["FR"])
    application = complete_application(risk_group=group, country_of_residence="FR")

    with django_capture_on_commit_callbacks(execute=True):
        application = kyc_application_submit(actor=application.applicant, application=application)

    assert application.status == KycStatus.REJECTED
    assert "France is a blocked jurisdiction" in application.rejection_reason
    assert actions_of(application)[-2:] == ["kyc.submit", "kyc.auto_reject"]
    assert kyc_application_history(application).last().actor is None
    assert len(mail.outbox) == 1
    assert "France is a blocked jurisdiction" in mail.outbox[0].body
    # The group's KYC admins still find the case under "rejected".
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    assert list(kyc_review_queue(user=admin, status="rejected")) == [application]
    assert list(kyc_review_queue(user=admin)) == []


def test_an_applicant_outside_the_allowed_jurisdictions_is_rejected(
    complete_application: Any,
) -> None:
    group = RegulatedGroupFactory(allowed_jurisdictions=["DE", "CH"])
    application = complete_application(
        risk_group=group, nationality="DE", country_of_residence="FR"
    )

    application = kyc_application_submit(actor=application.applicant, application=application)

    assert application.status == KycStatus.REJECTED
    assert "not an allowed jurisdiction" in application.rejection_reason


def test_needs_info_round_trip(
    complete_application: Any, make_staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    application = complete_application()
    admin = make_staff(StaffRole.KYC_ADMIN, application.risk_group)
    kyc_application_submit(actor=application.applicant, application=application)

    # When the admin asks for more information
    with django_capture_on_commit_callbacks(execute=True):
        kyc_application_request_info(
            actor=admin, application=application, note="The address is incomplete: add the flat."
        )
    application.refresh_from_db()
    assert application.status == KycStatus.NEEDS_INFO
    assert application.info_request == "The address is incomplete: add the flat."
    assert "add the flat" in mail.outbox[-1].body

    # Then the applicant edits and resubmits
    kyc_application_update(
        actor=application.applicant,
        application=application,
        profile={"address": "1 Rue de Rivoli, flat 4, 75001 Paris"},
    )
    kyc_application_submit(actor=application.applicant, application=application)

    # And the admin approves
    kyc_application_approve(actor=admin, application=application)
    application.refresh_from_db()
    assert application.status == KycStatus.APPROVED
    assert actions_of(application) == [
        "kyc.document_add",
        "kyc.document_add",
        "kyc.submit",
        "kyc.review_start",
        "kyc.request_info",
        "kyc.update",
        "kyc.submit",
        "kyc.review_start",
        "kyc.approve",
    ]
    # The case keeps its status history: every move, who made it and why.
    steps = [
        (step.from_status, step.to_status, step.actor)
        for step in application.status_changes.order_by("created_at", "pk")
    ]
    assert steps == [
        ("draft", "submitted", application.applicant),
        ("submitted", "in_review", admin),
        ("in_review", "needs_info", admin),
        ("needs_info", "submitted", application.applicant),
        ("submitted", "in_review", admin),
        ("in_review", "approved", admin),
    ]
    assert application.status_changes.get(to_status="needs_info").reason == (
        "The address is incomplete: add the flat."
    )


def test_a_submitted_application_cannot_be_edited(complete_application: Any) -> None:
    application = complete_application()
    kyc_application_submit(actor=application.applicant, application=application)

    with pytest.raises(Conflict, match="submitted"):
        kyc_application_update(
            actor=application.applicant, application=application, profile={"address": "Else"}
        )


def test_an_update_that_changes_nothing_writes_nothing(complete_application: Any) -> None:
    application = complete_application()
    before = AuditEntry.objects.count()

    kyc_application_update(
        actor=application.applicant,
        application=application,
        profile={"address": application.address},
    )

    assert AuditEntry.objects.count() == before


def test_approval_creates_a_membership_valid_for_the_reverification_period(
    complete_application: Any, make_staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    group = RegulatedGroupFactory(reverification_days=30)
    application = complete_application(risk_group=group)
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    kyc_application_submit(actor=application.applicant, application=application)

    with django_capture_on_commit_callbacks(execute=True):
        kyc_application_approve(actor=admin, application=application, tier="professional")

    membership = Membership.objects.get(user=application.applicant, risk_group=group)
    assert membership.tier == "professional"
    assert membership.source == "kyc"
    expected = timezone.now() + timedelta(days=30)
    assert abs((membership.valid_until - expected).total_seconds()) < 60
    assert membership_require(user=application.applicant, risk_group=group, action="trade")
    assert mail.outbox[-1].to == [application.applicant.email]
    assert "approved" in mail.outbox[-1].subject
    assert f"{settings.PORTAL_URL}/kyc/{application.pk}/" in mail.outbox[-1].body


def test_rejection_needs_a_reason_the_applicant_sees(
    complete_application: Any, make_staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    application = complete_application()
    admin = make_staff(StaffRole.KYC_ADMIN, application.risk_group)
    kyc_application_submit(actor=application.applicant, application=application)

    with pytest.raises(ApplicationError, match="reason"):
        kyc_application_reject(actor=admin, application=application, note="  ")
    with django_capture_on_commit_callbacks(execute=True):
        kyc_application_reject(actor=admin, application=application, note="The ID is expired.")

    application.refresh_from_db()
    assert application.status == KycStatus.REJECTED
    assert application.rejection_reason == "The ID is expired."
    assert "The ID is expired." in mail.outbox[-1].body
    assert not Membership.objects.filter(user=application.applicant).exists()


def test_institutions_need_two_different_kyc_admins_where_the_policy_asks(
    complete_kyb: Any, make_staff: Any
) -> None:
    group = RegulatedGroupFactory(four_eyes_for_institutions=True)
    application = complete_kyb(risk_group=group)
    first, second = (make_staff(StaffRole.KYC_ADMIN, group) for _ in range(2))
    kyc_application_submit(actor=application.applicant, application=application)

    kyc_application_approve(actor=first, application=application)
    application.refresh_from_db()
    assert application.status == KycStatus.IN_REVIEW
    assert application.first_approved_by == first
    assert not Membership.objects.exists()

    with pytest.raises(Conflict) as same:
        kyc_application_approve(actor=first, application=application)
    assert same.value.code == "four_eyes_same_reviewer"

    kyc_application_approve(actor=second, application=application)
    application.refresh_from_db()
    assert application.status == KycStatus.APPROVED
    membership = Membership.objects.get()
    assert membership.institution == application.institution
    assert membership.user is None
    assert membership.tier == "institutional"


def test_applicants_from_high_risk_countries_need_four_eyes(
    complete_application: Any, make_staff: Any
) -> None:
    group = RegulatedGroupFactory(high_risk_countries=["DE"])
    risky = complete_application(risk_group=group, nationality="DE")
    plain = complete_application(risk_group=group, nationality="FR", country_of_residence="FR")
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    for application in (risky, plain):
        kyc_application_submit(actor=application.applicant, application=application)
        kyc_application_approve(actor=admin, application=application)

    risky.refresh_from_db()
    plain.refresh_from_db()
    assert risky.status == KycStatus.IN_REVIEW
    assert plain.status == KycStatus.APPROVED


def test_a_needs_info_request_voids_a_first_approval(complete_kyb: Any, make_staff: Any) -> None:
    group = RegulatedGroupFactory(four_eyes_for_institutions=True)
    application = complete_kyb(risk_group=group)
    first, second = (make_staff(StaffRole.KYC_ADMIN, group) for _ in range(2))
    kyc_application_submit(actor=application.applicant, application=application)
    kyc_application_approve(actor=first, application=application)

    kyc_application_request_info(actor=second, application=application, note="Add the owners.")
    kyc_application_submit(actor=application.applicant, application=application)
    kyc_application_approve(actor=second, application=application)

    application.refresh_from_db()
    assert application.status == KycStatus.IN_REVIEW
    assert application.first_approved_by == second


def test_nobody_reviews_their_own_application(complete_application: Any, make_staff: Any) -> None:
    group = RegulatedGroupFactory()
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    application = complete_application(risk_group=group, applicant=admin)
    kyc_application_submit(actor=admin, application=application)

    with pytest.raises(PermissionDenied) as refused:
        kyc_application_approve(actor=admin, application=application)

    assert refused.value.code == "self_review"
    application.refresh_from_db()
    assert application.status == KycStatus.SUBMITTED


def test_nobody_reviews_their_own_institution(complete_kyb: Any, make_staff: Any) -> None:
    from xip_portal.models import InstitutionMembership

    group = RegulatedGroupFactory()
    application = complete_kyb(risk_group=group)
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    InstitutionMembership.objects.create(institution=application.institution, user=admin)
    kyc_application_submit(actor=application.applicant, application=application)

    with pytest.raises(PermissionDenied, match="institution"):
        kyc_application_approve(actor=admin, application=application)


def test_a_kyc_admin_of_another_group_cannot_decide(
    complete_application: Any, make_staff: Any
) -> None:
    application = complete_application()
    outsider = make_staff(StaffRole.KYC_ADMIN, RegulatedGroupFactory())
    kyc_application_submit(actor=application.applicant, application=application)

    with pytest.raises(NotFound):
        kyc_application_approve(actor=outsider, application=application)


def test_a_decided_case_cannot_be_decided_again(complete_application: Any, make_staff: Any) -> None:
    application = complete_application()
    admin = make_staff(StaffRole.KYC_ADMIN, application.risk_group)
    kyc_application_submit(actor=application.applicant, application=application)
    kyc_application_reject(actor=admin, application=application, note="No.")

    with pytest.raises(Conflict, match="rejected"):
        kyc_application_approve(actor=admin, application=application)
    assert not Membership.objects.exists()


def test_the_queue_filters_by_status_kind_and_age_oldest_first(
    complete_application: Any, complete_kyb: Any, make_staff: Any
) -> None:
    group = RegulatedGroupFactory()
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    old = KycApplicationFactory(
        risk_group=group, submitted=True, submitted_at=timezone.now() - timedelta(days=10)
    )
    new = KycApplicationFactory(risk_group=group, submitted=True)
    kyb = complete_kyb(risk_group=group)
    kyc_application_submit(actor=kyb.applicant, application=kyb)
    KycApplicationFactory(risk_group=group)  # a draft is not a case yet
    KycApplicationFactory(submitted=True)  # another group's

    assert list(kyc_review_queue(user=admin)) == [old, new, kyb]
    assert list(kyc_review_queue(user=admin, kind="institution")) == [kyb]
    assert list(kyc_review_queue(user=admin, min_age_days=7)) == [old]
    assert list(kyc_review_queue(user=admin, status="in_review")) == []
