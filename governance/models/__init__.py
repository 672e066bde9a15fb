"""Governance models, one module per part of the domain."""

from .kyc import KycApplication, KycDocument, KycStatus
from .memberships import Membership, MembershipStatus
from .proposals import (
    Proposal,
    ProposalComment,
    ProposalRevision,
    ProposalStatus,
    ProposalTransition,
    ProposalType,
    ProposalVote,
)
from .risk_groups import CollateralAsset, MarketBounds, RiskGroup

__all__ = [
    "CollateralAsset",
    "KycApplication",
    "KycDocument",
    "KycStatus",
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
