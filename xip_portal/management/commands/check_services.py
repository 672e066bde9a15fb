from typing import Any

from django.core.management.base import BaseCommand, CommandError

from xip_portal.health import probe_broker, probe_database


class Command(BaseCommand):
    help = "Stops with a clear message when PostgreSQL or the Celery broker is not reachable."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = [result for result in (probe_database(), probe_broker()) if not result.ok]
        for result in failed:
            self.stderr.write(f"{result.name}: {result.detail}")
            self.stderr.write(f"  start it with: {result.how_to_start}")
        if failed:
            raise CommandError(
                "Needed services are down: " + ", ".join(result.name for result in failed)
            )
        self.stdout.write("PostgreSQL and the broker are reachable.")
