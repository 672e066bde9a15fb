"""KYC and KYB applications to regulated risk groups, their documents and their review."""
