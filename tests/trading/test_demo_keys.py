"""`make demo` prints an API key per demo trader, and the keys sign requests."""

import re

import pytest
from django.core.management import call_command

from engine import models as engine_models
from tests.trading.fixtures import Credentials
from trading.models import ApiKey

pytestmark = pytest.mark.django_db

LINE = re.compile(r"^API key (\S+): key=(\S+) secret=([0-9A-F]{32}) passphrase=(\S+)$", re.M)


def test_the_demo_prints_working_keys_for_two_funded_traders(capsys, okx) -> None:
    call_command("seed_demo")
    first = LINE.findall(capsys.readouterr().out)
    call_command("seed_demo")
    again = LINE.findall(capsys.readouterr().out)

    assert len(first) >= 2 and again == first
    emails = [email for email, *_ in first]
    deposits = engine_models.Command.objects.filter(kind="Deposit", payload__asset="USDC")
    assert deposits.values("account").distinct().count() >= 2
    for email, key, secret, passphrase in first:
        credentials = Credentials(ApiKey.objects.get(key=key), secret, passphrase)
        answer = okx(credentials, "GET", "/api/v5/account/balance").json()
        assert answer["code"] == "0", email
    assert "trader@demo.exchange-os.test" in emails
