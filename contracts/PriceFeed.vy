# pragma version ~=0.4.3
"""
@title Price feed
@notice Oracle signers push prices per feed ("BTC-USDT"); everyone reads the latest. A price
        is an integer scaled by 10**DECIMALS. The admin (fixed at deployment) adds and removes
        signers; a push older than the feed's latest is refused, so a delayed transaction
        cannot roll a price back.
"""

DECIMALS: public(constant(uint8)) = 8


struct Price:
    price: uint256
    timestamp: uint256
    signer: address
    round: uint256


event PricePushed:
    feed_key: indexed(bytes32)
    feed: String[32]
    price: uint256
    timestamp: uint256
    signer: indexed(address)
    round: uint256


event SignerChanged:
    signer: indexed(address)
    allowed: bool


admin: public(immutable(address))
signers: public(HashMap[address, bool])
latest: public(HashMap[String[32], Price])


@deploy
def __init__(admin_: address):
    admin = admin_


@external
def signer_set(signer: address, allowed: bool):
    assert msg.sender == admin, "feed: only the admin"
    self.signers[signer] = allowed
    log SignerChanged(signer=signer, allowed=allowed)


@external
def push(feed: String[32], price: uint256, timestamp: uint256):
    assert self.signers[msg.sender], "feed: not a signer"
    assert price > 0, "feed: price must be positive"
    previous: Price = self.latest[feed]
    assert timestamp > previous.timestamp, "feed: not newer than the latest price"
    self.latest[feed] = Price(price=price, timestamp=timestamp, signer=msg.sender, round=previous.round + 1)
    log PricePushed(
        feed_key=keccak256(feed), feed=feed, price=price, timestamp=timestamp, signer=msg.sender, round=previous.round + 1
    )
