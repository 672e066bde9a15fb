"""Seeds the demo: one user of each role and the house institution here, then each room's
own demo data (`<module>.seed_demo_data`). Idempotent: a second run reuses what is there."""

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from xip_portal.demo import demo_user
from xip_portal.models import Institution, InstitutionMembership, StaffRole
from xip_portal.services import role_grant

DEMO_USERS: list[tuple[str, str, StaffRole | None]] = [
    ("trader@demo.exchange-os.test", "Demo trader", None),
    ("institution@demo.exchange-os.test", "Demo institution member", None),
    ("editor@demo.exchange-os.test", "Demo XIP editor", StaffRole.XIP_EDITOR),
    ("kyc@demo.exchange-os.test", "Demo KYC admin", StaffRole.KYC_ADMIN),
    ("operator@demo.exchange-os.test", "Demo risk-group operator", StaffRole.RISK_GROUP_OPERATOR),
    ("admin@demo.exchange-os.test", "Demo site admin", StaffRole.SITE_ADMIN),
]
HOUSE_INSTITUTION = "exchange-os-house"
DISCARD_EMAIL = "django.core.mail.backends.dummy.EmailBackend"
# Modules whose `seed_demo_data(stdout)` runs after the users exist, in this order (imported
# by name: this command is where the rooms come together, none of them imports it).
DEMO_MODULES = ["governance.demo", "governance.proposals.demo", "engine.demo", "trading.demo"]


class Command(BaseCommand):
    help = "Creates the demo users, institutions, risk groups and markets (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.DEMO_PASSWORD
        # The seed plays through real proposals and reviews; their notification emails go
        # nowhere rather than flooding the console.
        with override_settings(EMAIL_BACKEND=DISCARD_EMAIL), transaction.atomic():
            house, _ = Institution.objects.get_or_create(
                slug=HOUSE_INSTITUTION, defaults={"name": "Exchange OS House"}
            )
            for email, name, role in DEMO_USERS:
                user = demo_user(email, name, superuser=role == StaffRole.SITE_ADMIN)
                if role is not None and role != StaffRole.SITE_ADMIN:
                    role_grant(actor=None, user=user, role=role, reason="demo seed")
                if email.startswith("institution@"):
                    InstitutionMembership.objects.get_or_create(
                        institution=house,
                        user=user,
                        defaults={"role": InstitutionMembership.Role.ADMIN},
                    )
            for module in DEMO_MODULES:
                if find_spec(module) is not None:
                    import_module(module).seed_demo_data(self.stdout)
        self.stdout.write(f"Demo logins (password for all: {password})")
        for email, name, role in DEMO_USERS:
            note = " (sets up two-factor at the first staff page)" if role else ""
            self.stdout.write(f"  {name:<26} {email}{note}")
