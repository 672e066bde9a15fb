"""Governance models, one module per part of the domain."""

from governance.kyc.models import KycApplication, KycDocument, KycStatus, KycStatusChange
from governance.memberships.models import Membership, MembershipStatus
from governance.proposals.models import (
    Proposal,
    ProposalComment,
    ProposalRevision,
    ProposalStatus,
    ProposalTransition,
    ProposalType,
    ProposalVote,
)
from governance.risk_groups.models import CollateralAsset, MarketBounds, RiskGroup

__all__ = [
    "CollateralAsset",
    "KycApplication",
    "KycDocument",
    "KycStatus",
    "KycStatusChange",
    "MarketBounds",
    "Membership",
    "MembershipStatus",
    "Proposal",
    "ProposalComment",
    "ProposalRevision",
    "ProposalStatus",
    "ProposalTransition",
    "ProposalType",
    "ProposalVote",
    "RiskGroup",
]
