"""XIPs (X Layer Exchange OS Improvement Proposals): the proposal, its status history,
revisions, discussion and Last Call votes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from xip_portal.models import StatusChange, TimeStampedModel
from xip_portal.state_machine import StateMachine


class ProposalType(models.TextChoices):
    MARKET = "market", "New market"
    PARAMETER_CHANGE = "parameter_change", "Parameter change"
    DELISTING = "delisting", "Delisting"
    RISK_GROUP = "risk_group", "New risk group"
    PROCESS = "process", "Process"


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "Review"
    LAST_CALL = "last_call", "Last Call"
    FINAL = "final", "Final"
    WITHDRAWN = "withdrawn", "Withdrawn"
    REJECTED = "rejected", "Rejected"
    STAGNANT = "stagnant", "Stagnant"


S = ProposalStatus
# The one table of allowed status changes (after EIP-1). Who may make each move, and when,
# is decided by the service that makes it (governance/proposals/services.py).
PROPOSAL_TRANSITIONS = StateMachine(
    "An XIP",
    ProposalStatus,
    {
        S.DRAFT: frozenset({S.REVIEW, S.WITHDRAWN, S.STAGNANT}),
        S.REVIEW: frozenset({S.LAST_CALL, S.DRAFT, S.WITHDRAWN, S.REJECTED, S.STAGNANT}),
        S.LAST_CALL: frozenset({S.FINAL, S.REVIEW, S.WITHDRAWN, S.REJECTED}),
        S.STAGNANT: frozenset({S.DRAFT}),
        S.FINAL: frozenset(),
        S.WITHDRAWN: frozenset(),
        S.REJECTED: frozenset(),
    },
    history="transitions",
)
# Statuses in which the authors may still edit the proposal.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.REVIEW, S.LAST_CALL})


class Proposal(TimeStampedModel):
    """An XIP. `number` is assigned when it is first submitted for review; `spec` is the
    structured, validated part (per type, see governance/proposals/specs.py), `body` the
    markdown rationale. `revision` counts the edits since submission."""

    number = models.PositiveIntegerField(unique=True, null=True, blank=True)
    title = models.CharField(max_length=200)
    proposal_type = models.CharField(max_length=20, choices=ProposalType.choices)
    status = models.CharField(
        max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="proposals"
    )
    institution = models.ForeignKey(
        "xip_portal.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_proposals")
    subscribers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="subscribed_proposals"
    )
    body = models.TextField(blank=True)
    spec = models.JSONField(default=dict, blank=True)
    revision = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(default=timezone.now)
    # Last Call: the current round (votes count per round), when it started and ends.
    last_call_round = models.PositiveIntegerField(default=0)
    last_call_started_at = models.DateTimeField(null=True, blank=True)
    last_call_ends_at = models.DateTimeField(null=True, blank=True)
    operator_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    operator_approved_at = models.DateTimeField(null=True, blank=True)
    # The bond of a permissionless group, recorded on entering Review; the engine service
    # will lock it from the proposer's account.
    bond_amount = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True)
    bond_asset = models.CharField(max_length=20, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number", "-id"]
        indexes = [
            models.Index(fields=["status", "last_call_ends_at"]),
            models.Index(fields=["status", "last_activity_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bond_amount__isnull=True) | models.Q(bond_amount__gte=0),
                name="proposal_bond_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.title}"

    @property
    def label(self) -> str:
        return f"XIP-{self.number}" if self.number else f"Draft #{self.pk}"

    @property
    def bond_required(self) -> bool:
        return self.bond_amount is not None and self.bond_amount > 0

    def can_move_to(self, status: str) -> bool:
        return PROPOSAL_TRANSITIONS.allows(self.status, status)

    def can_submit(self) -> bool:
        return self.status == S.DRAFT

    def can_withdraw(self) -> bool:
        return self.can_move_to(S.WITHDRAWN)

    def can_revive(self) -> bool:
        return self.status == S.STAGNANT

    def can_edit(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def can_enter_last_call(self) -> bool:
        return self.status == S.REVIEW

    def can_send_back(self) -> bool:
        return self.status in (S.REVIEW, S.LAST_CALL)

    def can_reject(self) -> bool:
        return self.status in (S.REVIEW, S.LAST_CALL)

    def is_in_last_call(self) -> bool:
        return self.status == S.LAST_CALL

    def lists_a_market(self) -> bool:
        """A Final market XIP: the market registry lists its market."""
        return self.proposal_type == ProposalType.MARKET and self.status == S.FINAL


class ProposalTransition(StatusChange):
    """One step of a proposal's status timeline."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ProposalStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ProposalStatus.choices)

    def __str__(self) -> str:
        return f"{self.proposal.label}: {self.from_status or '-'} → {self.to_status}"


class ProposalRevision(models.Model):
    """The proposal as it stood after submission (revision 1) and after each later edit."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    spec = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    summary = models.CharField(max_length=300, blank=True)
    normative = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["proposal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="one_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.proposal.label} r{self.number}"


class ProposalComment(models.Model):
    """A message in the proposal's discussion. An objection is a comment that an editor may
    uphold during Last Call; an upheld objection sends the proposal back to Review."""

    class Kind(models.TextChoices):
        COMMENT = "comment", "Comment"
        OBJECTION = "objection", "Objection"
        EDITOR = "editor", "Editor's note"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMMENT)
    body = models.TextField()
    upheld_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    upheld_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.proposal.label} by {self.author}"


class ProposalVote(models.Model):
    """A member's vote in one Last Call round. A later vote in the same round replaces it."""

    class Choice(models.TextChoices):
        FOR = "for", "For"
        AGAINST = "against", "Against"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveIntegerField()
    choice = models.CharField(max_length=8, choices=Choice.choices)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "voter", "round"], name="one_vote_per_round"
            )
        ]

    def __str__(self) -> str:
        return f"{self.voter} {self.choice} {self.proposal.label} (round {self.round})"
