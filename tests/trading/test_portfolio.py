"""The portfolio from the trader's side: collateral (free, reserved, in positions) per risk
group, outcome holdings with their value, open orders, fills with a CSV of all of them,
the statement with its totals, transfers between groups (a form) and the faucet of
simulated collateral; nobody sees another's account; the query count does not grow with
the orders and fills. The history is kept rendered in the cache: it is never another user's
and shows a new fill, statement line or transfer move on the next render."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engine import models as engine
from engine.selectors import balances_of
from engine.services import shard_of
from engine.tasks import shard_process
from engine.transfers import transfers_advance
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, member_create
from trading import portfolio

pytestmark = pytest.mark.django_db

URL = "/portfolio/"


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of the page's table `table_id`."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    if table is None:
        return []
    body = table.group(1).split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def fills_shown(client) -> list[list[str]]:
    """The fills table of the portfolio (market, side, role, price, size, fee)."""
    rows = table_rows(client.get(URL).content.decode(), "fills")
    return [row[1:] for row in rows if len(row) > 1]


def test_the_portfolio_shows_collateral_holdings_orders_fills_and_statement(
    client, world_cup, trader
):
    # Given a trader who bought 3 YES of Brazil at 0.31 and rests a bid for France at 0.10
    world_cup.quote()
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 3, "0.31")
    world_cup.order(trader, "WC26-WINNER:France", "buy", 4, "0.10")
    world_cup.process()
    client.force_login(trader)
    # When they open the portfolio
    response = client.get(URL)
    assert response.status_code == 200
    (account,) = response.context["portfolio"].groups
    # Then the collateral: 1,000 - 0.93 paid - the 0.1% taker fee, and reserved for the bid
    # its 0.40 and the most fee it could pay (0.1% of the 4 shares' payout)
    assert account.risk_group == world_cup.group
    fee = Decimal("0.93") * Decimal("0.001")
    assert account.reserved == Decimal("0.4") + Decimal("0.004")
    assert account.free == Decimal(1000) - Decimal("0.93") - fee - account.reserved
    # and the holding valued at Brazil's mid price (0.30)
    (holding,) = account.holdings
    assert (holding.tradable.outcome, holding.yes, holding.price, holding.value) == (
        "Brazil",
        3,
        Decimal("0.3"),
        Decimal("0.9"),
    )
    assert account.in_positions == Decimal("0.9")
    (order,) = account.orders
    assert (order["market"], order["side"], order["price"], order["remaining"]) == (
        "WC26-WINNER:France",
        "buy",
        "0.1",
        "4",
    )
    # and the fill from the trader's side, and the statement's totals by kind
    html = response.content.decode()
    (fill,) = table_rows(html, "fills")
    assert fill[1:6] == ["WC26-WINNER:Brazil", "buy", "taker", "0.31", "3"]
    totals = {row[1]: row[2] for row in table_rows(html, "statement-totals")}
    assert totals == {"deposit": "1000 USDC", "fee": f"{-fee:f} USDC"}
    assert "Brazil" in html and "CSV of all fills" in html


def test_the_fills_csv_has_every_fill_of_the_trader_only(client, world_cup, trader):
    world_cup.quote(levels=2)
    for _ in range(3):
        world_cup.order(trader, "WC26-WINNER:Argentina", "buy", 2, "0.52")
    world_cup.process()
    client.force_login(trader)
    response = client.get(reverse("portfolio_fills_csv"))
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # 5 offered at 0.51 then 5 at 0.52: the third order takes the last 1 at 0.51 and 1 at 0.52
    assert [(r["market"], r["side"], r["role"]) for r in rows] == [
        ("WC26-WINNER:Argentina", "buy", "taker")
    ] * 4
    assert [(r["size"], r["price"]) for r in rows] == [
        ("2", "0.51"),
        ("2", "0.51"),
        ("1", "0.51"),
        ("1", "0.52"),
    ]
    # and the maker's CSV has the same fills from the other side
    client.force_login(world_cup.maker)
    maker_rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(client.get(reverse("portfolio_fills_csv")).streaming_content).decode()
            )
        )
    )
    assert [(r["side"], r["role"]) for r in maker_rows] == [("sell", "maker")] * 4


def test_another_user_sees_nothing_of_the_trader(client, world_cup, trader):
    world_cup.quote()
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 3, "0.31")
    world_cup.process()
    client.force_login(trader)
    assert len(fills_shown(client)) == 1  # the trader's history is in the cache now
    client.force_login(UserFactory())
    response = client.get(URL)
    html = response.content.decode()
    assert response.context["portfolio"].groups == []
    assert "No fills yet." in html and "WC26-WINNER:Brazil" not in html
    assert table_rows(html, "statement-lines") == []


def test_two_traders_each_see_only_their_own_history(client, world_cup, trader, monkeypatch):
    # (even were their histories' marks the same: each user's is kept apart)
    monkeypatch.setattr(portfolio, "_history_mark", lambda shards: ("the same for all",))
    # Given two traders with different fills, each having seen their portfolio once
    other = member_create(world_cup.group, UserFactory())
    engine_deposit(group=world_cup.group, user=other, amount=Decimal(500))
    world_cup.quote()
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 3, "0.31")
    world_cup.order(other, "WC26-WINNER:France", "buy", 2, "0.21")
    world_cup.process()
    for user in (trader, other):
        client.force_login(user)
        fills_shown(client)
    # When each opens it again (from the cache), in turn
    client.force_login(trader)
    mine = client.get(URL).content.decode()
    client.force_login(other)
    theirs = client.get(URL).content.decode()
    # Then each sees their own fill, deposit and fee only
    assert [row[1:6] for row in table_rows(mine, "fills")] == [
        ["WC26-WINNER:Brazil", "buy", "taker", "0.31", "3"]
    ]
    assert [row[1:6] for row in table_rows(theirs, "fills")] == [
        ["WC26-WINNER:France", "buy", "taker", "0.21", "2"]
    ]
    assert {row[1]: row[2] for row in table_rows(mine, "statement-totals")}["deposit"] == (
        "1000 USDC"
    )
    assert {row[1]: row[2] for row in table_rows(theirs, "statement-totals")}["deposit"] == (
        "500 USDC"
    )


def test_the_history_shows_each_change_on_the_next_render(client, world_cup, trader):
    world_cup.quote(levels=2)
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 3, "0.31")
    world_cup.process()
    client.force_login(trader)
    assert len(fills_shown(client)) == 1
    # a new fill (as taker)
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 1, "0.31")
    world_cup.process()
    assert [row[:4] for row in fills_shown(client)] == [
        ["WC26-WINNER:Brazil", "buy", "taker", "0.31"]
    ] * 2
    # a fill as maker: the trader's bid, the best, taken by another trader's sell
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 1, "0.30")
    world_cup.process()
    assert len(fills_shown(client)) == 2
    seller = member_create(world_cup.group, UserFactory())
    engine_deposit(group=world_cup.group, user=seller, amount=Decimal(10))
    world_cup.order(seller, "WC26-WINNER:Brazil", "sell", 1, "0.30")
    world_cup.process()
    assert fills_shown(client)[0][:4] == ["WC26-WINNER:Brazil", "buy", "maker", "0.3"]
    # a statement line without a fill (a deposit)
    engine_deposit(group=world_cup.group, user=trader, amount=Decimal(7))
    totals = table_rows(client.get(URL).content.decode(), "statement-totals")
    assert {row[1]: row[2:] for row in totals}["deposit"] == ["1007 USDC", "2"]
    # the risk group's new name
    world_cup.group.name = "World Cup venue"
    world_cup.group.save()
    assert table_rows(client.get(URL).content.decode(), "statement-totals")[0][0] == (
        "World Cup venue"
    )


def test_the_faucet_gives_a_member_simulated_collateral_once_a_day(client, open_group):
    open_group.simulated_collateral, open_group.faucet_daily_amount = True, Decimal("500")
    open_group.save()
    member = member_create(open_group, UserFactory())
    client.force_login(member)
    assert "Take today" in client.get(URL).content.decode()
    # When the member takes the faucet twice
    first = client.post(reverse("portfolio_faucet"), {"risk_group": open_group.pk}, follow=True)
    shard_process(shard_of(risk_group=open_group).pk)
    second = client.post(reverse("portfolio_faucet"), {"risk_group": open_group.pk}, follow=True)
    # Then the first credits 500 simulated USDC and the second is refused in words
    assert "on its way" in first.content.decode()
    assert "per account per day" in second.content.decode()
    (usdc,) = balances_of(shard=shard_of(risk_group=open_group), account=member.pk)
    assert usdc.free == 500 * 10**12


def test_the_faucet_refuses_a_non_member(client, open_group):
    open_group.simulated_collateral, open_group.faucet_daily_amount = True, Decimal("500")
    open_group.save()
    outsider = UserFactory()
    client.force_login(outsider)
    response = client.post(reverse("portfolio_faucet"), {"risk_group": open_group.pk}, follow=True)
    assert 'class="message error"' in response.content.decode()
    assert not engine.Command.objects.filter(account=outsider.pk).exists()


def test_a_transfer_between_two_groups_moves_collateral(client, world_cup, trader, open_group):
    member_create(open_group, trader)
    client.force_login(trader)
    transfer_id = transfer_form_of(client.get(URL).content.decode())["transfer_id"]
    # When the trader moves 250 USDC from the World Cup's group to the open group
    response = client.post(
        reverse("portfolio_transfer"),
        {
            "from_group": world_cup.group.pk,
            "to_group": open_group.pk,
            "amount": "250",
            "transfer_id": transfer_id,
        },
    )
    assert response.status_code == 302
    # (listed at once, before it applies)
    (row,) = table_rows(client.get(URL).content.decode(), "transfers")
    assert row[2:] == ["250 USDC", "Debiting"]
    # (the workers apply the debit, the sweep journals the credit, the target applies it)
    shard_process(shard_of(risk_group=world_cup.group).pk)
    transfers_advance()
    shard_process(shard_of(risk_group=open_group).pk)
    transfers_advance()
    # Then 750 stay and 250 arrived, and the portfolio lists the transfer as done
    (left,) = balances_of(shard=shard_of(risk_group=world_cup.group), account=trader.pk)
    (arrived,) = balances_of(shard=shard_of(risk_group=open_group), account=trader.pk)
    assert (left.free, arrived.free) == (750 * 10**12, 250 * 10**12)
    (row,) = table_rows(client.get(URL).content.decode(), "transfers")
    assert row == [world_cup.group.name, open_group.name, "250 USDC", "Done"]


def transfer_form_of(html: str) -> dict[str, object]:
    """The transfer form of a portfolio page: its id, and the groups each list offers."""
    form = html[html.index('action="/portfolio/transfer/"') :]
    form = form[: form.index("</form>")]

    def offered(name: str) -> list[str]:
        select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', form, re.S)
        assert select is not None
        return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))

    transfer_id = re.search(r'name="transfer_id" value="([^"]+)"', form)
    assert transfer_id is not None
    return {
        "transfer_id": transfer_id.group(1),
        "from_group": offered("from_group"),
        "to_group": offered("to_group"),
    }


def test_each_member_is_offered_their_own_groups_and_a_new_transfer_id_each_time(
    client, world_cup, trader, open_group
):
    # Given a member of two groups and a member of one
    member_create(open_group, trader)
    other = member_create(world_cup.group, UserFactory())
    groups = sorted([world_cup.group.name, open_group.name])
    # When each opens the portfolio, twice, then each list offers their own groups
    forms = []
    for user, theirs in ((trader, groups), (other, [world_cup.group.name]), (trader, groups)):
        client.force_login(user)
        form = transfer_form_of(client.get(URL).content.decode())
        assert form["from_group"] == form["to_group"] == ["---------", *theirs]
        forms.append(form)
    # and every form has a transfer id of its own
    assert len({form["transfer_id"] for form in forms}) == 3
    # and a group renamed is offered under its new name
    open_group.name = "Open Renamed"
    open_group.save()
    client.force_login(trader)
    assert "Open Renamed" in transfer_form_of(client.get(URL).content.decode())["from_group"]


@pytest.mark.parametrize(
    ("amount", "words"),
    [("0", "positive amount"), ("0.0000000000001", "not a whole number"), ("5000", "")],
)
def test_a_bad_transfer_is_refused_beside_the_form(
    client, world_cup, trader, open_group, amount, words
):
    member_create(open_group, trader)
    client.force_login(trader)
    response = client.post(
        reverse("portfolio_transfer"),
        {
            "from_group": world_cup.group.pk,
            "to_group": open_group.pk,
            "amount": amount,
            "transfer_id": "6f1c2c8e-2f55-4c4b-9d3c-0b7f5c1f2a10",
        },
    )
    if words:
        assert response.status_code == 200 and words in response.content.decode()
        assert not engine.Transfer.objects.exists()
    else:
        # more than the balance: journaled, then failed by the engine, nothing moved
        shard_process(shard_of(risk_group=world_cup.group).pk)
        transfers_advance()
        assert engine.Transfer.objects.get().status == "failed"
        (left,) = balances_of(shard=shard_of(risk_group=world_cup.group), account=trader.pk)
        assert left.free == 1000 * 10**12


def portfolio_queries(client, world_cup, trader, *, orders: int, trades: int) -> int:
    world_cup.quote(levels=3)
    for index in range(orders):
        world_cup.order(trader, "WC26-WINNER:France", "buy", 1, f"0.0{index % 9 + 1}")
    for _ in range(trades):
        world_cup.order(trader, "WC26-WINNER:Argentina", "buy", 1, "0.60")
        world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 1, "0.40")
    world_cup.process()
    client.force_login(trader)
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_portfolio_runs_as_many_queries_with_many_orders_and_fills(client, world_cup, trader):
    few = portfolio_queries(client, world_cup, trader, orders=1, trades=1)
    many = portfolio_queries(client, world_cup, trader, orders=12, trades=7)
    assert few == many


def test_an_unchanged_history_is_not_read_again(client, world_cup, trader):
    world_cup.quote()
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 3, "0.31")
    world_cup.process()
    client.force_login(trader)
    reads = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            client.get(URL)
        reads.append([q["sql"] for q in queries if 'FROM "engine_statemententry"' in q["sql"]])
    assert reads[0] and not reads[1]
