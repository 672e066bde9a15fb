"""Seeds the demo: one user of each role and the house institution here, then each app's
own demo data (`<app>.demo.seed_demo_data`). Idempotent: a second run reuses what is there."""

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

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
HOUSE_INSTITUTION = "exchange-os-house"
DISCARD_EMAIL = "django.core.mail.backends.dummy.EmailBackend"
# Apps whose `demo.seed_demo_data(stdout)` runs after the users exist, in this order.
DEMO_APPS = ["governance", "markets", "engine"]


def demo_user(email: str) -> User:
    return User.objects.get(email=email)


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
                user = self._user(email, name, password, superuser=role == StaffRole.SITE_ADMIN)
                if role is not None and role != StaffRole.SITE_ADMIN:
                    role_grant(actor=None, user=user, role=role, reason="demo seed")
                if email.startswith("institution@"):
                    InstitutionMembership.objects.get_or_create(
                        institution=house,
                        user=user,
                        defaults={"role": InstitutionMembership.Role.ADMIN},
                    )
            for app in DEMO_APPS:
                if find_spec(f"{app}.demo") is not None:
                    import_module(f"{app}.demo").seed_demo_data(self.stdout)
        self.stdout.write(f"Demo logins (password for all: {password})")
        for email, name, role in DEMO_USERS:
            note = " (sets up two-factor at the first staff page)" if role else ""
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
