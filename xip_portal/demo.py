"""Demo data of the portal itself, shared by every app's demo seed."""

from allauth.account.models import EmailAddress
from django.conf import settings

from .models import User


def demo_user(email: str, name: str, *, superuser: bool = False) -> User:
    """The demo login for `email` with a confirmed address and the demo password; made once,
    found on every later run."""
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(email=email, password=settings.DEMO_PASSWORD, display_name=name)
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user
