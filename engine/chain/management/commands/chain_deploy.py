from typing import Any

from django.core.management.base import BaseCommand

from engine.chain.deployment import chain_deploy
from engine.chain.provider import chain_describe


class Command(BaseCommand):
    help = "Deploy the contracts to the configured chain (CHAIN_RPC_URL) and record them."

    def handle(self, *args: Any, **options: Any) -> None:
        deployment = chain_deploy()
        self.stdout.write(f"Deployed to {chain_describe()} (chain id {deployment.chain_id}):")
        for field in ("operator", "settler", "token", "registry", "ledger", "vault", "price_feed"):
            self.stdout.write(f"  {field:<10} {getattr(deployment, field)}")
