"""manage.py engine_queues [--hosts N --host I]: the shard queues an engine writer consumes.

Prints them comma-separated for `celery worker -P solo -Q ...`. With `--hosts N --host I`
it prints the I-th of N disjoint sets (shards dealt round-robin by id), so N hosts each run
one writer worker and every shard has exactly one consumer. With `--wait` it waits for the
host's first shard instead of failing (a new installation has no risk group yet). A risk
group made after the worker started is consumed once the workers are restarted.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engine.services import shard_of
from engine.tasks import shard_queue
from governance.risk_groups.models import RiskGroup

WAIT_SECONDS = 10


def _queues_of(hosts: int, host: int) -> list[str]:
    groups = RiskGroup.objects.order_by("pk").values_list("pk", flat=True)
    shards = sorted(shard_of(risk_group=group_id).pk for group_id in groups)
    return [shard_queue(shard_id) for shard_id in shards if shard_id % hosts == host]


class Command(BaseCommand):
    help = "Print the engine shard queues (one per risk group) a writer worker consumes."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--hosts", type=int, default=1, help="How many writer hosts share the shards"
        )
        parser.add_argument("--host", type=int, default=0, help="This host's index, 0 to hosts-1")
        parser.add_argument(
            "--wait", action="store_true", help="Wait for a risk group instead of failing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hosts, host = options["hosts"], options["host"]
        if hosts < 1 or not 0 <= host < hosts:
            raise CommandError("--host must be between 0 and --hosts - 1, and --hosts at least 1.")
        while not (mine := _queues_of(hosts, host)):
            if not options["wait"]:
                raise CommandError(
                    "No risk group has a shard for this host: create a risk group first."
                )
            self.stderr.write("No risk group for this engine host yet; waiting for one.")
            time.sleep(WAIT_SECONDS)
        self.stdout.write(",".join(mine))
