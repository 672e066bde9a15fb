"""Risk groups: the segregated venues, their governance policy, market bounds and collateral."""
