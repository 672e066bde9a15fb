"""What memberships tell the rooms above them (which import this, never the reverse)."""

from django.dispatch import Signal

# Sent inside the transaction that expires a membership, with `membership` and `now`:
# the KYC review expires the approval it came from.
membership_expired = Signal()
