"""Governance models, one module per part of the domain."""

from .risk_groups import RiskGroup

__all__ = ["RiskGroup"]
