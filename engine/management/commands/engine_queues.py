"""manage.py engine_queues [--hosts N --host I]: the shard queues an engine writer consumes.

Prints them comma-separated for `celery worker -P solo -Q ...`. With `--hosts N --host I`
it prints the I-th of N disjoint sets (shards dealt round-robin by id), so N hosts each run
one writer worker and every shard has exactly one consumer. A risk group made after the
worker started is consumed once the workers are restarted.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engine.services import shard_of
from engine.tasks import shard_queue
from governance.risk_groups.models import RiskGroup


class Command(BaseCommand):
    help = "Print the engine shard queues (one per risk group) a writer worker consumes."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--hosts", type=int, default=1, help="How many writer hosts share the shards"
        )
        parser.add_argument("--host", type=int, default=0, help="This host's index, 0 to hosts-1")

    def handle(self, *args: Any, **options: Any) -> None:
        hosts, host = options["hosts"], options["host"]
        if hosts < 1 or not 0 <= host < hosts:
            raise CommandError("--host must be between 0 and --hosts - 1, and --hosts at least 1.")
        shards = sorted(
            shard_of(risk_group=group_id).pk
            for group_id in RiskGroup.objects.values_list("pk", flat=True)
        )
        mine = [shard_queue(shard_id) for shard_id in shards if shard_id % hosts == host]
        if not mine:
            raise CommandError(
                "No risk group has a shard for this host: create a risk group first."
            )
        self.stdout.write(",".join(mine))
