"""Demo data of the trading room: two demo traders, members of the demo risk groups, take
simulated USDC from each group's faucet and have an API key each, printed so a newcomer can
point ccxt at the demo at once. Idempotent: a second run deposits nothing new and prints
the same keys."""

from __future__ import annotations

from datetime import timedelta
from typing import TextIO

from django.conf import settings
from django.utils import timezone

from engine import models as engine
from engine.sequencer import simulated_clock_set
from engine.services import command_submit
from engine.tasks import shard_process
from governance.memberships.models import MembershipStatus
from governance.memberships.services import membership_join
from governance.proposals.demo import DEMO_HISTORY, demo_faucet, demo_member
from governance.risk_groups.models import RiskGroup
from xip_portal.demo import demo_user

from .key_vault import secret_decrypt
from .market_maker import MarketMaker, initial_prices
from .models import ApiKey
from .services import api_key_create

TRADERS = [
    ("trader@demo.exchange-os.test", "Demo trader"),
    ("bot@demo.exchange-os.test", "Demo trading bot"),
]
KEY_NAME = "demo ccxt"


def seed_demo_data(stdout: TextIO) -> None:
    history_play(stdout)  # first: the engine's clock is still where the XIP demo left it
    passphrase = settings.DEMO_PASSWORD
    open_groups = list(RiskGroup.objects.filter(kind=RiskGroup.Kind.PERMISSIONLESS))
    lines = []
    for email, name in TRADERS:
        user = demo_user(email, name)
        for group in open_groups:
            membership_join(
                user=user, risk_group=group, country_of_residence="GB", accept_terms=True
            )
        groups = RiskGroup.objects.filter(
            memberships__user=user, memberships__status=MembershipStatus.ACTIVE
        ).distinct()
        for group in groups.filter(simulated_collateral=True).order_by("pk"):
            demo_faucet(group, [user])
        api_key = ApiKey.objects.filter(user=user, name=KEY_NAME, revoked_at__isnull=True).first()
        if api_key is None:
            api_key, secret = api_key_create(
                user=user, name=KEY_NAME, passphrase=passphrase, scopes=("read", "trade")
            )
        else:
            secret = secret_decrypt(api_key.secret_encrypted)
        lines.append(f"API key {email}: key={api_key.key} secret={secret} passphrase={passphrase}")
    for line in lines:
        stdout.write(line)


MAKER = ("maker@demo.exchange-os.test", "Demo market maker")
TAKER = ("taker@demo.exchange-os.test", "Demo taker")
INITIAL_PRICES = ["BTC-USDC=60000", "ETH-PERP=3000"]
HISTORY_STEP = timedelta(hours=2)


def demo_market_maker(*, levels: int = 3) -> MarketMaker:
    """The demo's maker and taker: members of every demo group with its simulated USDC
    (and some simulated BTC to sell), quoting every live market."""
    maker, taker = demo_user(*MAKER), demo_user(*TAKER)
    for group in RiskGroup.objects.filter(simulated_collateral=True).order_by("pk"):
        for user in (maker, taker):
            demo_member(group, user=user)
        demo_faucet(group, [maker, taker])
        if not group.is_regulated:
            for user in (maker, taker):
                command_submit(
                    risk_group=group,
                    account=user.pk,
                    command={
                        "type": "Deposit",
                        "asset": "BTC",
                        "amount": 10**9,  # 10 simulated BTC (engine units: satoshi)
                        "external_id": f"demo-btc:{user.pk}",
                    },
                    idempotency_key=f"demo-btc:{user.pk}",
                )
    return MarketMaker(
        maker=maker, taker=taker, levels=levels, initial=initial_prices(INITIAL_PRICES)
    )


def history_play(stdout: TextIO) -> None:
    """A fresh demo's last DEMO_HISTORY of trading, two hours a cycle on a simulated
    engine clock (the XIP demo listed the markets DEMO_HISTORY back), so charts and 24 h
    changes have history; then the engine's clock is the wall clock again."""
    try:
        if engine.Fill.objects.exists():
            return
        maker = demo_market_maker(levels=1)
        start = timezone.now() - DEMO_HISTORY
        for step in range(int(DEMO_HISTORY / HISTORY_STEP)):
            simulated_clock_set(int((start + step * HISTORY_STEP).timestamp() * 1000))
            maker.cycle()
            for shard in engine.Shard.objects.order_by("pk"):
                shard_process(shard.pk)
        stdout.write(f"Market history: {engine.Fill.objects.count()} trades over {DEMO_HISTORY}")
    finally:
        simulated_clock_set(None)
