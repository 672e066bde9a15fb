"""What the portal knows of the chain: where its contracts are, every transaction it sent
(one per purpose, so a retry never sends a second), the registry entries to mirror, the
settlement batches with the leaves of their trees, the vault's deposits as the indexer saw
them, and the withdrawals traders asked for.

Token amounts are in the token's smallest unit; engine amounts in engine units."""

from __future__ import annotations

from django.db import models

from engine.models import amount_field
from xip_portal.models import TimeStampedModel


class Deployment(TimeStampedModel):
    """One deployment of the contracts on one chain. The active one is the latest whose chain
    id and genesis block match the chain the portal talks to (an embedded chain is new in
    every process, so each process deploys its own)."""

    chain_id = models.BigIntegerField()
    genesis_hash = models.CharField(max_length=66)
    operator = models.CharField(max_length=42, help_text="Registrar, feed admin, deployer.")
    settler = models.CharField(max_length=42, help_text="The SettlementLedger's settler.")
    token = models.CharField(max_length=42)
    registry = models.CharField(max_length=42)
    ledger = models.CharField(max_length=42)
    vault = models.CharField(max_length=42)
    price_feed = models.CharField(max_length=42)
    block_number = models.BigIntegerField(help_text="The block of the last deployment.")
    deposits_final_block = models.BigIntegerField(
        default=0, help_text="Deposits up to this block are final (credited or refused)."
    )
    payouts_final_block = models.BigIntegerField(
        default=0, help_text="The vault's payouts up to this block are marked paid."
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Deployment {self.pk} on chain {self.chain_id}"


class ChainTransaction(TimeStampedModel):
    """One transaction the portal signs, once per `purpose` ("batch:3:12",
    "registry:BTC-USDT:2", ...), from `sender` (the operator's or the settler's address, whose
    nonce it takes). Its signed bytes are kept: a retry sends the same transaction again (same
    nonce, same content) until it is mined or its nonce is taken."""

    class Status(models.TextChoices):
        SENT = "sent"
        MINED = "mined"
        REVERTED = "reverted"
        DROPPED = "dropped"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=120)
    contract = models.CharField(max_length=32)
    function = models.CharField(max_length=32)
    sender = models.CharField(max_length=42)
    nonce = models.BigIntegerField()
    tx_hash = models.CharField(max_length=66)
    raw = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    block_number = models.BigIntegerField(null=True, blank=True)
    gas_used = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "purpose"],
                condition=~models.Q(status="dropped"),
                name="chain_tx_once_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} ({self.status})"


class RegistryEntry(TimeStampedModel):
    """A market as the on-chain registry must hold it. `version` grows with every change;
    the sync sends one transaction per version it has not sent on the active deployment."""

    market_id = models.CharField(max_length=80, unique=True)
    config_hash = models.CharField(max_length=66)
    status = models.CharField(max_length=16)
    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="+"
    )
    xip = models.PositiveIntegerField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["market_id"]

    def __str__(self) -> str:
        return f"{self.market_id} v{self.version} ({self.status})"

    @property
    def purpose(self) -> str:
        return f"registry:{self.market_id}:{self.version}"


class SettlementBatch(models.Model):
    """One batch of a risk group on one deployment, fixed when it is cut: a failed commit is
    retried with exactly this content. `leaves` are the balance tree's values
    [[account, asset, balance], ...] and `withdrawals` the withdrawal tree's
    [[withdrawal_id, recipient, token_amount], ...] (the risk group id completes each)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="batches")
    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="+"
    )
    number = models.PositiveIntegerField()
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    fill_count = models.PositiveIntegerField()
    fills_hash = models.CharField(max_length=66)
    balance_root = models.CharField(max_length=66)
    withdrawals_root = models.CharField(max_length=66)
    previous_root = models.CharField(max_length=66)
    leaves = models.JSONField()
    withdrawals = models.JSONField(default=list)
    transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    committed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["risk_group", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "risk_group", "number"], name="chain_batch_once"
            ),
            models.CheckConstraint(
                condition=models.Q(last_seq__gte=models.F("first_seq"), first_seq__gt=0),
                name="chain_batch_sequence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Batch {self.number} of risk group {self.risk_group_id}"

    @property
    def purpose(self) -> str:
        return f"batch:{self.risk_group_id}:{self.number}"


class ChainDeposit(TimeStampedModel):
    """A vault Deposit log as the indexer saw it: confirming until it has enough
    confirmations, then credited (one Deposit command, exactly once) or refused; dropped if a
    reorganisation removed it before that."""

    class Status(models.TextChoices):
        CONFIRMING = "confirming"
        CREDITED = "credited"
        REFUSED = "refused"
        DROPPED = "dropped"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="deposits")
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    depositor = models.CharField(max_length=42)
    risk_group_id = models.BigIntegerField()
    account = models.BigIntegerField()
    amount = amount_field(help_text="Token units.")
    confirmations = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMING)
    command_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-block_number", "-log_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "tx_hash", "log_index"], name="chain_deposit_once"
            )
        ]
        indexes = [models.Index(fields=["account", "status"], name="chain_deposit_account")]

    def __str__(self) -> str:
        return f"Deposit {self.tx_hash}:{self.log_index} ({self.status})"


class Withdrawal(TimeStampedModel):
    """A trader's withdrawal: debited by a Withdraw command, included in the next batch's
    withdrawals root, then paid by the vault against its proof (once per withdrawal id)."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        REFUSED = "refused"
        DEBITED = "debited"
        COMMITTED = "committed"
        PAID = "paid"

    withdrawal_id = models.CharField(max_length=66, unique=True)
    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="+"
    )
    account = models.BigIntegerField()
    recipient = models.CharField(max_length=42)
    amount = amount_field(help_text="Engine units.")
    token_amount = amount_field(help_text="Token units.")
    command_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    batch = models.ForeignKey(
        SettlementBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claim_tx_hash = models.CharField(max_length=66, blank=True)
    reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, token_amount__gt=0),
                name="chain_withdrawal_positive",
            )
        ]
        indexes = [models.Index(fields=["account", "-id"], name="chain_withdrawal_account")]

    def __str__(self) -> str:
        return f"Withdrawal {self.withdrawal_id} ({self.status})"
