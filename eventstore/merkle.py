"""RFC 6962 / RFC 9162 Merkle tree hashing, audit paths and consistency proofs.

Hashing (RFC 9162 §2.1.1): leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), and
the root of the empty tree is SHA-256 of nothing. A tree of n leaves splits at k, the largest
power of two smaller than n. Proof generation follows RFC 6962 §2.1.1 (PATH) and §2.1.2
(SUBPROOF); verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 exactly, so a proof accepted here
is accepted by any conforming verifier.

Generation reads subtree hashes through `SubtreeHash`: every subtree the recursion asks for
starts at a multiple of a power of two, so a store that keeps the hashes of all perfect subtrees
answers each one with O(log n) lookups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

SubtreeHash = Callable[[int, int], bytes]
"""MTH(D[start:end]) of the stored leaves."""

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request for one that cannot exist."""


LEAF_PREFIX = b"\x00"
"""RFC 9162 §2.1.1: a leaf's hash is SHA-256 of this byte and the leaf's data."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, bottom-up (equal to the recursive definition)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # an odd node is promoted, which is what MTH's split gives
        level = nxt
    return level[0]


def subtree_from_leaves(leaves: Sequence[bytes]) -> SubtreeHash:
    """`SubtreeHash` over leaf hashes held in memory (tests, bundles, verification)."""
    return lambda start, end: root_of(leaves[start:end])


# -- generation (RFC 6962 §2.1.1, §2.1.2) ----------------------------------------------------------

def inclusion_proof(index: int, size: int, mth: SubtreeHash) -> list[bytes]:
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    return _path(index, 0, size, mth)


def _path(m: int, start: int, end: int, mth: SubtreeHash) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return [*_path(m, start, start + k, mth), mth(start + k, end)]
    return [*_path(m - k, start + k, end, mth), mth(start, start + k)]


def consistency_proof(first: int, second: int, mth: SubtreeHash) -> list[bytes]:
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    return _subproof(first, 0, second, True, mth)


def _subproof(m: int, start: int, end: int, whole: bool, mth: SubtreeHash) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [mth(start, end)]
    k = split(n)
    if m <= k:
        return [*_subproof(m, start, start + k, whole, mth), mth(start + k, end)]
    return [*_subproof(m - k, start + k, end, False, mth), mth(start, start + k)]


# -- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ----------------------------------------------------

def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` under `root`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless `proof` shows the tree of size `second` extends the one of
    size `first` (its first `first` leaves are the same)."""
    if not 0 <= first <= second:
        raise ProofError(f"size {first} is larger than size {second}: a log never shrinks")
    _check_hashes(proof)
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("two different root hashes for the same tree size")
        return
    if first == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        if first_root != EMPTY_ROOT:
            raise ProofError("the root hash of the empty tree is wrong")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != first_root:
        raise ProofError("consistency proof does not lead to the earlier root hash")
    if sr != second_root:
        raise ProofError("consistency proof does not lead to the later root hash")


def _check_hashes(proof: Sequence[bytes]) -> None:
    if len(proof) > 64:
        raise ProofError("proof has more than 64 hashes")
    for h in proof:
        if not isinstance(h, bytes) or len(h) != 32:
            raise ProofError("proof holds something that is not a SHA-256 hash")
