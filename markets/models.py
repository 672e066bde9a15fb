"""The asset and market registry: what trades where, under which rules (the spec and its
config hash), and the market's approval state with its history."""

from __future__ import annotations

from typing import Any

from django.db import models

from governance.risk_groups.models import MarketType
from xip_portal.models import StatusChange, TimeStampedModel
from xip_portal.state_machine import StateMachine


class Asset(TimeStampedModel):
    """A unit that markets quote, settle or trade in (USDC, BTC, ...)."""

    symbol = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    decimals = models.PositiveSmallIntegerField(
        default=6, help_text="Minor units per unit: 10^decimals (USDC: 6)."
    )

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class MarketStatus(models.TextChoices):
    APPROVED = "approved", "Approved"
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    HALTED = "halted", "Halted"
    CLOSED = "closed", "Closed"
    SETTLED = "settled", "Settled"
    DELISTED = "delisted", "Delisted"


# The one table of allowed market status changes. Delisting (by a Final delisting XIP) is
# possible until the market has closed; a closed market settles.
MARKET_TRANSITIONS = StateMachine(
    "A market",
    MarketStatus,
    {
        MarketStatus.APPROVED: frozenset({MarketStatus.SCHEDULED, MarketStatus.DELISTED}),
        MarketStatus.SCHEDULED: frozenset({MarketStatus.LIVE, MarketStatus.DELISTED}),
        MarketStatus.LIVE: frozenset(
            {MarketStatus.HALTED, MarketStatus.CLOSED, MarketStatus.DELISTED}
        ),
        MarketStatus.HALTED: frozenset(
            {MarketStatus.LIVE, MarketStatus.CLOSED, MarketStatus.DELISTED}
        ),
        MarketStatus.CLOSED: frozenset({MarketStatus.SETTLED}),
        MarketStatus.SETTLED: frozenset(),
        MarketStatus.DELISTED: frozenset(),
    },
    history="status_changes",
)


class Market(TimeStampedModel):
    """A listed market. `spec` is the plain-JSON market spec of its Final XIP (Decimals as
    strings) with later parameter changes applied; `config_hash` is keccak-256 of the spec's
    RFC 8785 canonical JSON, the value the on-chain registry holds."""

    symbol = models.CharField(max_length=40, unique=True)
    market_type = models.CharField(max_length=16, choices=MarketType.choices)
    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="markets"
    )
    xip = models.OneToOneField(
        "governance.Proposal",
        on_delete=models.PROTECT,
        related_name="listed_market",
        help_text="The Final market XIP that listed this market (one market per XIP).",
    )
    deployer = models.ForeignKey(
        "xip_portal.Institution",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deployed_markets",
    )
    base_asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quote_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    spec = models.JSONField()
    config_hash = models.CharField(max_length=66)
    status = models.CharField(
        max_length=16, choices=MarketStatus.choices, default=MarketStatus.APPROVED
    )
    launch_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["symbol"]
        indexes = [models.Index(fields=["status", "market_type"])]

    def __str__(self) -> str:
        return self.symbol

    @property
    def title(self) -> str:
        return str(self.spec.get("name") or self.symbol)

    @property
    def outcomes(self) -> list[str]:
        return list(self.spec.get("outcomes") or [])

    def can_move_to(self, status: str) -> bool:
        return MARKET_TRANSITIONS.allows(self.status, status)

    def can_halt(self) -> bool:
        return self.can_move_to(MarketStatus.HALTED)

    def can_resume(self) -> bool:
        return self.status == MarketStatus.HALTED


class MarketStatusChange(StatusChange):
    """One entry of a market's status history."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=MarketStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=MarketStatus.choices)

    def __str__(self) -> str:
        return f"{self.market}: {self.from_status or '-'} → {self.to_status}"


class MarketChange(TimeStampedModel):
    """A change a Final parameter or delisting XIP decided, applied at its effective time
    (enactment time; wind-down time) by the scheduled task."""

    class Kind(models.TextChoices):
        PARAMETERS = "parameters", "Parameter change"
        DELISTING = "delisting", "Delisting"

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="changes")
    xip = models.OneToOneField(
        "governance.Proposal", on_delete=models.PROTECT, related_name="market_change"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    changes = models.JSONField(default=dict, blank=True)
    effective_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["effective_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.market} at {self.effective_at:%Y-%m-%d %H:%M}"

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "changes": self.changes, "effective_at": self.effective_at}


class ResolutionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed (dispute window open)"
    DISPUTED = "disputed", "Disputed"
    DECIDED = "decided", "Decided (awaiting the operator)"
    SETTLED = "settled", "Settled"


RESOLUTION_TRANSITIONS = StateMachine(
    "A resolution",
    ResolutionStatus,
    {
        ResolutionStatus.PROPOSED: frozenset({ResolutionStatus.DISPUTED, ResolutionStatus.SETTLED}),
        ResolutionStatus.DISPUTED: frozenset({ResolutionStatus.DECIDED, ResolutionStatus.SETTLED}),
        ResolutionStatus.DECIDED: frozenset({ResolutionStatus.SETTLED}),
        ResolutionStatus.SETTLED: frozenset(),
    },
)


class Resolution(TimeStampedModel):
    """The outcome of a closed prediction market: proposed by its resolver with evidence,
    open to dispute until `dispute_until`, settled by itself when undisputed, decided by
    the group's editors (and, in a regulated group, approved by its operator) when
    disputed. `outcome` is "yes", "no" or "void" (binary) or an outcome's name or "void"
    (categorical); `final_outcome` is what was paid."""

    market = models.OneToOneField(Market, on_delete=models.PROTECT, related_name="resolution")
    status = models.CharField(
        max_length=16, choices=ResolutionStatus.choices, default=ResolutionStatus.PROPOSED
    )
    outcome = models.CharField(max_length=80)
    evidence_url = models.URLField(max_length=500)
    proposed_by = models.ForeignKey("xip_portal.User", on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    dispute_until = models.DateTimeField()
    final_outcome = models.CharField(max_length=80, blank=True)
    decided_by = models.ForeignKey(
        "xip_portal.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        "xip_portal.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        indexes = [models.Index(fields=["status", "dispute_until"])]

    def __str__(self) -> str:
        return f"{self.market}: {self.outcome} ({self.status})"

    def can_be_disputed(self, now: Any) -> bool:
        return self.status == ResolutionStatus.PROPOSED and now < self.dispute_until


class OutcomeElimination(TimeStampedModel):
    """One outcome of a categorical market resolved NO before the market's end (a team
    knocked out of the tournament), entered by a member of the market's resolver with
    evidence: the outcome's trading stopped, its NO shares paid one unit each and its YES
    shares nothing, while the other outcomes trade on (the engine's EliminateOutcome)."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="eliminations")
    outcome = models.CharField(max_length=80)
    evidence_url = models.URLField(max_length=500)
    eliminated_by = models.ForeignKey("xip_portal.User", on_delete=models.PROTECT, related_name="+")
    eliminated_at = models.DateTimeField()

    class Meta:
        ordering = ["eliminated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "outcome"], name="market_outcome_eliminated_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.market}: {self.outcome} eliminated"


class ResolutionDispute(TimeStampedModel):
    """A member's dispute of a proposed resolution, backed by a bond held in the group's
    engine; the bond goes to whoever the decision proves right."""

    class Result(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld (the proposal was wrong)"
        REJECTED = "rejected", "Rejected (the proposal stands)"

    resolution = models.OneToOneField(Resolution, on_delete=models.PROTECT, related_name="dispute")
    disputer = models.ForeignKey("xip_portal.User", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    bond_asset = models.CharField(max_length=16)
    bond_amount = models.DecimalField(max_digits=30, decimal_places=12)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.OPEN)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bond_amount__gte=0), name="market_dispute_bond_nonneg"
            )
        ]

    def __str__(self) -> str:
        return f"Dispute of {self.resolution.market}"


class OracleState(TimeStampedModel):
    """The last oracle price (index) a perpetual took, where it came from and when; the
    mark price is the engine's (engine.MarketView). `stale_halted`: the market was halted
    because this price grew older than the spec's `oracle_max_age_seconds`."""

    market = models.OneToOneField(Market, on_delete=models.CASCADE, related_name="oracle")
    index_price = models.DecimalField(max_digits=40, decimal_places=18)
    price_at = models.DateTimeField(help_text="When the source observed the price.")
    source = models.CharField(max_length=120)
    stale_halted = models.BooleanField(default=False)

    class Meta:
        ordering = ["market"]

    def __str__(self) -> str:
        return f"{self.market}: {self.index_price} at {self.price_at:%H:%M:%S}"


class OracleRefusal(TimeStampedModel):
    """A price an oracle source pushed and the portal refused (bad signature, stale, out
    of band), kept for the market's operators."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="oracle_refusals")
    source = models.CharField(max_length=120)
    price = models.CharField(max_length=60)
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.market}: {self.code}"
