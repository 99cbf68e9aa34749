"""SynthFER: the embedded default dataset, rendered on the fly (no stored images).

Three protocols, registered with :func:`fer_lib.data.register_dataset`:

- ``synth-inthewild``: seven classes (:data:`~fer_lib.data.labels.SEVEN_CLASSES`), mixed poses
  (|yaw| up to 60), occluders on a share of the samples, train/test split by subject; test subsets
  ``occlusion``, ``pose>30``, ``pose>45`` (mirroring the RAN lists) and ``frontal`` (unoccluded,
  |yaw| <= 15, for comparison).
- ``synth-multiview``: six expressions x four intensities x fixed yaw angles x subjects, 5-fold
  subject-independent (like BU-3DFE P1); ``angles="bu3dfe"`` (0, 30, 45, 60, 90) or ``"multipie"``
  (0..90 in 15-degree steps); ``angles="bu3dfe-p2"``: BU-3DFE P2's 35 views (yaw -45..45 x pitch
  -30..30, 15-degree steps), the strongest intensity only.
- ``synth-rgbd``: near-frontal faces with depth maps, six expressions x four intensities, 10-fold
  subject-independent (like BU-3DFE P1/P2 and Bosphorus in CM-CNN).

Every sample is rendered from a generator seeded by (dataset seed, protocol, split, sample key), so
any sample renders lazily and independently with byte-identical results (DataLoader workers
included); rendered samples are cached in memory, and optionally in one ``.npz`` per dataset under a
user-given ``cache_dir``. Subjects are drawn from (seed, subject id): a different seed gives
different people. The sample table (subject, expression, intensity, pose, occluder) is the
``metadata`` DataFrame.

Per sample, ``extras(i)`` gives ``depth`` (float32 ``[S, S]``, 0 = background, larger = nearer),
``landmarks`` (float32 ``[68, 2]``, iBUG order, pixel coordinates of the raw image) and
``visibility`` (bool ``[68]``). They are aligned with the raw image from ``load_image``; the
dataset's ``transform`` is applied to the image only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data import register_dataset
from fer_lib.data.base import FERDataset
from fer_lib.data.labels import SEVEN_CLASSES, SIX_BASIC
from fer_lib.data.seeding import pcg64_seeds, seeded_generator
from fer_lib.data.synth_render import (
    OCCLUDERS,
    RenderResult,
    expression_coefficients,
    render_face,
    sample_subject,
)
from fer_lib.io import atomic_path
from fer_lib.scales import check_scale

#: Bump when the renderer's output changes, so on-disk caches of older renders are not reused.
GENERATOR_VERSION = 3

PROTOCOLS = ("synth-inthewild", "synth-multiview", "synth-rgbd")
_PROTOCOL_CODE = {"synth-inthewild": 1, "synth-multiview": 2, "synth-rgbd": 3}
_SPLIT_CODE = {"train": 1, "test": 2, "all": 0}

#: synth-inthewild sizes per scale: (train samples, test samples, train subjects, test subjects).
#: ``paper`` matches RAF-DB basic (12,271 / 3,068).
INTHEWILD_SIZES = {
    "smoke": (280, 140, 24, 12),
    "cpu": (3500, 1400, 300, 100),
    "paper": (12271, 3068, 1500, 400),
}
#: synth-inthewild: the share of occluded samples (RAN's Occlusion-RAF-DB list holds 735 of RAF-DB's 3,068 test
#: images, 24 %), and the weights of intensity levels 1..4. In-the-wild sets are dominated by clear expressions,
#: so levels 3-4 are the common ones; level 1, which borrows up to a whole neighbouring prototype, keeps 10 %.
WILD_OCCLUSION_SHARE = 0.25
WILD_INTENSITY_WEIGHTS = (0.1, 0.2, 0.3, 0.4)
#: Subjects per scale for the fold protocols (BU-3DFE has 100).
MULTIVIEW_SUBJECTS = {"smoke": 5, "cpu": 25, "paper": 100}
RGBD_SUBJECTS = {"smoke": 10, "cpu": 50, "paper": 100}
ANGLE_SETS = {"bu3dfe": (0, 30, 45, 60, 90), "multipie": (0, 15, 30, 45, 60, 75, 90)}
#: Yaw x pitch view grids, with the intensity levels they keep: BU-3DFE P2 in GMS-LPA (seed 001, Sect. 4.1),
#: pan -45..+45 and tilt -30..+30 (7 x 5 = 35 views), the strongest intensity only.
VIEW_GRIDS = {"bu3dfe-p2": ((-45, -30, -15, 0, 15, 30, 45), (-30, -15, 0, 15, 30), (4,))}
#: The random streams of the multi-view sets (fixed: a sample's stream seeds its rendering).
_MULTIVIEW_STREAMS = {"bu3dfe": 1, "multipie": 2, "bu3dfe-p2": 3}
INTHEWILD_SUBSETS = ("occlusion", "pose>30", "pose>45", "frontal")
DEFAULT_IMAGE_SIZE = {"smoke": 64, "cpu": 64, "paper": 112}
#: Occluder types drawn for the occluded share of synth-inthewild (uniformly).
WILD_OCCLUDERS = tuple(o for o in OCCLUDERS if o != "none")


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    return ThreadpoolController()


@functools.cache
def _blas_libs() -> tuple:
    return tuple(_blas_controller().select(user_api="blas").lib_controllers)


class _OneBlasThread:
    """Run the renderer's many small matrix products on one BLAS thread (``with _ONE_BLAS_THREAD:``).

    With the default (one thread per core) OpenBLAS hands each product of a few thousand rows to
    several threads, and on a busy machine their hand-offs cost more than the work: rendering ran at
    63 images/s of CPU time (28/s wall) at 64 px instead of 159/s. Nested uses (``materialize`` calling
    ``render``) set the limit once; the caller's setting is restored on exit. The output is the same.
    Only libraries not already on one thread are touched: threadpoolctl's ``limit()`` re-queries every
    library on each call (about 70 us, a twentieth of a 64-px render). A plain class, not a
    ``contextlib`` generator, whose entry and exit alone cost 10 us a render.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._changed: list[tuple[Any, int]] = []

    def __enter__(self) -> None:
        if self._depth == 0:
            self._changed = [(lib, n) for lib in _blas_libs() if (n := lib.num_threads) != 1]
            for lib, _ in self._changed:
                lib.set_num_threads(1)
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            for lib, n in self._changed:
                lib.set_num_threads(n)
            self._changed = []


_ONE_BLAS_THREAD = _OneBlasThread()


_RENDER_STREAM = 0x5A3F  # the last seed word of every sample's rendering generator


def _key(*parts: int) -> np.ndarray:
    """Seed words for ``np.random.default_rng``: each part's low 32 bits. A uint32 array seeds exactly as the
    list of the same ints does (SeedSequence splits ints into 32-bit words), 15 us sooner per generator."""
    return np.array([int(p) & 0xFFFFFFFF for p in parts], dtype=np.uint32)


class SynthFER(FERDataset):
    """A SynthFER protocol split: a sample table rendered lazily.

    ``table`` has one row per sample with columns ``subject``, ``expression``, ``intensity``,
    ``yaw``, ``pitch``, ``roll``, ``occluder`` and ``key`` (the sample's key within its protocol
    split, which, with ``seed``, fixes every random choice of its rendering). ``metadata`` is the
    table plus ``source_id`` (``synth:<protocol>:seed<seed>:stream<stream>:key<key>``).
    """

    data_kind = "synthetic"

    def __init__(
        self,
        name: str,
        classes: tuple[str, ...] | list[str],
        table: pd.DataFrame,
        seed: int,
        stream: int,
        image_size: int,
        transform: Callable[[Image.Image], Any] | None = None,
        return_meta: bool = False,
        clutter: bool = True,
        degrade: bool = True,
        cache: bool = True,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        classes = list(classes)
        unknown = sorted(set(table["expression"]) - set(classes))
        if unknown:
            raise ValueError(f"{name}: expressions {unknown} are not among the classes {classes}")
        targets = table["expression"].map({c: i for i, c in enumerate(classes)}).to_numpy()
        super().__init__(classes, targets, table.reset_index(drop=True), transform, return_meta)
        self.name = name
        self.seed = int(seed)
        self.stream = int(stream)
        # What identifies a sample across splits, subsets and image sizes (fer_lib.data.identity): the
        # protocol, the dataset seed, the split's stream and the sample's key (they seed its rendering).
        prefix = f"synth:{name.split('[', 1)[0]}:seed{self.seed}:stream{self.stream}:key"
        self.metadata["source_id"] = [prefix + str(int(k)) for k in self.metadata["key"]]
        self.image_size = int(image_size)
        self.clutter = clutter
        self.degrade = degrade
        self.cache = cache
        self._cache: dict[int, RenderResult] = {}
        # Plain per-sample tuples: a pandas row lookup per render would cost more than the rendering.
        self._rows = list(
            zip(*(self.metadata[c].tolist() for c in ("key", "subject", "expression", "intensity", "yaw",
                                                     "pitch", "roll", "occluder")), strict=True)
        )  # fmt: skip
        # The words each sample's generator is seeded from (see _key), hashed for all samples at once.
        keys = self.metadata["key"].to_numpy(dtype=np.int64) & 0xFFFFFFFF
        words = np.empty((len(keys), 4), dtype=np.uint32)
        words[:] = _key(self.seed, self.stream, 0, _RENDER_STREAM)
        words[:, 2] = keys
        self._seeds = pcg64_seeds(words)
        self._subjects: dict[int, Any] = {}
        self.cache_file: Path | None = None
        if cache_dir is not None:
            self.cache_file = Path(cache_dir) / f"{name}-{self.fingerprint()}.npz"
            if self.cache_file.exists():
                self._load_cache(self.cache_file)
            else:
                self.materialize()
                self._save_cache(self.cache_file)

    # -- rendering -----------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """A short hash of everything that determines the rendered arrays."""
        spec = {
            "version": GENERATOR_VERSION,
            "name": self.name,
            "seed": self.seed,
            "stream": self.stream,
            "size": self.image_size,
            "clutter": self.clutter,
            "degrade": self.degrade,
            "table": self.metadata[["key", "subject", "expression", "intensity", "yaw", "pitch", "roll",
                                    "occluder"]].to_json(orient="values", double_precision=6),
        }  # fmt: skip
        return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def _subject(self, subject_id: int):
        if subject_id not in self._subjects:
            self._subjects[subject_id] = sample_subject(self.seed, subject_id)
        return self._subjects[subject_id]

    def render(self, index: int) -> RenderResult:
        """Render sample ``index`` (from the memory cache when it is there)."""
        index = int(index)
        if index < 0 or index >= len(self):
            raise IndexError(f"sample {index} out of range for {self.name} with {len(self)} samples")
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        key, subject_id, expression, intensity, yaw, pitch, roll, occluder = self._rows[index]
        rng = seeded_generator(self._seeds[index])  # = np.random.default_rng(_key(seed, stream, key, _RENDER_STREAM))
        subject = self._subject(int(subject_id))
        au = expression_coefficients(str(expression), int(intensity), rng, subject.resting)
        with _ONE_BLAS_THREAD:
            out = render_face(
                subject,
                au,
                float(yaw),
                float(pitch),
                float(roll),
                str(occluder),
                self.image_size,
                rng,
                clutter=self.clutter,
                degrade=self.degrade,
            )
        # Depth is kept as float16 (half the memory; 1e-3 resolution on [0, 1]), so a fresh render, the
        # memory cache and the disk cache agree; extras() hands it out as float32.
        out.depth = out.depth.astype(np.float16)
        if self.cache:
            self._cache[index] = out
        return out

    def materialize(self) -> None:
        """Render every sample into the memory cache (no-op for the ones already there)."""
        keep = self.cache
        self.cache = True
        try:
            with _ONE_BLAS_THREAD:
                for i in range(len(self)):
                    self.render(i)
        finally:
            self.cache = keep

    def arrays(self) -> dict[str, np.ndarray]:
        """All samples stacked: ``images [N, S, S, 3]`` uint8, ``depth [N, S, S]`` float32 (float16 values),
        ``landmarks [N, 68, 2]`` float32, ``visibility [N, 68]`` bool, ``targets [N]``."""
        outs = [self.render(i) for i in range(len(self))]
        S = self.image_size
        return {
            "images": np.stack([o.image for o in outs]) if outs else np.zeros((0, S, S, 3), np.uint8),
            "depth": np.stack([o.depth for o in outs]).astype(np.float32) if outs else np.zeros((0, S, S), np.float32),
            "landmarks": np.stack([o.landmarks for o in outs]) if outs else np.zeros((0, 68, 2), np.float32),
            "visibility": np.stack([o.visibility for o in outs]) if outs else np.zeros((0, 68), bool),
            "targets": self.targets.copy(),
        }

    def _save_cache(self, path: Path) -> None:
        arr = self.arrays()
        arr["depth"] = arr["depth"].astype(np.float16)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arr)

    def _load_cache(self, path: Path) -> None:
        with np.load(path) as data:
            images, depth = data["images"], data["depth"].astype(np.float16)
            landmarks, visibility = data["landmarks"], data["visibility"]
        if len(images) != len(self) or images.shape[1] != self.image_size:
            raise ValueError(
                f"cache file {path} holds {len(images)} images of {images.shape[1:3]} px but {self.name} "
                f"expects {len(self)} of {self.image_size} px; delete the file to re-render"
            )
        for i in range(len(self)):
            self._cache[i] = RenderResult(images[i], depth[i], landmarks[i], visibility[i])

    # -- FERDataset interface ------------------------------------------------------------------
    def load_image(self, index: int) -> Image.Image:
        return Image.fromarray(self.render(index).image, mode="RGB")

    def extras(self, index: int) -> dict[str, Any]:
        out = self.render(index)
        return {"depth": out.depth.astype(np.float32), "landmarks": out.landmarks, "visibility": out.visibility}


# --------------------------------------------------------------------------------------------------
# Sample tables
# --------------------------------------------------------------------------------------------------
def _inthewild_table(
    seed: int, split: str, scale: str, occlusion_share: float, intensity_weights: tuple[float, ...]
) -> pd.DataFrame:
    n_train, n_test, s_train, s_test = INTHEWILD_SIZES[scale]
    n, n_sub, first = (n_train, s_train, 0) if split == "train" else (n_test, s_test, s_train)
    rng = np.random.default_rng(_key(seed, _PROTOCOL_CODE["synth-inthewild"], _SPLIT_CODE[split], 0x7AB1E))
    labels = np.arange(n) % len(SEVEN_CLASSES)
    rng.shuffle(labels)
    # Every subject appears; the rest are drawn at random.
    subjects = np.concatenate([np.arange(n_sub), rng.integers(0, n_sub, max(0, n - n_sub))])[:n]
    rng.shuffle(subjects)
    expression = np.array(SEVEN_CLASSES)[labels]
    weights = np.asarray(intensity_weights, dtype=float)
    if weights.shape != (4,) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"intensity_weights must be 4 non-negative weights (levels 1..4), got {intensity_weights}")
    levels = rng.choice(np.arange(1, 5), size=n, p=weights / weights.sum())
    intensity = np.where(expression == "neutral", 0, levels)
    wide = rng.random(n) < 0.55
    yaw = np.where(wide, rng.uniform(-60, 60, n), np.clip(rng.normal(0, 12, n), -60, 60))
    pitch = np.clip(rng.normal(0, 8, n), -25, 25)
    roll = np.clip(rng.normal(0, 7, n), -20, 20)
    occluded = rng.random(n) < occlusion_share
    occluder = np.where(occluded, np.array(WILD_OCCLUDERS)[rng.integers(0, len(WILD_OCCLUDERS), n)], "none")
    return pd.DataFrame({
        "subject": subjects + first, "expression": expression, "intensity": intensity.astype(int),
        "yaw": yaw.round(2), "pitch": pitch.round(2), "roll": roll.round(2), "occluder": occluder,
        "key": np.arange(n), "split": split,
    })  # fmt: skip


def _fold_table(protocol: str, seed: int, scale: str, n_folds: int, angles: tuple[int, ...] | None,
                pitches: tuple[int, ...] | None = None, levels: tuple[int, ...] = (1, 2, 3, 4)) -> pd.DataFrame:
    """The full factorial table of a fold protocol, with each subject's ``fold``: yaw ``angles`` (x ``pitches``
    when given) at intensity ``levels``, or random near-frontal poses without ``angles``."""
    n_sub = (MULTIVIEW_SUBJECTS if protocol == "synth-multiview" else RGBD_SUBJECTS)[scale]
    code = _PROTOCOL_CODE[protocol]
    first = 100_000 * code  # subject ids of different protocols are different people
    rng = np.random.default_rng(_key(seed, code, 0x7AB1E))
    fold_of = np.empty(n_sub, dtype=int)
    fold_of[rng.permutation(n_sub)] = np.arange(n_sub) % n_folds
    rows = []
    if angles is None:
        views: list[tuple] = [(None, None)]
    elif pitches is None:
        views = [(a, 0) for a in angles]
    else:  # one pitch row after another, yaw within the row
        views = [(a, p) for p in pitches for a in angles]
    for s in range(n_sub):
        for e in SIX_BASIC:
            for level in levels:
                for a, p in views:
                    rows.append((first + s, e, level, a, p, fold_of[s]))
    df = pd.DataFrame(rows, columns=["subject", "expression", "intensity", "angle", "tilt", "fold"])
    n = len(df)
    tilt = df.pop("tilt")
    if angles is not None:
        df["yaw"] = df.pop("angle").astype(float)
        df["pitch"] = tilt.astype(float)
        df["roll"] = 0.0
    else:
        df.pop("angle")
        df["yaw"] = rng.uniform(-15, 15, n).round(2)
        df["pitch"] = rng.uniform(-10, 10, n).round(2)
        df["roll"] = np.clip(rng.normal(0, 3, n), -8, 8).round(2)
    df["occluder"] = "none"
    df["key"] = np.arange(n)
    return df[["subject", "expression", "intensity", "yaw", "pitch", "roll", "occluder", "key", "fold"]]


def _check(split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(allowed)}")


def _size(image_size: int | None, scale: str) -> int:
    size = DEFAULT_IMAGE_SIZE[scale] if image_size is None else int(image_size)
    if size < 32:
        raise ValueError(f"image_size must be at least 32 px, got {size}")
    return size


def _fold_split(df: pd.DataFrame, split: str, fold: int, n_folds: int) -> pd.DataFrame:
    if not 0 <= int(fold) < n_folds:
        raise ValueError(f"fold must be in 0..{n_folds - 1}, got {fold}")
    if split == "all":
        return df
    mask = df["fold"] == int(fold)
    return df[mask if split == "test" else ~mask]


# --------------------------------------------------------------------------------------------------
# Registered builders
# --------------------------------------------------------------------------------------------------
@register_dataset("synth-inthewild")
def build_synth_inthewild(
    split: str = "train",
    scale: str = "cpu",
    seed: int = 0,
    image_size: int | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    subset: str | None = None,
    occlusion_share: float = WILD_OCCLUSION_SHARE,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    intensity_weights: tuple[float, ...] = WILD_INTENSITY_WEIGHTS,
) -> SynthFER:
    """SynthFER in the wild: seven classes, |yaw| <= 60, occluders on ``occlusion_share`` of samples.

    ``split``: ``train`` or ``test`` (disjoint subjects). ``subset`` keeps ``occlusion`` (any
    occluder), ``pose>30`` / ``pose>45`` (max(|yaw|, |pitch|) above the bound) or ``frontal``
    (unoccluded, |yaw| <= 15). ``image_size`` defaults to 64 (smoke, cpu) or 112 (paper). ``root``
    is accepted for interface uniformity and ignored (nothing is read from disk). ``intensity_weights``
    weighs the intensity levels 1..4 of the non-neutral samples (``WILD_INTENSITY_WEIGHTS``).
    """
    check_scale(scale)
    _check(split, ("train", "test"))
    if subset is not None and subset not in INTHEWILD_SUBSETS:
        raise ValueError(f"unknown subset {subset!r}; expected None or one of {', '.join(INTHEWILD_SUBSETS)}")
    df = _inthewild_table(seed, split, scale, occlusion_share, intensity_weights)
    pose = np.maximum(df["yaw"].abs(), df["pitch"].abs())
    if subset == "occlusion":
        df = df[df["occluder"] != "none"]
    elif subset == "pose>30":
        df = df[pose > 30]
    elif subset == "pose>45":
        df = df[pose > 45]
    elif subset == "frontal":
        df = df[(df["occluder"] == "none") & (df["yaw"].abs() <= 15)]
    name = "synth-inthewild" if subset is None else f"synth-inthewild[{subset}]"
    return SynthFER(
        name, SEVEN_CLASSES, df, seed, _SPLIT_CODE[split] * 16 + _PROTOCOL_CODE["synth-inthewild"],
        _size(image_size, scale), transform, return_meta, cache=cache, cache_dir=cache_dir,
    )  # fmt: skip


@register_dataset("synth-multiview")
def build_synth_multiview(
    split: str = "train",
    scale: str = "cpu",
    seed: int = 0,
    fold: int = 0,
    angles: str = "bu3dfe",
    image_size: int | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    yaw: float | None = None,
) -> SynthFER:
    """Multi-view SynthFER: six expressions x intensities x views x subjects, 5 subject folds.

    ``angles``: ``bu3dfe`` (yaw 0, 30, 45, 60, 90; BU-3DFE P1), ``multipie`` (yaw 0..90 step 15), both at 4
    intensities, or ``bu3dfe-p2`` (BU-3DFE P2: yaw -45..45 x pitch -30..30, step 15, strongest intensity).
    ``split``: ``train`` (the other four folds), ``test`` (fold ``fold``) or ``all``. ``yaw`` keeps one view
    (cross-view protocols). A sample renders identically in every fold and view selection it belongs to.
    """
    check_scale(scale)
    _check(split, ("train", "test", "all"))
    if angles in VIEW_GRIDS:
        yaws, pitches, levels = VIEW_GRIDS[angles]
        table = _fold_table("synth-multiview", seed, scale, 5, yaws, pitches, levels)
    elif angles in ANGLE_SETS:
        table = _fold_table("synth-multiview", seed, scale, 5, ANGLE_SETS[angles])
    else:
        raise ValueError(f"unknown angles {angles!r}; expected one of {', '.join([*ANGLE_SETS, *VIEW_GRIDS])}")
    df = _fold_split(table, split, fold, 5)
    if yaw is not None:
        if not np.isclose(table["yaw"], float(yaw)).any():
            raise ValueError(f"synth-multiview angles={angles!r} has no view at yaw {yaw}; its yaws: "
                             f"{sorted(set(table['yaw']))}")
        df = df[np.isclose(df["yaw"], float(yaw))]
    stream = _PROTOCOL_CODE["synth-multiview"] + 16 * _MULTIVIEW_STREAMS[angles]
    return SynthFER(
        f"synth-multiview-{angles}", SIX_BASIC, df, seed, stream, _size(image_size, scale), transform,
        return_meta, cache=cache, cache_dir=cache_dir,
    )  # fmt: skip


@register_dataset("synth-rgbd")
def build_synth_rgbd(
    split: str = "train",
    scale: str = "cpu",
    seed: int = 0,
    fold: int = 0,
    image_size: int | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
    return_meta: bool = False,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
) -> SynthFER:
    """RGB-D SynthFER: near-frontal faces (|yaw| <= 15, |pitch| <= 10) on a plain background, six
    expressions x 4 intensities x subjects, 10 subject folds; depth maps in ``extras``."""
    check_scale(scale)
    _check(split, ("train", "test", "all"))
    df = _fold_split(_fold_table("synth-rgbd", seed, scale, 10, None), split, fold, 10)
    return SynthFER(
        "synth-rgbd", SIX_BASIC, df, seed, _PROTOCOL_CODE["synth-rgbd"], _size(image_size, scale), transform,
        return_meta, clutter=False, cache=cache, cache_dir=cache_dir,
    )  # fmt: skip


__all__ = [
    "ANGLE_SETS",
    "GENERATOR_VERSION",
    "INTHEWILD_SUBSETS",
    "PROTOCOLS",
    "VIEW_GRIDS",
    "SynthFER",
    "build_synth_inthewild",
    "build_synth_multiview",
    "build_synth_rgbd",
]
