"""Risk groups: the segregated venues that markets, memberships and staff roles belong to.

A group carries its governance policy (Last Call length, quorum, threshold, bond), its
jurisdiction rules, the collateral it accepts and the bounds its markets must respect."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django_countries import countries

from engine.core.markets import BPS, MarketKind
from xip_portal.models import TimeStampedModel

# the on-chain PriceFeed contract (engine.chain.price_feed), read by a scheduled task
PRICE_FEED_ORACLE = "pricefeed"
ORACLE_KINDS = ("chainlink", "pyth", "manual", "uma", PRICE_FEED_ORACLE)


class MarketType(models.TextChoices):
    """The kinds of market the engine trades (its core's MarketKind), with their labels.
    Declared here, the lowest room that needs them: a group's bounds allow some of them."""

    SPOT = MarketKind.SPOT.value, "Spot"
    PERP = MarketKind.PERP.value, "Perpetual"
    PREDICTION = MarketKind.PREDICTION.value, "Prediction"


def country_codes_invalid(codes: object) -> list[str]:
    """The entries of `codes` that are not ISO 3166 alpha-2 codes (all of it if not a list)."""
    if not isinstance(codes, list):
        return [str(codes)]
    return [code for code in codes if not isinstance(code, str) or code not in countries]


class RiskGroup(TimeStampedModel):
    class Kind(models.TextChoices):
        KYC_REGULATED = "kyc", "KYC-regulated"
        PERMISSIONLESS = "permissionless", "Permissionless"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)
    operator = models.ForeignKey(
        "xip_portal.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="operated_risk_groups",
    )
    # Governance policy.
    last_call_minutes = models.PositiveIntegerField(
        default=7 * 24 * 60, help_text="How long a proposal stays in Last Call, in minutes."
    )
    vote_quorum = models.PositiveIntegerField(
        default=3, help_text="The fewest votes cast for a vote to count."
    )
    vote_threshold_bps = models.PositiveIntegerField(
        default=5000,
        help_text="Share of votes against, in basis points, at or above which a quorate "
        "vote rejects.",
    )
    operator_approval_required = models.BooleanField(
        default=False, help_text="Proposals need the operator's approval (KYC groups)."
    )
    stagnant_after_days = models.PositiveIntegerField(
        default=90, help_text="Days without activity after which a draft is stagnant."
    )
    proposal_bond_amount = models.DecimalField(
        max_digits=20, decimal_places=6, default=Decimal("0")
    )
    proposal_bond_asset = models.CharField(max_length=16, blank=True, default="USDC")
    # Collateral policy.
    simulated_collateral = models.BooleanField(
        default=False,
        help_text="The collateral is simulated (no real assets): members take it from a faucet.",
    )
    faucet_daily_amount = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        default=Decimal("0"),
        help_text="Simulated collateral the faucet gives one account per day.",
    )
    # Membership policy.
    reverification_days = models.PositiveIntegerField(
        default=365, help_text="Days after which a KYC approval expires."
    )
    four_eyes_for_institutions = models.BooleanField(
        default=False, help_text="Institutional (KYB) approvals need two KYC admins."
    )
    high_risk_countries = models.JSONField(
        default=list,
        blank=True,
        help_text="ISO 3166 alpha-2 codes; applicants from these need two KYC admins.",
    )
    blocked_jurisdictions = models.JSONField(
        default=list, blank=True, help_text="ISO 3166 alpha-2 codes refused outright."
    )
    allowed_jurisdictions = models.JSONField(
        default=list, blank=True, help_text="If any, only these ISO 3166 alpha-2 codes may join."
    )
    terms = models.TextField(blank=True, help_text="Terms a member accepts to join.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(vote_threshold_bps__lte=BPS), name="risk_group_threshold_bps"
            ),
            models.CheckConstraint(
                condition=models.Q(proposal_bond_amount__gte=0), name="risk_group_bond_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(faucet_daily_amount__gte=0), name="risk_group_faucet_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_regulated(self) -> bool:
        return self.kind == self.Kind.KYC_REGULATED

    def jurisdiction_refusal(self, country: str) -> str:
        """Why an applicant or member from `country` may not belong here ("" if they may)."""
        code = str(country or "").upper()
        if code in self.blocked_jurisdictions:
            return f"{countries.name(code) or code} is a blocked jurisdiction in {self.name}."
        if self.allowed_jurisdictions and code not in self.allowed_jurisdictions:
            return f"{countries.name(code) or code} is not an allowed jurisdiction in {self.name}."
        return ""

    def is_high_risk(self, *country_codes: str) -> bool:
        return any(str(code).upper() in self.high_risk_countries for code in country_codes)


class MarketBounds(TimeStampedModel):
    """The ranges that every market proposed in the group must fall within."""

    risk_group = models.OneToOneField(RiskGroup, on_delete=models.CASCADE, related_name="bounds")
    min_tick = models.DecimalField(max_digits=30, decimal_places=18, default=Decimal("0.0001"))
    max_tick = models.DecimalField(max_digits=30, decimal_places=18, default=Decimal("100"))
    min_lot = models.DecimalField(max_digits=30, decimal_places=18, default=Decimal("0.0001"))
    max_lot = models.DecimalField(max_digits=30, decimal_places=18, default=Decimal("1000"))
    min_maker_fee_bps = models.IntegerField(default=-5, help_text="Negative: a rebate.")
    max_maker_fee_bps = models.IntegerField(default=50)
    min_taker_fee_bps = models.IntegerField(default=0)
    max_taker_fee_bps = models.IntegerField(default=100)
    max_leverage = models.PositiveIntegerField(default=20)
    allowed_market_types = models.JSONField(default=list, blank=True)
    allowed_oracle_kinds = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "market bounds"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_tick__gt=0, max_tick__gte=models.F("min_tick")),
                name="bounds_tick_range",
            ),
            models.CheckConstraint(
                condition=models.Q(min_lot__gt=0, max_lot__gte=models.F("min_lot")),
                name="bounds_lot_range",
            ),
            models.CheckConstraint(
                condition=models.Q(max_maker_fee_bps__gte=models.F("min_maker_fee_bps")),
                name="bounds_maker_fee_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    min_taker_fee_bps__gte=0, max_taker_fee_bps__gte=models.F("min_taker_fee_bps")
                ),
                name="bounds_taker_fee_range",
            ),
            models.CheckConstraint(condition=models.Q(max_leverage__gte=1), name="bounds_leverage"),
        ]

    def __str__(self) -> str:
        return f"Bounds of {self.risk_group}"


class CollateralAsset(TimeStampedModel):
    """An asset the group accepts as collateral, valued at (1 - haircut) of its price."""

    risk_group = models.ForeignKey(
        RiskGroup, on_delete=models.CASCADE, related_name="collateral_assets"
    )
    symbol = models.CharField(max_length=16)
    haircut_bps = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["risk_group", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["risk_group", "symbol"], name="one_collateral_entry"),
            models.CheckConstraint(
                condition=models.Q(haircut_bps__lt=BPS), name="collateral_haircut_below_100pct"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} in {self.risk_group} ({self.haircut_bps} bps haircut)"
