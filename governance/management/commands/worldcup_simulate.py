"""`manage.py worldcup_simulate --seed N`: the simulated 2026 World Cup, played to the end
(governance.proposals.worldcup). Needs the demo's data (`manage.py seed_demo`)."""

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.proposals.worldcup import worldcup_cast, worldcup_simulate


class Command(BaseCommand):
    help = (
        "Play the simulated World Cup from a seed: one market per match, listed by XIP, resolved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument(
            "--step-seconds", type=int, default=120, help="Seconds between two kick-offs."
        )
        parser.add_argument(
            "--realtime",
            action="store_true",
            help="Wait for each kick-off on the wall clock (the demo, for visitors to watch).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        tournament = worldcup_simulate(
            seed=options["seed"],
            cast=worldcup_cast(),
            step=timedelta(seconds=options["step_seconds"]),
            realtime=options["realtime"],
            stdout=self.stdout,
        )
        self.stdout.write(
            f"{len(tournament.matches)} matches and the winner market, every market settled, in "
            f"{time.monotonic() - started:.1f} s."
        )
