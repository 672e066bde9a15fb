# pragma version ~=0.4.3
"""
@title Simulated USDC
@notice The collateral of the demo and of the tests: snekmate's ERC-20 with six decimals,
        minted by its minters (the deployer first). Never the collateral of a real venue.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
def __init__():
    ownable.__init__()
    erc20.__init__("Simulated USD Coin", "USDC", 6, "Simulated USD Coin", "1")
