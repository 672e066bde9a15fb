# pragma version ~=0.4.3
"""
@title Settlement ledger
@notice Per risk group, a chain of settlement batches committed by the settler (the portal's
        operator key, fixed at deployment): the journal sequence range, the hash and count of
        the batch's fills, the Merkle root of every account balance after the batch, the root
        of the withdrawals debited in it, and the previous batch's balance root. One
        transaction per batch whatever its size. Batches come in order and never change.
        Both roots are OpenZeppelin StandardMerkleTree roots (see the portal's proof document
        for the leaf types).
"""

struct Batch:
    first_seq: uint256
    last_seq: uint256
    fills_hash: bytes32
    fill_count: uint256
    balance_root: bytes32
    withdrawals_root: bytes32
    previous_root: bytes32
    committed_at: uint256


event BatchCommitted:
    risk_group: indexed(uint256)
    batch: indexed(uint256)
    first_seq: uint256
    last_seq: uint256
    fills_hash: bytes32
    fill_count: uint256
    balance_root: bytes32
    withdrawals_root: bytes32
    previous_root: bytes32


settler: public(immutable(address))
batches: public(HashMap[uint256, HashMap[uint256, Batch]])
latest_batch: public(HashMap[uint256, uint256])


@deploy
def __init__(settler_: address):
    settler = settler_


@external
def commit(
    risk_group: uint256,
    batch: uint256,
    first_seq: uint256,
    last_seq: uint256,
    fills_hash: bytes32,
    fill_count: uint256,
    balance_root: bytes32,
    withdrawals_root: bytes32,
):
    assert msg.sender == settler, "ledger: only the settler"
    assert batch == self.latest_batch[risk_group] + 1, "ledger: batch out of order"
    previous: Batch = self.batches[risk_group][batch - 1]
    assert first_seq == previous.last_seq + 1, "ledger: sequence gap"
    assert last_seq >= first_seq, "ledger: empty sequence range"
    self.batches[risk_group][batch] = Batch(
        first_seq=first_seq,
        last_seq=last_seq,
        fills_hash=fills_hash,
        fill_count=fill_count,
        balance_root=balance_root,
        withdrawals_root=withdrawals_root,
        previous_root=previous.balance_root,
        committed_at=block.number,
    )
    self.latest_batch[risk_group] = batch
    log BatchCommitted(
        risk_group=risk_group,
        batch=batch,
        first_seq=first_seq,
        last_seq=last_seq,
        fills_hash=fills_hash,
        fill_count=fill_count,
        balance_root=balance_root,
        withdrawals_root=withdrawals_root,
        previous_root=previous.balance_root,
    )


@external
@view
def balance_root(risk_group: uint256, batch: uint256) -> bytes32:
    return self.batches[risk_group][batch].balance_root


@external
@view
def withdrawals_root(risk_group: uint256, batch: uint256) -> bytes32:
    return self.batches[risk_group][batch].withdrawals_root
