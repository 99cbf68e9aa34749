"""The precomputed per-sample generators match ``np.random.default_rng`` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from fer_lib.data.seeding import pcg64_seeds, seeded_generator
from fer_lib.data.synth import _RENDER_STREAM, _key, build_synth_inthewild


@pytest.mark.parametrize("n_words", [1, 3, 4, 5, 9])
def test_seed_words_match_numpy_seed_sequence(n_words: int) -> None:
    words = np.random.default_rng(n_words).integers(0, 2**32, (64, n_words), dtype=np.uint64).astype(np.uint32)
    words[0] = 0  # all-zero entropy
    words[1] = 0xFFFFFFFF
    ours = pcg64_seeds(words)
    for row, state in zip(words, ours, strict=True):
        np.testing.assert_array_equal(state, np.random.SeedSequence(row).generate_state(8))


@pytest.mark.parametrize("n_words", [1, 4, 6])
def test_generator_draws_what_default_rng_draws(n_words: int) -> None:
    words = np.random.default_rng(100 + n_words).integers(0, 2**32, (40, n_words), dtype=np.uint64)
    seeds = pcg64_seeds(words)
    for row, seed in zip(words, seeds, strict=True):
        reference = np.random.default_rng(row.astype(np.uint32))
        ours = seeded_generator(seed)
        # a mix of the draws the renderer makes: doubles, normals, bounded integers
        np.testing.assert_array_equal(ours.random(5), reference.random(5))
        np.testing.assert_array_equal(ours.normal(0.0, 2.0, 7), reference.normal(0.0, 2.0, 7))
        assert ours.integers(0, 1 << 20) == reference.integers(0, 1 << 20)
        assert ours.uniform(0.8, 1.2) == reference.uniform(0.8, 1.2)


def test_generator_state_is_reset_on_every_call() -> None:
    seed = pcg64_seeds(np.array([[1, 2, 3]], dtype=np.uint32))[0]
    first = seeded_generator(seed).random(3)
    seeded_generator(pcg64_seeds(np.array([[9]], dtype=np.uint32))[0]).random(100)  # another sample in between
    np.testing.assert_array_equal(seeded_generator(seed).random(3), first)


def test_bad_seed_words_are_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        pcg64_seeds(np.array([[1, -1]]))
    with pytest.raises(ValueError, match="32"):
        pcg64_seeds(np.array([[1 << 33]]))
    with pytest.raises(ValueError, match=r"\[N, k\]"):
        pcg64_seeds(np.array([1, 2, 3]))


def test_synthfer_samples_use_the_generator_of_their_key() -> None:
    ds = build_synth_inthewild(split="train", scale="smoke", seed=7, cache=False)
    for index in (0, 1, len(ds) // 2, len(ds) - 1):
        key = int(ds.metadata["key"].iloc[index])
        reference = np.random.default_rng(_key(ds.seed, ds.stream, key, _RENDER_STREAM))
        np.testing.assert_array_equal(seeded_generator(ds._seeds[index]).random(8), reference.random(8))
