"""The asset and market registry (see the XIP and registry issue)."""
