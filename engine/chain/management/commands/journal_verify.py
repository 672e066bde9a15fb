from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engine.chain.deployment import deployment_active
from engine.chain.journal_verify import journal_verify
from governance.risk_groups.models import RiskGroup


class Command(BaseCommand):
    help = (
        "Replay a risk group's journal from genesis and check that every settlement batch "
        "committed on the chain is reproduced: its fills hash, balance root and withdrawals root."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("risk_group", help="The risk group's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        group = RiskGroup.objects.filter(slug=options["risk_group"]).first()
        if group is None:
            raise CommandError(f"No risk group {options['risk_group']!r}.")
        deployment = deployment_active()
        if deployment is None:
            raise CommandError("The chain has no deployment: run manage.py chain_deploy.")
        checks = journal_verify(deployment=deployment, risk_group_id=group.pk)
        for check in checks:
            state = "reproduced" if check.reproduced else f"NOT reproduced: {check.problem}"
            self.stdout.write(
                f"batch {check.batch} (to seq {check.last_seq}) {check.balance_root}: {state}"
            )
        if any(not check.reproduced for check in checks):
            raise CommandError(f"{group.name}: a committed batch is not reproduced.")
        self.stdout.write(
            f"{group.name}: {len(checks)} committed batches reproduced (fills, balances, "
            "withdrawals)."
        )
