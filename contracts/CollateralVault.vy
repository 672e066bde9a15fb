# pragma version ~=0.4.3
"""
@title Collateral vault
@notice Holds the ERC-20 collateral of every risk group. A deposit names the risk group and
        the engine account it credits; the portal credits it after enough confirmations.
        A withdrawal is paid to the recipient named in a leaf of a withdrawals root that the
        settlement ledger committed, with its Merkle proof, once per withdrawal id; anyone may
        send the claim (the trader, or the portal as relayer), the money goes to the leaf's
        recipient. No other function moves tokens: the vault has no owner.
        Withdrawal leaf (OpenZeppelin StandardMerkleTree):
        (uint256 risk_group, bytes32 withdrawal_id, address recipient, uint256 amount).
"""

from ethereum.ercs import IERC20
from snekmate.utils import merkle_proof_verification


interface SettlementLedger:
    def withdrawals_root(risk_group: uint256, batch: uint256) -> bytes32: view


event Deposit:
    depositor: indexed(address)
    risk_group: indexed(uint256)
    account: indexed(uint256)
    amount: uint256


event WithdrawalPaid:
    withdrawal_id: indexed(bytes32)
    risk_group: indexed(uint256)
    recipient: indexed(address)
    amount: uint256
    batch: uint256


token: public(immutable(IERC20))
ledger: public(immutable(SettlementLedger))
paid: public(HashMap[bytes32, bool])


@deploy
def __init__(token_: IERC20, ledger_: SettlementLedger):
    token = token_
    ledger = ledger_


@external
def deposit(risk_group: uint256, account: uint256, amount: uint256):
    assert amount > 0, "vault: nothing to deposit"
    assert account > 0, "vault: no account"
    assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True), "vault: transfer failed"
    log Deposit(depositor=msg.sender, risk_group=risk_group, account=account, amount=amount)


@external
def claim(
    risk_group: uint256,
    batch: uint256,
    withdrawal_id: bytes32,
    recipient: address,
    amount: uint256,
    proof: DynArray[bytes32, 255],
):
    assert not self.paid[withdrawal_id], "vault: already paid"
    root: bytes32 = staticcall ledger.withdrawals_root(risk_group, batch)
    assert root != empty(bytes32), "vault: no such batch"
    # OpenZeppelin StandardMerkleTree leaf: the values hashed twice
    leaf: bytes32 = keccak256(keccak256(abi_encode(risk_group, withdrawal_id, recipient, amount)))
    assert merkle_proof_verification._verify(proof, root, leaf), "vault: invalid proof"
    self.paid[withdrawal_id] = True
    assert extcall token.transfer(recipient, amount, default_return_value=True), "vault: transfer failed"
    log WithdrawalPaid(withdrawal_id=withdrawal_id, risk_group=risk_group, recipient=recipient, amount=amount, batch=batch)
