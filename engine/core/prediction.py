"""Prediction shares: binary YES/NO holdings on one merged book.

The book trades YES. Buying NO at q is offering YES at payout - q, and selling NO at q
is bidding YES at payout - q. A fill between two buyers mints
complete sets (both pay into the market's escrow), between two sellers burns them (the
escrow pays both); the other pairings move shares and collateral between the traders.
The escrow always holds `payout` per outstanding YES share (= per NO share).
"""


class Holding:
    """Shares of one binary market; `*_locked` back open sell orders. A holding that
    falls to zero stays until the market settles: dropping and re-making it on every
    trade churned the holders' dicts."""

    __slots__ = ("yes", "no", "yes_locked", "no_locked")

    def __init__(self) -> None:
        self.yes = 0
        self.no = 0
        self.yes_locked = 0
        self.no_locked = 0
