"""Serves the portal on the embedded default, under uvicorn (ASGI: live pages keep their
event streams open), with its scheduler in the same process."""

from datetime import timedelta
from importlib import import_module
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from xip_portal.scheduler import scheduler_start_in_process

WORLDCUP = "governance.proposals.worldcup"


class Command(BaseCommand):
    help = "Serves the portal (ASGI) and runs the beat schedule in-process (the embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--worldcup-step",
            type=int,
            default=20,
            help="Seconds between two kick-offs of the simulated World Cup the demo plays "
            "(0: none).",
        )

    def handle(self, *args: Any, addrport: str, worldcup_step: int, **options: Any) -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError(
                "serve_demo is for the embedded default (eager Celery); in production run "
                "`uvicorn xip_portal.asgi:application`, `celery -A xip_portal worker` and "
                "`celery -A xip_portal beat`."
            )
        host, _, port = addrport.rpartition(":")
        if not port.isdigit():
            raise CommandError(f"{addrport!r} is not host:port.")
        scheduler_start_in_process()
        if worldcup_step > 0:
            # imported by name: this command is where the rooms come together (as seed_demo)
            import_module(WORLDCUP).worldcup_demo_start(
                step=timedelta(seconds=worldcup_step), stdout=self.stdout
            )
        # One process: the engine runs in it (eager Celery) and tells the live streams of
        # each batch in memory. Requests are logged by RequestLogMiddleware, not uvicorn.
        uvicorn.run(
            "xip_portal.asgi:application",
            host=host or "127.0.0.1",
            port=int(port),
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
