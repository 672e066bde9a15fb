"""One account's holding of one asset: free, and locked by its open orders."""


class Balance:
    """Orders keep a reference to the balance their reservation sits in, so locking,
    releasing and settling touch two integers instead of looking the asset up."""

    __slots__ = ("asset", "free", "locked")

    def __init__(self, asset: str, free: int = 0, locked: int = 0) -> None:
        self.asset = asset
        self.free = free
        self.locked = locked

    def lock(self, amount: int) -> None:
        """Move `amount` from free to locked (a negative amount unlocks)."""
        self.free -= amount
        self.locked += amount


# what an order that reserves nothing (or has not reserved yet) points at
NO_BALANCE = Balance("")
