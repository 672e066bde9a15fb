"""Merkle trees in OpenZeppelin's `StandardMerkleTree` format, so that any standard verifier
(OpenZeppelin's `MerkleProof`, snekmate's `merkle_proof_verification`, the `@openzeppelin/
merkle-tree` library) checks the roots the portal commits.

A leaf is keccak256(keccak256(abi.encode(values))); the leaves are sorted by hash and laid out
as a complete binary tree in an array (root at 0, children of i at 2i+1 and 2i+2, leaves at the
end in reverse order); a node is the keccak256 of its two children, the smaller first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak


def leaf_hash(types: Sequence[str], values: Sequence[Any]) -> bytes:
    return keccak(keccak(encode(list(types), list(values))))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


class StandardMerkleTree:
    """The tree of `values` (each a sequence matching `types`). `tree` is the node array;
    `leaf_index[i]` is where the i-th value's leaf sits in it."""

    def __init__(self, values: Sequence[Sequence[Any]], types: Sequence[str]) -> None:
        if not values:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.types = list(types)
        self.values = [list(value) for value in values]
        hashed = sorted(
            ((leaf_hash(self.types, value), index) for index, value in enumerate(self.values)),
        )
        count = len(hashed)
        self.tree: list[bytes] = [b""] * (2 * count - 1)
        self.leaf_index = [0] * count
        for position, (digest, index) in enumerate(hashed):
            slot = len(self.tree) - 1 - position
            self.tree[slot] = digest
            self.leaf_index[index] = slot
        for node in range(len(self.tree) - 1 - count, -1, -1):
            self.tree[node] = _pair(self.tree[2 * node + 1], self.tree[2 * node + 2])

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, index: int) -> list[bytes]:
        """The siblings from the `index`-th value's leaf up to the root."""
        node = self.leaf_index[index]
        siblings = []
        while node > 0:
            siblings.append(self.tree[node - 1 if node % 2 == 0 else node + 1])
            node = (node - 1) // 2
        return siblings


def proof_verify(*, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """What `MerkleProof.verify` computes on-chain."""
    node = leaf
    for sibling in proof:
        node = _pair(node, sibling)
    return node == root
