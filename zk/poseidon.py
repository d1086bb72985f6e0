"""Poseidon over BN254 with two inputs, exactly as circomlib's ``Poseidon(2)`` template computes it.

Reference: light-poseidon-python 0.1.10 (circomlibjs constants; it matches circomlibjs and the
circuit). Guards around it:

* it reduces inputs modulo p silently (``hash(p, 0) == hash(0, 0)``): every input is checked to
  be a canonical field element first (:func:`zk.field.element`), so no two encodings collide;
* it returns a decimal *string*: converted to int and checked to be in the field;
* it only supports two inputs: this module offers exactly ``hash2``.

Fast path: :mod:`zk.poseidon_native` (a C kernel checked against light-poseidon-python at load)
hashes whole tree levels, used by :func:`hash_level`. With no C compiler it falls back to
light-poseidon-python; the answers are the same, only slower. ``FAIRGATE_ZK_NATIVE_POSEIDON=false``
forces the fallback.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import light_poseidon_python

from zk.field import P, element
from zk.poseidon_native import NativePoseidon, load

log = logging.getLogger(__name__)

# Levels with at least this many pairs are split between two threads (ctypes drops the GIL).
PARALLEL_MIN_PAIRS = 2048


@lru_cache(maxsize=1)
def native() -> NativePoseidon | None:
    """The native kernel, loaded once; None when the fallback is in use."""
    kernel = load()
    if kernel is None:
        log.warning("Poseidon: using light-poseidon-python (native kernel unavailable)")
    return kernel


def _reference(left: int, right: int) -> int:
    out = int(light_poseidon_python.poseidon_hash([left, right]))
    if not 0 <= out < P:
        raise ArithmeticError("light-poseidon-python returned a value outside the field")
    return out


def hash2(left: int, right: int) -> int:
    """Poseidon(left, right); both must be canonical field elements (ProofError otherwise)."""
    element(left, "poseidon input")
    element(right, "poseidon input")
    kernel = native()
    if kernel is not None:
        return kernel.hash2(left, right)
    return _reference(left, right)


def reference_hash2(left: int, right: int) -> int:
    """Poseidon(left, right) through light-poseidon-python only (for cross-checks)."""
    return _reference(element(left, "poseidon input"), element(right, "poseidon input"))


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="poseidon")


def hash_level(data: bytes) -> bytes:
    """Hash adjacent pairs of a tree level.

    ``data`` holds ``2n`` canonical field elements, 32 bytes little-endian each (the caller
    guarantees canonical values: they come from :func:`hash2`/:func:`hash_level` outputs or
    checked leaves). Returns ``n`` parents in the same encoding.
    """
    n, rest = divmod(len(data), 64)
    if rest:
        raise ValueError("a level must hold an even number of 32-byte elements")
    kernel = native()
    if kernel is None:
        out = bytearray()
        for i in range(n):
            left = int.from_bytes(data[64 * i : 64 * i + 32], "little")
            right = int.from_bytes(data[64 * i + 32 : 64 * i + 64], "little")
            out += _reference(left, right).to_bytes(32, "little")
        return bytes(out)
    if n < PARALLEL_MIN_PAIRS:
        return kernel.hash_pairs(data, n)
    half = n // 2
    first = _pool().submit(kernel.hash_pairs, data[: 64 * half], half)
    second = kernel.hash_pairs(data[64 * half :], n - half)
    return first.result() + second
