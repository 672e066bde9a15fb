"""A trader's orders, whichever way they arrive (the OKX v5-compatible API, the MCP server for
agents, the project's own API): each edge translates its own fields into the engine's
command once; the membership gate, the submission through the engine service's one way in,
the wait for the outcome and the lookup of one's own order are shared here.

Placing an order needs a membership that lets the user trade in the market's risk group;
cancelling or amending one's own orders does not (a lapsed member may still take orders
down, and the engine refuses an order that is not the account's own)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import connection

from engine import models as engine
from engine.core.reasons import Reason
from engine.services import BatchItem, CommandReceipt, command_submit, commands_submit, shard_of
from governance.memberships.services import membership_require
from xip_portal.errors import ApplicationError
from xip_portal.models import User

from .errors import TradingError
from .instruments import Tradable

WAIT_SECONDS = 2.0


def order_place_command(
    tradable: Tradable,
    *,
    side: str,
    size: Any,
    price: Any = None,
    order_type: str = "limit",
    tif: str = "gtc",
    post_only: bool = False,
    reduce_only: bool = False,
    client_order_id: str = "",
    outcome: str = "",
) -> dict[str, Any]:
    """The engine's PlaceOrder from the project's own fields: `size` an amount of the base
    (perps: of the base, in whole lots; predictions: shares) and `price` the quote per base
    unit (per share), both decimal strings; the engine service checks the rest (side, type,
    time in force, outcome) and names what is wrong."""
    command: dict[str, Any] = {
        "type": "PlaceOrder",
        "market": tradable.engine_market,
        "side": side,
        "size": tradable.listed.size(size, "size"),
        "order_type": order_type,
        "tif": tif,
        "post_only": post_only,
    }
    if order_type != "market":
        if price in (None, ""):
            raise ApplicationError(
                "A limit order needs a price.", code=TradingError.MISSING_PARAMETER, field="price"
            )
        command["price"] = tradable.listed.price(price, "price")
    if client_order_id:
        command["client_order_id"] = client_order_id
    if reduce_only:
        command["reduce_only"] = True
    if outcome:
        command["outcome"] = outcome
    return command


def _may_place(user: User, tradable: Tradable, command: Mapping[str, Any]) -> None:
    if command.get("type") == "PlaceOrder":
        membership_require(user=user, risk_group=tradable.market.risk_group, action="trade")


def order_command_submit(
    *, user: User, tradable: Tradable, command: Mapping[str, Any], wait: float = WAIT_SECONDS
) -> CommandReceipt:
    """Journals one of the user's order commands (place, amend, cancel) for the tradable's
    risk group, after the membership gate for a placement, and waits up to `wait` for the
    outcome. Raises MembershipRequired or the engine service's refusal before writing."""
    _may_place(user, tradable, command)
    return command_submit(
        risk_group=tradable.risk_group_id, account=user.pk, command=command, wait=wait
    )


def order_commands_submit(
    *, user: User, orders: list[tuple[Tradable, Mapping[str, Any]]]
) -> list[CommandReceipt | ApplicationError]:
    """Journals a batch of the user's order commands, one transaction per risk group, and
    waits for their outcomes (up to WAIT_SECONDS together). Answers one receipt or refusal
    per command, in order: a refused command does not keep the others from being placed."""
    answers: list[CommandReceipt | ApplicationError | None] = [None] * len(orders)
    groups: dict[int, list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)
    for index, (tradable, command) in enumerate(orders):
        try:
            _may_place(user, tradable, command)
        except ApplicationError as refusal:
            answers[index] = refusal
            continue
        groups[tradable.risk_group_id].append((index, command))
    for group_id, members in groups.items():
        try:
            batch = commands_submit(
                risk_group=group_id,
                items=[BatchItem(user.pk, command) for _, command in members],
            )
            for (index, _), receipt in zip(members, batch, strict=True):
                answers[index] = receipt
        except ApplicationError:
            # one refusal refuses the engine's batch: submit one by one for each answer
            for index, command in members:
                try:
                    answers[index] = command_submit(
                        risk_group=group_id, account=user.pk, command=command
                    )
                except ApplicationError as refusal:
                    answers[index] = refusal
    submitted = {i: a for i, a in enumerate(answers) if isinstance(a, CommandReceipt)}
    for index, receipt in zip(submitted, receipts_wait(list(submitted.values())), strict=True):
        answers[index] = receipt
    return [answer for answer in answers if answer is not None]


def receipts_wait(receipts: list[CommandReceipt]) -> list[CommandReceipt]:
    """The receipts again once applied (or after WAIT_SECONDS; at once inside an enclosing
    transaction, whose commands no writer can see yet)."""
    deadline = time.monotonic() + (0 if connection.in_atomic_block else WAIT_SECONDS)
    pending = {r.command_id for r in receipts if r.status != "applied"}
    outcomes: dict[int, Any] = {}
    while pending and time.monotonic() < deadline:
        for command_id, outcome in engine.Command.objects.filter(
            pk__in=pending, outcome__isnull=False
        ).values_list("pk", "outcome"):
            outcomes[command_id] = outcome
            pending.discard(command_id)
        if pending:
            time.sleep(0.005)
    return [
        CommandReceipt.of(r.command_id, outcomes[r.command_id]) if r.command_id in outcomes else r
        for r in receipts
    ]


def order_find(
    *, user: User, tradable: Tradable, order_id: Any = None, client_order_id: Any = None
) -> engine.Order:
    """One of the user's orders in the tradable, by the order id or else by the client
    order id (the latest order that carried it); unknown_order if there is none."""
    orders = engine.Order.objects.filter(
        shard=shard_of(risk_group=tradable.risk_group_id),
        account=user.pk,
        market_id=tradable.engine_market,
    ).select_related("command")
    if order_id:
        if not str(order_id).isdigit():
            raise ApplicationError(
                "Order does not exist.", code=Reason.UNKNOWN_ORDER, field="order_id"
            )
        order = orders.filter(order_id=int(order_id)).first()
    elif client_order_id:
        order = orders.filter(client_order_id=str(client_order_id)).order_by("-order_id").first()
    else:
        raise ApplicationError(
            "Either the order id or the client order id is required.",
            code=TradingError.MISSING_PARAMETER,
        )
    if order is None:
        raise ApplicationError("Order does not exist.", code=Reason.UNKNOWN_ORDER)
    return order
