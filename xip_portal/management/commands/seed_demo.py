"""Seeds the demo: one user of each role, an institution and the risk groups. Idempotent:
a second run finds what is there and changes nothing."""

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from governance.models import RiskGroup
from xip_portal.models import Institution, InstitutionMembership, StaffRole, User
from xip_portal.services import role_grant

DEMO_USERS: list[tuple[str, str, StaffRole | None]] = [
    ("trader@demo.exchange-os.test", "Demo trader", None),
    ("institution@demo.exchange-os.test", "Demo institution member", None),
    ("editor@demo.exchange-os.test", "Demo XIP editor", StaffRole.XIP_EDITOR),
    ("kyc@demo.exchange-os.test", "Demo KYC admin", StaffRole.KYC_ADMIN),
    ("operator@demo.exchange-os.test", "Demo risk-group operator", StaffRole.RISK_GROUP_OPERATOR),
    ("admin@demo.exchange-os.test", "Demo site admin", StaffRole.SITE_ADMIN),
]


class Command(BaseCommand):
    help = "Creates the demo users, institution and risk groups (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.DEMO_PASSWORD
        with transaction.atomic():
            house, _ = Institution.objects.get_or_create(
                slug="exchange-os-house", defaults={"name": "Exchange OS House"}
            )
            RiskGroup.objects.get_or_create(
                slug="regulated-main",
                defaults={"name": "Regulated Main", "kind": RiskGroup.Kind.KYC_REGULATED},
            )
            RiskGroup.objects.get_or_create(
                slug="open-markets",
                defaults={"name": "Open Markets", "kind": RiskGroup.Kind.PERMISSIONLESS},
            )
            for email, name, role in DEMO_USERS:
                user = self._user(email, name, password, superuser=role == StaffRole.SITE_ADMIN)
                if role is not None and role != StaffRole.SITE_ADMIN:
                    role_grant(actor=None, user=user, role=role, reason="demo seed")
                if email.startswith("institution@"):
                    InstitutionMembership.objects.get_or_create(
                        institution=house,
                        user=user,
                        defaults={"role": InstitutionMembership.Role.ADMIN},
                    )
        self.stdout.write(f"Demo logins (password for all: {password})")
        for email, name, role in DEMO_USERS:
            note = " (set up two-factor on first staff page)" if role else ""
            self.stdout.write(f"  {name:<26} {email}{note}")

    def _user(self, email: str, name: str, password: str, *, superuser: bool) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            create = User.objects.create_superuser if superuser else User.objects.create_user
            user = create(email=email, password=password, display_name=name)
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
