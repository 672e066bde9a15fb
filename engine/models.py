"""The engine service's tables: the command journal, shard state, snapshots and the
projections that pages and APIs read.

The journal is the truth. A command is inserted with no sequence number (the inbox); the
shard's single writer gives it one when it applies it, in the same transaction as the
projections of its events and the shard's high-water mark. Everything else here is derived
from the journal and can be rebuilt from it (`manage.py engine_rebuild`).

Amounts are integers in the engine's units (ticks, lots, minor units); they are stored as
NUMERIC without decimals so that a notional or a balance never overflows a column.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from engine.codec import json_text, json_value
from engine.core.markets import MarketConfig
from xip_portal.models import TimeStampedModel


def amount_field(**kwargs: object) -> models.DecimalField:  # type: ignore[type-arg]
    """An exact integer of any practical size (engine units)."""
    return models.DecimalField(max_digits=40, decimal_places=0, **kwargs)  # type: ignore[arg-type]


class JSONTextField(models.TextField):  # type: ignore[type-arg]
    """JSON kept as the text it was written as, read back as its value. For a column the
    writer fills for every command and SQL never looks into: PostgreSQL then stores the
    text as given, where `jsonb` parsed each value again (measured: 4 to 8 µs of the
    server's CPU per command of a full inbox's batch, about a tenth of what it spends)."""

    # what django-stubs reads as the field's Python type (a TextField's is str)
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        return None if value is None else json_value(value)

    def to_python(self, value: Any) -> Any:
        return json_value(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else json_text(value)


class Shard(TimeStampedModel):
    """One risk group's engine: its collateral, how far its journal is applied, and the
    latest snapshot."""

    risk_group = models.OneToOneField(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="engine_shard"
    )
    collateral = models.CharField(max_length=16)
    high_water = models.BigIntegerField(default=0, help_text="The last sequence number applied.")
    snapshot_seq = models.BigIntegerField(default=0)
    state_hash = models.CharField(max_length=64, blank=True, help_text="At snapshot_seq.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(high_water__gte=models.F("snapshot_seq"), snapshot_seq__gte=0),
                name="engine_shard_snapshot_not_ahead",
            )
        ]

    def __str__(self) -> str:
        return f"Engine shard of risk group {self.risk_group_id}"


# a PlaceOrder's client order id in the journal, and the constraint that journals one
# pending per account (Command)
PENDING_CLIENT_ORDER_ID = KeyTextTransform("client_order_id", "payload")
PENDING_CLIENT_ORDER_ID_ONCE = "engine_command_pending_client_id_once"


class CommandQuerySet(models.QuerySet["Command"]):
    def idempotent(self, *, shard_id: int, account: int, key: str) -> CommandQuerySet:
        """The command submitted under `key` (at most one). The key's condition is spelled
        as the unique index's own, so that SQLite too searches that partial index rather
        than scan the shard's journal in its default order."""
        return self.filter(shard_id=shard_id, account=account, idempotency_key=key).exclude(
            idempotency_key=""
        )


class Command(models.Model):
    """One journal entry. `payload` is the command as submitted (`command_to_dict`, no
    `ts` but an AdvanceTime's). When the writer sequences it, it writes the command as the
    engine applied it: `ts` (engine time, ms) and `record`, its compact positional JSON
    (`command_to_record`), which is what a recovery replays. `outcome` holds what the
    engine said (its events for this command). A placed order's id is the row's own id
    (see `CommandReceipt`)."""

    # no index of its own: the journal's keys (shard, seq) and (shard, id) start with it
    shard = models.ForeignKey(
        Shard, on_delete=models.PROTECT, related_name="commands", db_index=False
    )
    seq = models.BigIntegerField(null=True, blank=True)
    account = models.BigIntegerField(default=0, help_text="0: a system command.")
    idempotency_key = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=32)
    payload = models.JSONField()
    ts = models.BigIntegerField(null=True, blank=True)
    record = models.TextField(blank=True)
    outcome = JSONTextField(null=True, blank=True)
    waiting = models.BooleanField(
        default=False, help_text="The submitter waits: publish the outcome on its channel."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CommandQuerySet.as_manager()

    class Meta:
        ordering = ["shard", "seq", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq"], name="engine_command_one_seq"),
            models.UniqueConstraint(
                fields=["shard", "account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="engine_command_idempotent",
            ),
            models.CheckConstraint(
                condition=models.Q(seq__isnull=True) | models.Q(seq__gt=0, outcome__isnull=False),
                name="engine_command_applied_has_outcome",
            ),
            models.CheckConstraint(
                condition=models.Q(seq__isnull=True) | (models.Q(ts__gte=0) & ~models.Q(record="")),
                name="engine_command_applied_has_record",
            ),
            # a client order id placed and not applied yet, once per account: of two
            # submissions of one id at the same moment (in two processes, each checking
            # before the other's commit), the later's insert waits for the earlier's
            # transaction, then fails. Also the index of that check
            # (client_order_id_open_sql): the account's pending orders by that id, never
            # every pending command of the shard
            models.UniqueConstraint(
                "shard",
                "account",
                PENDING_CLIENT_ORDER_ID,
                condition=models.Q(seq__isnull=True, kind="PlaceOrder")
                & ~models.Q(Exact(PENDING_CLIENT_ORDER_ID, "")),
                name=PENDING_CLIENT_ORDER_ID_ONCE,
            ),
        ]
        indexes = [
            models.Index(
                fields=["shard", "id"],
                condition=models.Q(seq__isnull=True),
                name="engine_command_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} (seq {self.seq})"


def projection_shard(related_name: str) -> Any:
    """The shard of a projection row. Projections are derived data: only the shard's
    writer writes them, for its own shard, in the batch's transaction, and a rebuild from
    the journal reproduces them. So no per-row foreign-key check at each batch's commit
    (a trigger per fill, order and statement line) and no index of its own: every
    projection's unique key starts with the shard."""
    return models.ForeignKey(
        Shard,
        on_delete=models.CASCADE,
        related_name=related_name,
        db_index=False,
        db_constraint=False,
    )


class Snapshot(models.Model):
    """The engine's whole state after `seq` (zlib-compressed canonical JSON)."""

    shard = models.ForeignKey(Shard, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.BigIntegerField()
    state_hash = models.CharField(max_length=64)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shard", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq"], name="engine_snapshot_one_per_seq")
        ]

    def __str__(self) -> str:
        return f"Snapshot of shard {self.shard_id} at {self.seq}"


class MarketView(models.Model):
    """A market as the engine holds it: config (engine units), status, prices, and the
    scales that turn the registry's decimals into engine integers."""

    shard = projection_shard("markets")
    market_id = models.CharField(max_length=80)
    kind = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    config = models.JSONField()
    mark = amount_field(default=0)
    last_price = amount_field(default=0)
    seq = models.BigIntegerField()

    class Meta:
        ordering = ["shard", "market_id"]
        constraints = [
            models.UniqueConstraint(fields=["shard", "market_id"], name="engine_market_once")
        ]

    def __str__(self) -> str:
        return f"{self.market_id} ({self.status})"

    @cached_property
    def market_config(self) -> MarketConfig:
        """`config` as the core's MarketConfig, made once per instance (the order fast
        path keeps its instances for as long as the order gate's version stands)."""
        return MarketConfig.from_dict(self.config)


class Order(models.Model):
    """An order as its events left it. `order_id` is the id of the command that placed
    it (`command`), unique across shards: the public id (OKX's ordId), and the order's
    one key."""

    class Status(models.TextChoices):
        OPEN = "open"
        FILLED = "filled"
        CANCELLED = "cancelled"
        REJECTED = "rejected"

    shard = projection_shard("orders")
    order_id = models.BigIntegerField()
    # derived data as the shard is (see projection_shard): the writer inserts the row for
    # the command it applies, so no check at each commit, which also locked the journal's
    # row (FOR KEY SHARE: a tuple lock written to the heap and the WAL) once per order;
    # and no index of its own: it is `order_id`, whose unique index finds it
    command = models.ForeignKey(
        Command,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    account = models.BigIntegerField()
    market_id = models.CharField(max_length=80)
    side = models.CharField(max_length=4)
    outcome = models.CharField(max_length=8, blank=True)
    order_type = models.CharField(max_length=8)
    tif = models.CharField(max_length=4)
    price = amount_field()
    size = amount_field()
    remaining = amount_field()
    filled = amount_field(default=0)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=40, blank=True)
    client_order_id = models.CharField(max_length=64, blank=True)
    created_seq = models.BigIntegerField()
    updated_seq = models.BigIntegerField()

    class Meta:
        ordering = ["shard", "order_id"]
        constraints = [
            # on the id alone (a command's: unique across shards), which was also unique
            # as command_id and as (shard, order_id): one index where there were two
            models.UniqueConstraint(fields=["order_id"], name="engine_order_id_once"),
            models.UniqueConstraint(
                fields=["shard", "account", "client_order_id"],
                condition=models.Q(status="open") & ~models.Q(client_order_id=""),
                name="engine_order_open_client_id_once",
            ),
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0, filled__gte=0, size__gt=0),
                name="engine_order_sizes",
            ),
        ]
        indexes = [models.Index(fields=["shard", "account", "status"], name="engine_order_acct")]

    def __str__(self) -> str:
        return f"Order {self.order_id} in {self.market_id} ({self.status})"


class Fill(models.Model):
    shard = projection_shard("fills")
    seq = models.BigIntegerField()
    index = models.PositiveIntegerField(help_text="Position among the command's events.")
    market_id = models.CharField(max_length=80)
    maker_order_id = models.BigIntegerField()
    taker_order_id = models.BigIntegerField()
    maker_account = models.BigIntegerField()
    taker_account = models.BigIntegerField()
    taker_buys = models.BooleanField()
    price = amount_field()
    size = amount_field()
    maker_fee = amount_field()
    taker_fee = amount_field()

    class Meta:
        ordering = ["shard", "seq", "index"]
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq", "index"], name="engine_fill_once"),
            models.CheckConstraint(
                condition=models.Q(price__gt=0, size__gt=0), name="engine_fill_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["shard", "maker_account", "seq"], name="engine_fill_maker"),
            models.Index(fields=["shard", "taker_account", "seq"], name="engine_fill_taker"),
        ]

    def __str__(self) -> str:
        return f"Fill {self.seq}.{self.index} in {self.market_id}"


class Candle(models.Model):
    """One minute of a market's trades (`start`: the minute's engine time, ms), folded by
    the writer from its fills: the pages' charts, the day's figures and the candle APIs
    read a row per minute, however many trades there were."""

    shard = projection_shard("candles")
    market_id = models.CharField(max_length=80)
    start = models.BigIntegerField()
    open = amount_field()
    high = amount_field()
    low = amount_field()
    close = amount_field()
    volume = amount_field()
    turnover = amount_field(help_text="The sum of price x size (engine units of money).")
    trades = models.PositiveIntegerField(help_text="How many fills.")

    class Meta:
        ordering = ["shard", "market_id", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "market_id", "start"], name="engine_candle_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"Candle {self.market_id} at {self.start}"


class Balance(models.Model):
    """`locked` backs open orders; `free` of the collateral may be negative while open
    perp positions' profit covers it (cross margin)."""

    shard = projection_shard("balances")
    account = models.BigIntegerField()
    asset = models.CharField(max_length=16)
    free = amount_field()
    locked = amount_field()
    seq = models.BigIntegerField()

    class Meta:
        ordering = ["shard", "account", "asset"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "account", "asset"], name="engine_balance_once"
            ),
            models.CheckConstraint(
                condition=models.Q(locked__gte=0), name="engine_balance_locked_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.asset} {self.free} free, {self.locked} locked"


class Position(models.Model):
    """A perp position: signed size and signed entry notional (entry price = entry/size)."""

    shard = projection_shard("positions")
    account = models.BigIntegerField()
    market_id = models.CharField(max_length=80)
    size = amount_field()
    entry = amount_field()
    realised = amount_field()
    funding = amount_field()
    seq = models.BigIntegerField()

    class Meta:
        ordering = ["shard", "account", "market_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "account", "market_id"], name="engine_position_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.size} {self.market_id}"


class Holding(models.Model):
    """Prediction shares of one binary market (locked: backing open sell orders)."""

    shard = projection_shard("holdings")
    account = models.BigIntegerField()
    market_id = models.CharField(max_length=80)
    yes = amount_field()
    no = amount_field()
    yes_locked = amount_field()
    no_locked = amount_field()
    seq = models.BigIntegerField()

    class Meta:
        ordering = ["shard", "account", "market_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "account", "market_id"], name="engine_holding_once"
            ),
            models.CheckConstraint(
                condition=models.Q(yes__gte=0, no__gte=0, yes_locked__gte=0, no_locked__gte=0),
                name="engine_holding_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.yes} yes / {self.no} no {self.market_id}"


class StatementEntry(models.Model):
    """One line of an account's statement: a money move that is not a trade's principal
    (deposit, withdrawal, transfer, fee, funding, payout, liquidation, bond)."""

    shard = projection_shard("statement")
    seq = models.BigIntegerField()
    index = models.PositiveIntegerField()
    account = models.BigIntegerField()
    kind = models.CharField(max_length=24)
    asset = models.CharField(max_length=16)
    amount = amount_field()
    market_id = models.CharField(max_length=80, blank=True)
    reference = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["shard", "seq", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "seq", "index", "account"], name="engine_statement_once"
            )
        ]
        indexes = [models.Index(fields=["shard", "account", "seq"], name="engine_statement_acct")]

    def __str__(self) -> str:
        return f"{self.account}: {self.kind} {self.amount} {self.asset}"


class Transfer(TimeStampedModel):
    """Collateral moving from a trader's account in one risk group to theirs in another.
    The row and the debit (TransferOut) are journaled together; the credit (TransferIn)
    is journaled, with the move to `crediting`, once the debit applied: a transfer
    interrupted anywhere is taken up again by `transfers_advance`, never half done."""

    class Status(models.TextChoices):
        DEBITING = "debiting"
        CREDITING = "crediting"
        DONE = "done"
        FAILED = "failed"

    account = models.BigIntegerField()
    transfer_id = models.CharField(max_length=64)
    from_shard = models.ForeignKey(Shard, on_delete=models.PROTECT, related_name="+")
    to_shard = models.ForeignKey(Shard, on_delete=models.PROTECT, related_name="+")
    asset = models.CharField(max_length=16)
    amount = amount_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DEBITING)
    debit = models.ForeignKey(Command, on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey(
        Command, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "transfer_id"], name="engine_transfer_once"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="engine_transfer_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_shard=models.F("to_shard")),
                name="engine_transfer_two_groups",
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer {self.transfer_id} of {self.account} ({self.status})"


class InsuranceEntry(models.Model):
    """One move of a risk group's insurance fund, or one auto-deleveraging, from the
    engine's events. `amount` is what the fund gained (negative: paid out), in the
    collateral's engine units; the fund's balance is the sum of them.

    kind `fund`: paid in (FundInsurance, a forfeited bond; `reference` says which);
    `liquidation_fee` (Liquidated: `account` was closed out); `funding` (FundingApplied:
    what payers paid beyond what receivers got); `deficit` (DeficitCovered: the fund paid
    `-amount` of `account`'s deficit, `clawed_back` came from profitable positions and
    `bad_debt` from nobody); `deleveraged` (Deleveraged: `size` of `account`'s position
    in `market_id` taken over by `counterparty` at `price`); `clawed_back` (ProfitClawedBack:
    `clawed_back` of `account`'s unrealised profit in `market_id`)."""

    class Kind(models.TextChoices):
        FUND = "fund", "Paid in"
        LIQUIDATION_FEE = "liquidation_fee", "Liquidation fee"
        FUNDING = "funding", "Funding remainder"
        DEFICIT = "deficit", "Deficit covered"
        DELEVERAGED = "deleveraged", "Auto-deleveraged"
        CLAWED_BACK = "clawed_back", "Profit clawed back"

    shard = projection_shard("insurance")
    seq = models.BigIntegerField()
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    amount = amount_field(default=0)
    account = models.BigIntegerField(default=0)
    counterparty = models.BigIntegerField(default=0)
    market_id = models.CharField(max_length=80, blank=True)
    size = amount_field(default=0)
    price = amount_field(default=0)
    clawed_back = amount_field(default=0)
    bad_debt = amount_field(default=0)
    reference = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["shard", "seq", "index", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq", "index"], name="engine_insurance_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} (seq {self.seq})"


class FundingEntry(models.Model):
    """One funding payment of a perpetual market, from the engine's FundingApplied:
    `rate_ppm` of notional at `mark` (positive: longs paid shorts); payers paid `paid`,
    receivers got `received` (engine units of the collateral)."""

    shard = projection_shard("funding")
    seq = models.BigIntegerField()
    index = models.PositiveIntegerField()
    market_id = models.CharField(max_length=80)
    rate_ppm = models.BigIntegerField()
    mark = amount_field()
    paid = amount_field()
    received = amount_field()

    class Meta:
        ordering = ["shard", "seq", "index"]
        constraints = [
            models.UniqueConstraint(fields=["shard", "seq", "index"], name="engine_funding_once")
        ]
        indexes = [models.Index(fields=["shard", "market_id", "seq"], name="engine_funding_market")]

    def __str__(self) -> str:
        return f"{self.market_id}: {self.rate_ppm} ppm (seq {self.seq})"
