"""How KYC reacts to the rooms below it (connected by governance.apps at start-up)."""

from typing import Any

from django.dispatch import receiver

from governance.memberships.models import Membership
from governance.memberships.signals import membership_expired

from .services import kyc_application_expire


@receiver(membership_expired, dispatch_uid="kyc_application_expire_with_membership")
def kyc_application_expire_with_membership(
    sender: type[Membership], *, membership: Membership, **kwargs: Any
) -> None:
    if membership.application_id is not None:
        kyc_application_expire(application_id=membership.application_id)
