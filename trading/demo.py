"""Demo data of the trading room: two demo traders, members of the demo risk groups, hold
simulated USDC in each group's engine and have an API key each, printed so a newcomer can
point ccxt at the demo at once. Idempotent: a second run deposits nothing new and prints
the same keys."""

from __future__ import annotations

from decimal import Decimal
from typing import TextIO

from django.conf import settings

from engine.services import command_submit, shard_of, units_exact
from engine.specs import asset_unit
from governance.memberships.models import MembershipStatus
from governance.memberships.services import membership_join
from governance.risk_groups.models import RiskGroup
from markets.models import Asset
from xip_portal.demo import demo_user

from .key_vault import secret_decrypt
from .models import ApiKey
from .services import api_key_create

TRADERS = [
    ("trader@demo.exchange-os.test", "Demo trader"),
    ("bot@demo.exchange-os.test", "Demo trading bot"),
]
FAUCET_USDC = Decimal("100000")
KEY_NAME = "demo ccxt"


def seed_demo_data(stdout: TextIO) -> None:
    passphrase = settings.DEMO_PASSWORD
    open_groups = list(RiskGroup.objects.filter(kind=RiskGroup.Kind.PERMISSIONLESS))
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))
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
        for group in groups.order_by("pk"):
            collateral = shard_of(risk_group=group).collateral
            unit = asset_unit(decimals=decimals.get(collateral, 6), collateral=True)
            command_submit(
                risk_group=group,
                account=user.pk,
                command={
                    "type": "Deposit",
                    "asset": collateral,
                    "amount": units_exact(FAUCET_USDC, unit=unit, field="amount"),
                    "external_id": f"demo-faucet-{user.pk}",
                },
                idempotency_key=f"demo-faucet-{user.pk}",
            )
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
