"""Demo data of the trading room: two demo traders, members of the demo risk groups, take
simulated USDC from each group's faucet and have an API key each, printed so a newcomer can
point ccxt at the demo at once. Idempotent: a second run deposits nothing new and prints
the same keys."""

from __future__ import annotations

from typing import TextIO

from django.conf import settings

from governance.memberships.models import MembershipStatus
from governance.memberships.services import membership_join
from governance.proposals.demo import demo_faucet
from governance.risk_groups.models import RiskGroup
from xip_portal.demo import demo_user

from .key_vault import secret_decrypt
from .models import ApiKey
from .services import api_key_create

TRADERS = [
    ("trader@demo.exchange-os.test", "Demo trader"),
    ("bot@demo.exchange-os.test", "Demo trading bot"),
]
KEY_NAME = "demo ccxt"


def seed_demo_data(stdout: TextIO) -> None:
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
