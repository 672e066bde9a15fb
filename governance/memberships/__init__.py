"""Memberships: who belongs to which risk group (by KYC approval or by accepting its terms)."""
