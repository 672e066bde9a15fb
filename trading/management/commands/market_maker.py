"""`manage.py market_maker --maker EMAIL [--taker EMAIL]`: quotes every live market around
its fair value, and takes a little, every `--interval` seconds (trading.market_maker)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.market_maker import MarketMaker, initial_prices
from xip_portal.errors import ApplicationError
from xip_portal.models import User


class Command(BaseCommand):
    help = "Quotes every live market around a fair value, with a few takers (an operator's tool)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--maker", required=True, help="The maker account's email.")
        parser.add_argument("--taker", help="The taker account's email (none: no takes).")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds per cycle.")
        parser.add_argument("--levels", type=int, default=3, help="Price levels per side.")
        parser.add_argument("--seed", type=int, default=2026, help="The random walks' seed.")
        parser.add_argument("--cycles", type=int, default=0, help="Stop after N (0: never).")
        parser.add_argument(
            "--initial",
            nargs="*",
            default=[],
            metavar="SYMBOL=PRICE",
            help="A starting price for a market with no oracle and no trade yet.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def account(email: str) -> User:
            user = User.objects.filter(email__iexact=email, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {email}.")
            return user

        if not 1 <= options["levels"] <= 20:
            raise CommandError("--levels is 1 to 20.")
        try:
            initial = initial_prices(options["initial"])
        except ApplicationError as refused:
            raise CommandError(f"--initial {refused.message}") from None
        maker = MarketMaker(
            maker=account(options["maker"]),
            taker=account(options["taker"]) if options["taker"] else None,
            levels=options["levels"],
            seed=options["seed"],
            initial=initial,
        )
        cycles = 0
        while True:
            submitted = maker.cycle()
            cycles += 1
            self.stdout.write(f"cycle {cycles}: {sum(submitted.values())} commands")
            if options["cycles"] and cycles >= options["cycles"]:
                return
            time.sleep(options["interval"])
