# pragma version ~=0.4.3
"""
@title Market registry
@notice Per market: the keccak-256 of its RFC 8785 canonical spec (the config hash the portal
        shows), its status, its risk group and the XIP that listed it. Only the registrar
        (the portal's operator key, fixed at deployment) writes; everyone reads. Writing the
        same entry twice changes nothing but logs it again, so a retried sync is harmless.
"""

struct Entry:
    config_hash: bytes32
    status: String[16]
    risk_group: uint256
    xip: uint256
    updated_at: uint256


event MarketRecorded:
    market_key: indexed(bytes32)
    market_id: String[80]
    config_hash: bytes32
    status: String[16]
    risk_group: uint256
    xip: uint256


registrar: public(immutable(address))
entries: public(HashMap[String[80], Entry])
market_count: public(uint256)


@deploy
def __init__(registrar_: address):
    registrar = registrar_


@external
def record(market_id: String[80], config_hash: bytes32, status: String[16], risk_group: uint256, xip: uint256):
    assert msg.sender == registrar, "registry: only the registrar"
    assert len(market_id) > 0, "registry: empty market id"
    if self.entries[market_id].updated_at == 0:
        self.market_count += 1
    self.entries[market_id] = Entry(
        config_hash=config_hash, status=status, risk_group=risk_group, xip=xip, updated_at=block.number
    )
    log MarketRecorded(
        market_key=keccak256(market_id),
        market_id=market_id,
        config_hash=config_hash,
        status=status,
        risk_group=risk_group,
        xip=xip,
    )
