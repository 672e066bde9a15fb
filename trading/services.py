"""Writes of the trading room: API keys (create, revoke, mark as used), orders through the
membership gate, the simulated-collateral faucet and transfers between risk groups."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from engine.faucet import faucet_grant
from engine.models import Transfer
from engine.services import (
    MAX_WAIT_SECONDS,
    BatchItem,
    CommandReceipt,
    command_submit,
    commands_submit,
    shard_of,
    units_exact,
)
from engine.specs import asset_unit
from engine.transfers import transfer_between_groups
from governance.memberships.services import membership_require
from governance.risk_groups.models import RiskGroup
from markets.models import Asset, Market
from xip_portal.audit import audit_record
from xip_portal.errors import ApplicationError, Conflict, NotFound
from xip_portal.models import User

from .errors import TradingError
from .instruments import Tradable, tradables
from .key_vault import secret_encrypt
from .models import ApiKey

SCOPES = ("read", "trade", "withdraw")
MAX_ACTIVE_KEYS = 50  # as OKX allows per account
MAX_ALLOWLIST = 20
PASSPHRASE_LENGTH = (8, 32)
# `last_used_at` is written at most this often per key: every request would be a write
LAST_USED_GRANULARITY = timedelta(minutes=1)


def ip_allowlist_parse(entries: Iterable[str]) -> list[str]:
    """Addresses and networks (CIDR) in their canonical form, or ApplicationError naming
    the entry that is neither."""
    parsed = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ApplicationError(
                f"{text!r} is not an IP address or network.",
                code=TradingError.BAD_IP_ALLOWLIST,
                field="ip_allowlist",
            ) from None
        canonical = str(network.network_address) if network.num_addresses == 1 else str(network)
        if canonical not in parsed:
            parsed.append(canonical)
    if len(parsed) > MAX_ALLOWLIST:
        raise ApplicationError(
            f"At most {MAX_ALLOWLIST} addresses or networks.",
            code=TradingError.BAD_IP_ALLOWLIST,
            field="ip_allowlist",
        )
    return parsed


def api_key_create(
    *,
    user: User,
    name: str,
    passphrase: str,
    scopes: Iterable[str] = ("read",),
    ip_allowlist: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """Creates a signing key for `user`; returns it with its secret, which is stored only
    encrypted and never shown again. Every key may read; "trade" and "withdraw" add scopes.
    The passphrase is the user's own (8 to 32 characters), kept as a password hash."""
    name = name.strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ApplicationError("Give the key a name of at most 50 characters.", field="name")
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ApplicationError(f"Unknown scope {unknown[0]!r}.", field="scopes")
    low, high = PASSPHRASE_LENGTH
    if not low <= len(passphrase) <= high:
        raise ApplicationError(
            f"The passphrase has {low} to {high} characters.",
            code=TradingError.BAD_PASSPHRASE,
            field="passphrase",
        )
    allowlist = ip_allowlist_parse(ip_allowlist)
    secret = secrets.token_hex(16).upper()
    with transaction.atomic():
        # one user's keys are counted under a lock on the user, so two requests cannot
        # both take the last place
        User.objects.select_for_update().filter(pk=user.pk).first()
        if ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_KEYS:
            raise Conflict(
                f"At most {MAX_ACTIVE_KEYS} active keys; revoke one first.",
                code=TradingError.TOO_MANY_KEYS,
            )
        api_key = ApiKey.objects.create(
            user=user,
            name=name,
            key=str(uuid.uuid4()),
            secret_encrypted=secret_encrypt(secret),
            passphrase_hash=make_password(passphrase),
            can_trade="trade" in wanted,
            can_withdraw="withdraw" in wanted,
            ip_allowlist=allowlist,
        )
        audit_record(
            actor=user,
            action="api_key.create",
            obj=api_key,
            new={"name": name, "scopes": api_key.scopes, "ip_allowlist": allowlist},
        )
    return api_key, secret


def api_key_revoke(*, user: User, key: str, now: datetime | None = None) -> ApiKey:
    """Revokes one of the user's keys; from the commit on, requests signed with it fail.
    Revoking a revoked key is refused (Conflict), another user's key is not found."""
    now = now or timezone.now()
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(user=user, key=key).first()
        if api_key is None:
            raise NotFound("You have no such API key.")
        if api_key.revoked_at is not None:
            raise Conflict("This key is already revoked.", code=TradingError.KEY_REVOKED)
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=user, action="api_key.revoke", obj=api_key, old={"name": api_key.name})
    return api_key


def api_key_mark_used(*, api_key: ApiKey, now: datetime | None = None) -> None:
    """Records that the key signed a request: at most one write per key per minute."""
    now = now or timezone.now()
    last = api_key.last_used_at
    if last is not None and now - last < LAST_USED_GRANULARITY:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def order_submit(
    *, user: User, tradable: Tradable, command: dict[str, Any], wait: float = 0.0
) -> CommandReceipt:
    """Journals `command` (a trader command in engine units) for `user`'s account in the
    tradable's risk group, once the membership gate lets the user trade there (the pages,
    /api/v1 and the OKX API all pass here). Raises MembershipRequired or CommandRefused
    before writing anything."""
    membership_require(user=user, risk_group=tradable.market.risk_group, action="trade")
    return command_submit(
        risk_group=tradable.risk_group_id, account=user.pk, command=command, wait=wait
    )


def collateral_decimals(risk_group: RiskGroup) -> int:
    """The registry's decimals of the group's collateral asset."""
    symbol = shard_of(risk_group=risk_group).collateral
    return int(Asset.objects.values_list("decimals", flat=True).get(symbol=symbol))


def faucet_take(*, user: User, risk_group: RiskGroup) -> CommandReceipt:
    """Today's simulated collateral of `risk_group` for a member (engine.faucet_grant);
    refused with the missing step for a non-member, and in a group with real collateral."""
    membership_require(user=user, risk_group=risk_group, action="trade")
    decimals = collateral_decimals(risk_group)
    receipt = faucet_grant(risk_group=risk_group, account=user.pk, collateral_decimals=decimals)
    audit_record(
        actor=user, action="faucet.take", obj=risk_group, new={"command": receipt.command_id}
    )
    return receipt


def collateral_transfer(
    *, user: User, from_group: RiskGroup, to_group: RiskGroup, amount: Decimal, transfer_id: str
) -> Transfer:
    """Moves `amount` of the collateral from the user's account in `from_group` to theirs
    in `to_group` (engine.transfers), both groups' memberships checked and the same
    collateral asset on both sides; idempotent on `transfer_id`."""
    for group in (from_group, to_group):
        membership_require(user=user, risk_group=group, action="trade")
    source, target = shard_of(risk_group=from_group), shard_of(risk_group=to_group)
    if source.collateral != target.collateral:
        raise ApplicationError(
            f"{from_group.name} holds {source.collateral} and {to_group.name} "
            f"{target.collateral}: a transfer moves one collateral.",
            field="to_group",
        )
    if amount <= 0:
        raise ApplicationError("Transfer a positive amount.", field="amount")
    units = units_exact(
        amount,
        unit=asset_unit(decimals=collateral_decimals(from_group), collateral=True),
        field="amount",
    )
    transfer = transfer_between_groups(
        account=user.pk,
        from_group=from_group,
        to_group=to_group,
        asset=source.collateral,
        amount=units,
        transfer_id=transfer_id,
    )
    audit_record(
        actor=user,
        action="transfer.request",
        obj=from_group,
        new={"to_group": to_group.pk, "amount": str(amount), "transfer_id": transfer_id},
    )
    return transfer


def quick_buy(
    *, user: User, board: Market, engine_market: str, outcome: str, size: Decimal
) -> tuple[CommandReceipt, Decimal]:
    """Buys `size` YES or NO shares of a prediction market on `board`'s page (one of its
    outcomes, or a market of its risk group beside it) with a market order, waiting for
    the engine's answer; refused with the reason otherwise. Answers the receipt and the
    shares bought (0 while the order is not applied yet)."""
    tradable = tradables().get(engine_market)
    if (
        tradable is None
        or tradable.kind != "prediction"
        or tradable.risk_group_id != board.risk_group_id
    ):
        raise ApplicationError(f"{engine_market} is not traded on this board.", field="market")
    receipt = order_submit(
        user=user,
        tradable=tradable,
        command={
            "type": "PlaceOrder",
            "market": engine_market,
            "side": "buy",
            "outcome": outcome,
            "size": tradable.listed.size(size),
            "order_type": "market",
            "tif": "ioc",
        },
        wait=MAX_WAIT_SECONDS,
    )
    if receipt.result == "rejected":
        raise ApplicationError(
            f"The engine refused the order: {receipt.reason.replace('_', ' ')}.",
            code=receipt.reason,
        )
    filled = int((receipt.outcome or {}).get("filled") or 0)
    return receipt, tradable.size(filled)


def orders_submit(
    *, user: User, risk_group: RiskGroup, commands: list[dict[str, Any]]
) -> list[CommandReceipt]:
    """Journals several trader commands of `user` in one risk group at once (a market
    maker's quotes), once the membership gate lets the user trade there; one refused
    command refuses them all (engine.services.commands_submit)."""
    membership_require(user=user, risk_group=risk_group, action="trade")
    return commands_submit(
        risk_group=risk_group, items=[BatchItem(user.pk, command) for command in commands]
    )
