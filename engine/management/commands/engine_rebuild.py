"""manage.py engine_rebuild [--shard ID ...]: rebuild projections from the journal and
verify the replay (recorded events and the snapshot's state hash)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engine import models
from engine.rebuild import ReplayMismatch, shard_rebuild


class Command(BaseCommand):
    help = "Rebuild the engine's projections from the journal and verify the state hash."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shard", type=int, action="append", help="Shard id (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        shards = models.Shard.objects.order_by("pk")
        if options["shard"]:
            shards = shards.filter(pk__in=options["shard"])
        for shard in shards:
            try:
                report = shard_rebuild(shard=shard)
            except ReplayMismatch as error:
                raise CommandError(f"shard {shard.pk}: {error}") from error
            checked = (
                f"state hash at snapshot {report.snapshot_seq} verified"
                if report.snapshot_hash_checked
                else "no snapshot to verify against"
            )
            self.stdout.write(
                f"shard {report.shard_id}: {report.commands} commands replayed, {checked}, "
                f"state hash now {report.state_hash}"
            )
