"""RFC 6962/9162 hashing and proofs: the Certificate Transparency reference vectors, every proof
of small trees, and malicious proofs that must be rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    subtree_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# The leaf inputs and expected values of the CT reference implementation (as carried by
# transparency-dev/merkle's testonly package and RFC 6962 test suites).
LEAVES = [bytes.fromhex(x) for x in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (3, 8): ["0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
             "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (7, 8): ["b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
             "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CONSISTENCY = {
    (1, 1): [],
    (1, 8): INCLUSION[(0, 8)],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}
HASHES = [leaf_hash(x) for x in LEAVES]
MTH = subtree_from_leaves(HASHES)


def hexes(proof: list[bytes]) -> list[str]:
    return [h.hex() for h in proof]


def test_reference_roots() -> None:
    assert root_of([]) == EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for n in range(1, 9):
        assert root_of(HASHES[:n]) == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_reference_inclusion_proofs(index: int, size: int) -> None:
    proof = inclusion_proof(index, size, MTH)
    assert hexes(proof) == INCLUSION[(index, size)]
    verify_inclusion(HASHES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second"), sorted(CONSISTENCY))
def test_reference_consistency_proofs(first: int, second: int) -> None:
    proof = consistency_proof(first, second, MTH)
    assert hexes(proof) == CONSISTENCY[(first, second)]
    verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)


def test_every_proof_of_small_trees_verifies() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(33)]
    mth = subtree_from_leaves(leaves)
    for n in range(1, 34):
        root = root_of(leaves[:n])
        for m in range(n):
            verify_inclusion(leaves[m], m, n, inclusion_proof(m, n, mth), root)
        for m in range(0, n + 1):
            verify_consistency(m, n, root_of(leaves[:m]), root,
                               consistency_proof(m, n, mth))


# -- malicious proofs ---------------------------------------------------------------------------

def rejects(verify: Callable[..., None], *args: object) -> bool:
    try:
        verify(*args)
    except ProofError:
        return True
    return False


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def test_malicious_inclusion_proofs_are_rejected() -> None:
    proof = inclusion_proof(3, 8, MTH)
    root, leaf = ROOTS[7], HASHES[3]
    attempts = {
        "another leaf": (HASHES[4], 3, 8, proof, root),
        "another index": (leaf, 2, 8, proof, root),
        "index at the size": (leaf, 8, 8, proof, root),
        "negative index": (leaf, -1, 8, proof, root),
        "another size with its root": (leaf, 3, 7, proof, ROOTS[6]),
        "a larger size": (leaf, 3, 16, proof, root),
        "a truncated proof": (leaf, 3, 8, proof[:-1], root),
        "an extended proof": (leaf, 3, 8, [*proof, proof[-1]], root),
        "a flipped bit": (leaf, 3, 8, [proof[0], flip(proof[1]), proof[2]], root),
        "reordered hashes": (leaf, 3, 8, [proof[1], proof[0], proof[2]], root),
        "a short hash": (leaf, 3, 8, [proof[0][:31], *proof[1:]], root),
        "another root": (leaf, 3, 8, proof, ROOTS[6]),
        "an empty proof": (leaf, 3, 8, [], root),
        # The classic second-preimage trick: an interior node presented as a leaf.
        "an interior node as a leaf": (node_hash(HASHES[2], HASHES[3]), 1, 4,
                                       inclusion_proof(1, 4, MTH)[1:], ROOTS[3]),
        "the root as its own leaf": (root, 0, 1, [], ROOTS[0]),
    }
    accepted = [name for name, args in attempts.items() if not rejects(verify_inclusion, *args)]
    assert accepted == []


def test_malicious_consistency_proofs_are_rejected() -> None:
    proof = consistency_proof(6, 8, MTH)
    old, new = ROOTS[5], ROOTS[7]
    attempts = {
        "another old root": (6, 8, ROOTS[4], new, proof),
        "another new root": (6, 8, old, ROOTS[6], proof),
        "another old size": (5, 8, old, new, proof),
        "another new size with its root": (6, 7, old, ROOTS[6], proof),
        "a shrinking log": (8, 6, new, old, proof),
        "an empty proof": (6, 8, old, new, []),
        "a truncated proof": (6, 8, old, new, proof[:-1]),
        "an extended proof": (6, 8, old, new, [*proof, proof[0]]),
        "a flipped bit": (6, 8, old, new, [flip(proof[0]), *proof[1:]]),
        "reordered hashes": (6, 8, old, new, [proof[1], proof[0], proof[2]]),
        "equal sizes, different roots": (8, 8, old, new, []),
        "equal sizes with a proof": (8, 8, new, new, proof),
        "from the empty tree with a proof": (0, 8, EMPTY_ROOT, new, proof),
        "a wrong empty root": (0, 8, ROOTS[0], new, []),
        # A power-of-two old size: the old root must not be sent, it is implied.
        "the old root sent along": (4, 8, ROOTS[3], new,
                                    [ROOTS[3], *consistency_proof(4, 8, MTH)]),
    }
    accepted = [name for name, args in attempts.items()
                if not rejects(verify_consistency, *args)]
    assert accepted == []


def test_proofs_beyond_the_tree_are_refused() -> None:
    with pytest.raises(ProofError):
        inclusion_proof(8, 8, MTH)
    with pytest.raises(ProofError):
        consistency_proof(9, 8, MTH)


@given(size=st.integers(1, 40), data=st.data())
def test_any_single_bit_flip_breaks_a_proof(size: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    mth = subtree_from_leaves(leaves)
    root = root_of(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, mth)
    verify_inclusion(leaves[index], index, size, proof, root)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(proof)
        bad[at] = bytes(b ^ (1 << (bit % 8)) if i == bit // 8 else b
                        for i, b in enumerate(bad[at]))
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, bad, root)
    first = data.draw(st.integers(1, size))
    cproof = consistency_proof(first, size, mth)
    verify_consistency(first, size, root_of(leaves[:first]), root, cproof)
    if cproof:
        bad = [flip(cproof[0]), *cproof[1:]]
        with pytest.raises(ProofError):
            verify_consistency(first, size, root_of(leaves[:first]), root, bad)
