"""The one status move: check the table, set, write the history row and the audit entry."""

from datetime import timedelta

import pytest
from django.db import models
from django.utils import timezone

from governance.kyc.models import KYC_TRANSITIONS, KycApplication, KycStatus
from governance.proposals.models import PROPOSAL_TRANSITIONS, Proposal
from markets.models import MARKET_TRANSITIONS, Market
from tests.factories import UserFactory
from tests.governance.factories import KycApplicationFactory
from xip_portal.models import AuditEntry
from xip_portal.state_machine import StateMachine, TransitionError, status_transition


@pytest.mark.parametrize(
    ("machine", "model"),
    [
        (PROPOSAL_TRANSITIONS, Proposal),
        (MARKET_TRANSITIONS, Market),
        (KYC_TRANSITIONS, KycApplication),
    ],
)
def test_each_machine_names_the_history_of_its_model(
    machine: StateMachine, model: type[models.Model]
) -> None:
    assert machine.history is not None
    relation = model._meta.get_field(machine.history)
    assert relation.related_model._meta.get_field("to_status")  # type: ignore[union-attr]


@pytest.mark.django_db
def test_a_move_sets_the_status_and_writes_history_and_audit() -> None:
    application = KycApplicationFactory()
    actor = UserFactory()
    moment = timezone.now() - timedelta(minutes=5)

    step = status_transition(
        application,
        KycStatus.SUBMITTED,
        machine=KYC_TRANSITIONS,
        actor=actor,
        action="kyc.submit",
        reason="complete",
        now=moment,
        changes={"submitted_at": moment},
        audit_new={"note": "first"},
    )

    application.refresh_from_db()
    assert (application.status, application.submitted_at) == (KycStatus.SUBMITTED, moment)
    assert (step.from_status, step.to_status, step.actor, step.reason, step.created_at) == (
        KycStatus.DRAFT,
        KycStatus.SUBMITTED,
        actor,
        "complete",
        moment,
    )
    entry = AuditEntry.objects.get(action="kyc.submit", object_id=str(application.pk))
    assert entry.old_values == {"status": "draft", "note": None}
    assert entry.new_values == {"status": "submitted", "note": "first"}
    assert (entry.actor, entry.reason) == (actor, "complete")


@pytest.mark.django_db
def test_an_illegal_move_names_both_states_and_writes_nothing() -> None:
    application = KycApplicationFactory()

    with pytest.raises(TransitionError) as refused:
        status_transition(
            application,
            KycStatus.APPROVED,
            machine=KYC_TRANSITIONS,
            actor=None,
            action="kyc.approve",
            subject="Application #1",
        )

    assert str(refused.value.message).startswith("Application #1 cannot go from Draft to Approved")
    application.refresh_from_db()
    assert application.status == KycStatus.DRAFT
    assert not application.status_changes.exists()
    assert not AuditEntry.objects.filter(action="kyc.approve").exists()
