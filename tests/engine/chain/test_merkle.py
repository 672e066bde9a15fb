"""The Merkle tree against OpenZeppelin's own vectors (`@openzeppelin/merkle-tree`: the README
example and the `standard-v1.sorted` dump of its test suite)."""

import pytest

from engine.chain.merkle import StandardMerkleTree, leaf_hash, proof_verify

README_VALUES = [
    ["0x1111111111111111111111111111111111111111", 5000000000000000000],
    ["0x2222222222222222222222222222222222222222", 2500000000000000000],
]
README_TREE = [
    "0xd4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77",
    "0xeb02c421cfa48976e66dfb29120745909ea3a0f843456c263cf8f1253483e283",
    "0xb92c48e9d7abe27fd8dfd6b5dfdbfb1c9a463f80c712b66f3a5180a090cccafc",
]
DUMP_TREE = [
    "0x6deb52b5da8fd108f79fab00341f38d2587896634c646ee52e49f845680a70c8",
    "0x52426e0f1f65ff7e209a13b8c29cffe82e3acaf3dad0a9b9088f3b9a61a929c3",
    "0xfd3cf45654e88d1cc5d663578c82c76f4b5e3826bacaa1216441443504538f51",
    "0x8076923e76cf01a7c048400a2304c9a9c23bbbdac3a98ea3946340fdafbba34f",
    "0x965b92c6cf08303cc4feb7f3e0819c436c2cec17c6f0688a6af139c9a368707c",
    "0xeba909cf4bb90c6922771d7f126ad0fd11dfde93f3937a196274e1ac20fd2f5b",
    "0xc62a8cfa41edc0ef6f6ae27a2985b7d39c7fea770787d7e104696c6e81f64848",
    "0x9cf5a63718145ba968a01c1d557020181c5b252f665cf7386d370eddb176517b",
    "0x9c15a6a0eaeed500fd9eed4cbeab71f797cefcc67bfd46683e4d2e6ff7f06d1c",
    "0x9a4f64e953595df82d1b4f570d34c4f4f0cfaf729a61e9d60e83e579e1aa283e",
    "0x19ba6c6333e0e9a15bf67523e0676e2f23eb8e574092552d5e888c64a4bb3681",
]
DUMP_INDEX = {"a": 8, "b": 10, "c": 7, "d": 5, "e": 9, "f": 6}


def hexes(nodes):
    return ["0x" + node.hex() for node in nodes]


def test_readme_example_gives_openzeppelins_tree_and_proof():
    tree = StandardMerkleTree(README_VALUES, ["address", "uint256"])

    assert hexes(tree.tree) == README_TREE
    assert hexes(tree.proof(0)) == [README_TREE[2]]


def test_sorted_string_dump_gives_openzeppelins_tree_and_leaf_positions():
    letters = list("abcdef")
    tree = StandardMerkleTree([[letter] for letter in letters], ["string"])

    assert hexes(tree.tree) == DUMP_TREE
    assert {letter: tree.leaf_index[i] for i, letter in enumerate(letters)} == DUMP_INDEX


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_every_leaf_proves_and_a_changed_value_does_not(count):
    types = ["uint256", "uint256", "string", "int256"]
    values = [[7, account, "USDC", account * 10 - 25] for account in range(1, count + 1)]
    tree = StandardMerkleTree(values, types)

    for index, value in enumerate(values):
        assert proof_verify(root=tree.root, leaf=leaf_hash(types, value), proof=tree.proof(index))
        forged = [*value[:3], value[3] + 1]
        assert not proof_verify(
            root=tree.root, leaf=leaf_hash(types, forged), proof=tree.proof(index)
        )


def test_an_empty_tree_is_refused():
    with pytest.raises(ValueError, match="at least one leaf"):
        StandardMerkleTree([], ["uint256"])
