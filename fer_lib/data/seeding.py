"""Cheap per-sample random generators, bit for bit those of ``np.random.default_rng(words)``.

SynthFER seeds one generator per rendered sample from a few 32-bit words. ``default_rng`` spends about
25 us (70 us with cold caches, inside a render) hashing those words through ``SeedSequence`` and building
a ``PCG64`` object: a tenth of a 64-px render. Here the ``SeedSequence`` hash runs once, vectorised over
every sample of a dataset (:func:`pcg64_seeds`), and a render only loads the resulting 128-bit state into a
generator it reuses (:func:`seeded_generator`, about 4 us).

The hash and the PCG64 seeding follow numpy's documented algorithms (``SeedSequence`` after O'Neill's
``seed_seq``; ``PCG64`` seeded from ``generate_state(4, uint64)``). ``tests/data/test_seeding.py`` checks
them against numpy itself, so a numpy that changed either would fail there, not silently change data.
"""

from __future__ import annotations

import threading

import numpy as np

# SeedSequence's constants (numpy/random/bit_generator.pyx)
_POOL_SIZE = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = 16
_MASK32 = 0xFFFFFFFF
_MASK128 = (1 << 128) - 1
_PCG_MULT_128 = 0x2360ED051FC65DA44385DF649FCCF645  # PCG_DEFAULT_MULTIPLIER_128


def _constants(init: int, mult: int, n: int) -> list[np.uint32]:
    """The hash constants a run of ``n`` hashes uses: ``init * mult**k`` (mod 2**32), k = 1..n."""
    out, h = [], init
    for _ in range(n):
        h = (h * mult) & _MASK32
        out.append(np.uint32(h))
    return out


def _xorshift(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> np.uint32(_XSHIFT))


def pcg64_seeds(words: np.ndarray) -> np.ndarray:
    """``[N, 8]`` uint32: ``SeedSequence(words[i]).generate_state(8)`` for each row of ``words [N, k]``.

    ``words`` holds 32-bit entropy words (``k >= 1``), as ``np.random.default_rng(words[i])`` reads a uint32
    array. The eight words are the 128-bit seed and increment that ``PCG64`` is built from.
    """
    words = np.asarray(words)
    if words.ndim != 2 or words.shape[1] < 1:
        raise ValueError(f"words must be [N, k] with k >= 1, got shape {words.shape}")
    if words.dtype != np.uint32:
        if np.any(words < 0) or np.any(words > _MASK32):
            raise ValueError("seed words must lie in 0..2**32-1")
        words = words.astype(np.uint32)
    n, k = words.shape
    # mix_entropy: hash the first pool-size words in, then every pool word into every other, then the rest.
    consts_a = iter(_constants(_INIT_A, _MULT_A, _POOL_SIZE * _POOL_SIZE + max(k - _POOL_SIZE, 0) * _POOL_SIZE))
    prev_a = np.uint32(_INIT_A)

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal prev_a
        value = value ^ prev_a  # xor with the constant before it advances
        prev_a = next(consts_a)
        return _xorshift(value * prev_a)

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _xorshift(np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y)

    zeros = np.zeros(n, dtype=np.uint32)
    pool = [hashmix(words[:, i] if i < k else zeros) for i in range(_POOL_SIZE)]
    for src in range(_POOL_SIZE):
        for dst in range(_POOL_SIZE):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(_POOL_SIZE, k):
        for dst in range(_POOL_SIZE):
            pool[dst] = mix(pool[dst], hashmix(words[:, src]))
    # generate_state(8): cycle through the pool with the second hash.
    out = np.empty((n, 8), dtype=np.uint32)
    prev_b = np.uint32(_INIT_B)
    for i, const in enumerate(_constants(_INIT_B, _MULT_B, 8)):
        out[:, i] = _xorshift((pool[i % _POOL_SIZE] ^ prev_b) * const)
        prev_b = const
    return out


def _pcg64_state(seed_words: np.ndarray) -> tuple[int, int]:
    """PCG64's (state, inc) after seeding from eight uint32 words (``pcg64_set_seed``)."""
    w = [int(x) for x in seed_words]
    # generate_state(4, uint64) views the words as little-endian uint64 pairs; seed = (u64[0] << 64) | u64[1].
    u64 = [w[2 * i] | (w[2 * i + 1] << 32) for i in range(4)]
    initstate, initseq = (u64[0] << 64) | u64[1], (u64[2] << 64) | u64[3]
    inc = ((initseq << 1) | 1) & _MASK128
    state = inc  # state = 0, then one step: 0 * mult + inc
    state = (state + initstate) & _MASK128
    state = (state * _PCG_MULT_128 + inc) & _MASK128
    return state, inc


_local = threading.local()


def seeded_generator(seed_words: np.ndarray) -> np.random.Generator:
    """A generator in the state ``np.random.default_rng(words)`` starts in, given ``pcg64_seeds(words)``'s row.

    The generator object is reused by this thread's next call (its state is reset then), so use it
    before asking for the next one.
    """
    gen = getattr(_local, "generator", None)
    if gen is None:
        gen = _local.generator = np.random.Generator(np.random.PCG64(0))
    state, inc = _pcg64_state(seed_words)
    gen.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": inc},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return gen
