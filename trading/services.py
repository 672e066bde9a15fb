"""Writes of the trading room: API keys (create, revoke, mark as used); the checks every
way in that trades with an API key shares (OKX-signed requests, /api/v1, the MCP server for
agents): the key is active, the caller's address is allowed, the passphrase and the secret
are the key's own, the key holds the scope; and the trader's orders (place, batch, amend,
cancel, cancel all) as every trading API sends them: each checks who may trade, then
submits through the engine service. The APIs only translate their own fields into the
engine's command."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from engine import models as engine
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
from engine.transfers import transfer_advance, transfer_between_groups
from governance.memberships.models import Membership
from governance.memberships.services import membership_require
from governance.risk_groups.models import RiskGroup
from markets.models import Asset, Market
from xip_portal.audit import audit_record
from xip_portal.errors import (
    ApplicationError,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from xip_portal.models import User

from .errors import TradingError
from .instruments import Tradable, tradables
from .key_vault import key_secret, secret_encrypt
from .models import ApiKey, IdempotentAnswer
from .selectors import api_key_active

SCOPES = ("read", "trade", "withdraw")
MAX_ACTIVE_KEYS = 50  # as OKX allows per account
MAX_ALLOWLIST = 20
PASSPHRASE_LENGTH = (8, 32)
# `last_used_at` is written at most this often per key: every request would be a write
LAST_USED_GRANULARITY = timedelta(minutes=1)

# (key id, passphrase hash) -> SHA-256 of the passphrase once checked: the password hash is
# slow on purpose, and a bot sends its passphrase with every request
_passphrases_checked: dict[tuple[int, str], bytes] = {}


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


def _passphrase_ok(api_key: ApiKey, passphrase: str) -> bool:
    digest = hashlib.sha256(passphrase.encode()).digest()
    seen = _passphrases_checked.get((api_key.pk, api_key.passphrase_hash))
    if seen is not None:
        return hmac.compare_digest(seen, digest)
    if not check_password(passphrase, api_key.passphrase_hash):
        return False
    _passphrases_checked[(api_key.pk, api_key.passphrase_hash)] = digest
    return True


def api_key_address_allowed(api_key: ApiKey, address: str) -> bool:
    if not api_key.ip_allowlist:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in api_key.ip_allowlist)


def api_key_authenticate(*, key: str, passphrase: str, address: str) -> ApiKey:
    """The active key `key` (with its user) if `address` is in its allow-list and
    `passphrase` is the key's; NotAuthenticated naming the first check that fails
    (unknown_key, ip_not_allowed, bad_key_passphrase) otherwise. The caller then proves
    it holds the secret (a signature, or the secret itself) and marks the key used."""
    api_key = api_key_active(key=key)
    if api_key is None:
        raise NotAuthenticated("Invalid API key.", code=TradingError.UNKNOWN_KEY)
    if not api_key_address_allowed(api_key, address):
        raise NotAuthenticated(
            "This address is not in the key's IP allow-list.", code=TradingError.IP_NOT_ALLOWED
        )
    if not _passphrase_ok(api_key, passphrase):
        raise NotAuthenticated(
            "API key passphrase incorrect.", code=TradingError.BAD_KEY_PASSPHRASE
        )
    return api_key


def api_key_secret_require(*, api_key: ApiKey, secret: str) -> None:
    """NotAuthenticated (bad_secret) unless `secret` is the key's: for a caller that holds
    the secret in its own process rather than signing requests with it."""
    held = key_secret(key_id=api_key.pk, secret_encrypted=api_key.secret_encrypted)
    if not hmac.compare_digest(held.encode(), secret.encode()):
        raise NotAuthenticated("API key secret incorrect.", code=TradingError.BAD_SECRET)


def api_key_scope_require(*, api_key: ApiKey, scope: str) -> None:
    """PermissionDenied (scope_missing) unless the key holds `scope`."""
    if scope not in api_key.scopes:
        raise PermissionDenied(
            f"This API key has no {scope!r} scope.", code=TradingError.SCOPE_MISSING
        )


# ---------------------------------------------------------------------------- orders

# how long a trading request waits for the engine's outcome before answering "pending"
WAIT_SECONDS = 2.0
MAX_BATCH = 20


def trade_require(*, user: User, risk_group: RiskGroup) -> Membership:
    """Only members of a risk group trade in it: the membership that lets `user` trade
    (MembershipRequired naming the missing step otherwise)."""
    return membership_require(user=user, risk_group=risk_group, action="trade")


def order_place(
    *,
    user: User,
    tradable: Tradable,
    command: dict[str, Any],
    idempotency_key: str = "",
    wait: float = WAIT_SECONDS,
    wait_unless_covered: bool = False,
) -> CommandReceipt:
    """Journals `command` (the engine's PlaceOrder, in engine units) for `user` once they
    may trade in the tradable's risk group; waits up to `wait` seconds for the outcome.
    The receipt carries the order's id at once. With `wait_unless_covered` it waits only
    when the user's free balances may not cover the order (so a refusal for money is
    answered as such), and is "pending" (accepted for processing) otherwise. A repeated
    `idempotency_key` returns the first order's receipt."""
    trade_require(user=user, risk_group=tradable.market.risk_group)
    return command_submit(
        risk_group=tradable.risk_group_id,
        account=user.pk,
        command=command,
        idempotency_key=idempotency_key,
        wait=wait,
        wait_unless_covered=wait_unless_covered,
    )


@dataclass(frozen=True)
class OrderRequest:
    """One order of `orders_place`."""

    tradable: Tradable
    command: dict[str, Any]
    idempotency_key: str = ""


def orders_place(
    *, user: User, orders: list[OrderRequest], wait_unless_covered: bool = False
) -> list[CommandReceipt | ApplicationError]:
    """Places a batch (at most MAX_BATCH): one receipt or refusal per order, in order.
    The orders of each risk group are journaled in one transaction; when the engine
    service refuses one of them, each is submitted alone so every order gets its own
    answer. Waits for the outcomes (WAIT_SECONDS in all; with `wait_unless_covered`, only
    for orders the user's free balances may not cover, as `order_place`)."""
    if len(orders) > MAX_BATCH:
        raise ApplicationError(
            f"At most {MAX_BATCH} orders in one batch.", code=TradingError.TOO_MANY_ORDERS
        )
    answers: list[CommandReceipt | ApplicationError | None] = [None] * len(orders)
    groups: dict[int, list[int]] = defaultdict(list)
    refusals: dict[int, ApplicationError | None] = {}  # membership, checked once per group
    for index, order in enumerate(orders):
        group_id = order.tradable.risk_group_id
        if group_id not in refusals:
            try:
                trade_require(user=user, risk_group=order.tradable.market.risk_group)
                refusals[group_id] = None
            except ApplicationError as refusal:
                refusals[group_id] = refusal
        if refusals[group_id] is not None:
            answers[index] = refusals[group_id]
            continue
        groups[group_id].append(index)
    for group_id, indexes in groups.items():
        try:
            receipts = commands_submit(
                risk_group=group_id,
                items=[
                    BatchItem(user.pk, orders[i].command, orders[i].idempotency_key)
                    for i in indexes
                ],
                wait=WAIT_SECONDS,
                wait_unless_covered=wait_unless_covered,
            )
            answers_of: list[CommandReceipt | ApplicationError] = list(receipts)
        except ApplicationError:
            answers_of = []
            for i in indexes:
                try:
                    answers_of.append(
                        command_submit(
                            risk_group=group_id,
                            account=user.pk,
                            command=orders[i].command,
                            idempotency_key=orders[i].idempotency_key,
                            wait=WAIT_SECONDS,
                            wait_unless_covered=wait_unless_covered,
                        )
                    )
                except ApplicationError as refusal:
                    answers_of.append(refusal)
        for i, answer in zip(indexes, answers_of, strict=True):
            answers[i] = answer
    return [a for a in answers if a is not None]


def receipts_wait(
    receipts: list[CommandReceipt], *, wait: float = WAIT_SECONDS
) -> list[CommandReceipt]:
    """The receipts again once applied (or after `wait` seconds; at once inside an
    enclosing transaction, whose commands no writer can see yet)."""
    deadline = time.monotonic() + (0 if connection.in_atomic_block else wait)
    pending = {r.command_id for r in receipts if r.status != "applied"}
    outcomes: dict[int, Any] = {}
    while pending and time.monotonic() < deadline:
        for command_id, kind, outcome in engine.Command.objects.filter(
            pk__in=pending, outcome__isnull=False
        ).values_list("pk", "kind", "outcome"):
            outcomes[command_id] = (kind, outcome)
            pending.discard(command_id)
        if pending:
            time.sleep(0.005)
    return [
        CommandReceipt.of(r.command_id, *outcomes[r.command_id]) if r.command_id in outcomes else r
        for r in receipts
    ]


def order_amend(
    *,
    user: User,
    order: engine.Order,
    price: int = 0,
    size: int = 0,
    idempotency_key: str = "",
    wait: float = WAIT_SECONDS,
) -> CommandReceipt:
    """Journals a new price and/or remaining size (engine units; 0 keeps the current one)
    for one of the user's orders, once they may still trade in its risk group."""
    if not price and not size:
        raise ApplicationError(
            "Give a new price or a new size.", code=TradingError.MISSING_PARAMETER
        )
    trade_require(user=user, risk_group=order.shard.risk_group)
    command: dict[str, Any] = {"type": "AmendOrder", "order_id": order.order_id}
    if price:
        command["price"] = price
    if size:
        command["size"] = size
    return command_submit(
        risk_group=order.shard.risk_group_id,
        account=user.pk,
        command=command,
        idempotency_key=idempotency_key,
        wait=wait,
    )


def order_cancel(
    *, user: User, order: engine.Order, idempotency_key: str = "", wait: float = WAIT_SECONDS
) -> CommandReceipt:
    """Journals the cancellation of one of the user's orders (a former member may still
    cancel)."""
    return command_submit(
        risk_group=order.shard.risk_group_id,
        account=user.pk,
        command={"type": "CancelOrder", "order_id": order.order_id},
        idempotency_key=idempotency_key,
        wait=wait,
    )


def orders_cancel_all(
    *,
    user: User,
    tradable: Tradable | None = None,
    idempotency_key: str = "",
    wait: float = WAIT_SECONDS,
) -> list[CommandReceipt]:
    """Cancels the user's open orders in one tradable, or (None) in every risk group
    where they have some: one CancelAll per risk group (its idempotency key suffixed
    with the group's id)."""
    if tradable is not None:
        targets = [
            (tradable.risk_group_id, {"type": "CancelAll", "market": tradable.engine_market})
        ]
    else:
        groups = (
            engine.Order.objects.filter(account=user.pk, status=engine.Order.Status.OPEN)
            .values_list("shard__risk_group_id", flat=True)
            .distinct()
        )
        targets = [(group_id, {"type": "CancelAll"}) for group_id in sorted(groups)]
    receipts = [
        command_submit(
            risk_group=group_id,
            account=user.pk,
            command=command,
            idempotency_key=f"{idempotency_key}:{group_id}" if idempotency_key else "",
        )
        for group_id, command in targets
    ]
    return receipts_wait(receipts, wait=wait)


def collateral_decimals(risk_group: RiskGroup) -> int:
    """The registry's decimals of the group's collateral asset."""
    symbol = shard_of(risk_group=risk_group).collateral
    return int(Asset.objects.values_list("decimals", flat=True).get(symbol=symbol))


def faucet_take(*, user: User, risk_group: RiskGroup) -> CommandReceipt:
    """Today's simulated collateral of `risk_group` for a member (engine.faucet_grant);
    refused with the missing step for a non-member, and in a group with real collateral."""
    trade_require(user=user, risk_group=risk_group)
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
        trade_require(user=user, risk_group=group)
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
    receipt = order_place(
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


def quotes_submit(
    *, user: User, risk_group: RiskGroup, commands: list[dict[str, Any]]
) -> list[CommandReceipt]:
    """A market maker's round of commands in one risk group (cancels and quotes, as many
    as it takes), journaled in one transaction once `user` may trade there; one refused
    command refuses them all (engine.services.commands_submit). The receipts are pending:
    a maker does not wait for its quotes."""
    trade_require(user=user, risk_group=risk_group)
    return commands_submit(
        risk_group=risk_group, items=[BatchItem(user.pk, command) for command in commands]
    )


def transfer_wait(*, transfer: Transfer, wait: float = WAIT_SECONDS) -> Transfer:
    """The transfer moved on as far as the engines allow within `wait` seconds for its
    debit and again for its credit (what the beat's sweep would do later)."""
    for step in ("debit_id", "credit_id"):
        command_id = getattr(transfer, step)
        if command_id is not None:
            receipts_wait([CommandReceipt(command_id, "pending")], wait=wait)
            transfer = transfer_advance(transfer=transfer)
    return transfer


def answer_keep(
    *, user: User, key: str, fingerprint: str, status: int, body: Any
) -> IdempotentAnswer:
    """Keeps a write's successful answer under the user's Idempotency-Key; when a
    concurrent request with the same key kept one first, that one stays and is returned."""
    try:
        with transaction.atomic():
            return IdempotentAnswer.objects.create(
                user=user, key=key, fingerprint=fingerprint, status=status, body=body
            )
    except IntegrityError:
        return IdempotentAnswer.objects.get(user=user, key=key)


def answer_settle(*, answer: IdempotentAnswer, status: int, body: Any) -> None:
    """Replaces a kept provisional (202) answer with the final one the same request now
    gets (`TradingApiView.idempotent`); a refusal is never kept."""
    IdempotentAnswer.objects.filter(pk=answer.pk, status=202).update(status=status, body=body)
