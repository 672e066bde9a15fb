"""Serves the portal on the embedded default with its scheduler in the same process."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from xip_portal.scheduler import scheduler_start_in_process


class Command(BaseCommand):
    help = "Serves the portal and runs the beat schedule in-process (the embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError(
                "serve_demo is for the embedded default (eager Celery); in production run the "
                "web server, `celery -A xip_portal worker` and `celery -A xip_portal beat`."
            )
        scheduler_start_in_process()
        call_command("runserver", addrport, use_reloader=False)
