"""Faces with 68-point landmarks: the training and test data of POSTER's landmark stream, trained here.

POSTER's landmark stream is a MobileFaceNet 68-point regressor whose weights the authors trained elsewhere; fer_lib
cannot download them, so it trains its own (:mod:`fer_lib.protocols.landmarks`) on two sources:

- **SynthFER** (``synth-inthewild``): the renderer's ground-truth points, at every pose and under every occluder
  (a point hidden by the pose or an occluder keeps its true position, as in 300-W's annotations).
- **Real faces labelled by dlib's 68-point shape predictor** (:func:`dlib_labels`): FER2013's 48 px faces, each
  upsampled 4x; dlib's HOG face detector gives the box, and where it finds no face the shape predictor would run
  in a guessed box, so those faces are left out (:attr:`DlibLabels.detected` says which). The labels are cached
  under ``runs/landmarks/`` and keyed by the faces and the model file, since labelling FER2013 takes minutes.

Coordinates are normalised to [0, 1] of the face: ``u = x / S`` for continuous pixel coordinates (SynthFER's
projection), ``u = (x + 0.5) / S`` for pixel indices (dlib's), so a horizontal flip is ``u -> 1 - u`` for both.

A :class:`LandmarkSet` holds the faces as uint8 ``[N, C, S, S]`` and yields batches ``(x [B, 3, S, S], y [B, 136])``
normalised like every classification pipeline (ImageNet mean and std), so the stream inside POSTER sees the input
POSTER sees; training batches are flipped at random with the 68-point mirror permutation (:data:`FLIP_68`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from fer_lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from fer_lib.io import atomic_save, runs_root

NUM_POINTS = 68
#: dlib labels FER2013's 48 px faces upsampled this many times (its HOG detector finds few faces at 48 px).
DLIB_UPSAMPLE = 4


def _mirror_permutation() -> tuple[int, ...]:
    """The 68-point (iBUG 300-W) index each point becomes under a horizontal flip."""
    pairs: list[tuple[int, int]] = []
    pairs += [(k, 16 - k) for k in range(17)]  # jaw
    pairs += [(17 + k, 26 - k) for k in range(5)]  # brows
    pairs += [(27 + k, 27 + k) for k in range(4)]  # nose bridge
    pairs += [(31 + k, 35 - k) for k in range(5)]  # nostrils
    pairs += list(zip((36, 37, 38, 39, 40, 41), (45, 44, 43, 42, 47, 46), strict=True))  # eyes
    pairs += [(48 + k, 54 - k) for k in range(7)] + [(55 + k, 59 - k) for k in range(5)]  # outer lip
    pairs += [(60 + k, 64 - k) for k in range(5)] + [(65 + k, 67 - k) for k in range(3)]  # inner lip
    mirror = [0] * NUM_POINTS
    for a, b in pairs:
        mirror[a], mirror[b] = b, a
    return tuple(mirror)


#: ``FLIP_68[i]``: the point that takes point ``i``'s place in a horizontally flipped face.
FLIP_68: tuple[int, ...] = _mirror_permutation()


class LandmarkSet(Dataset):
    """Faces ``images`` (uint8 ``[N, C, S, S]``, C = 1 or 3) with landmarks ``points`` (float32 ``[N, 68, 2]``,
    normalised to [0, 1] of the face), ``source_ids`` naming each face's source image, and ``groups`` (a label
    per face for per-group errors: pose bucket, occluded or not).

    ``dataset[i]`` is ``(x [3, S, S], y [136])``; :meth:`batches` yields whole batches, flipped at random when
    ``flip`` and ``augment`` (the engine's training path)."""

    def __init__(self, name: str, images: torch.Tensor, points: np.ndarray | torch.Tensor,
                 source_ids: Sequence[str], groups: Sequence[str] | None = None, flip: bool = True,
                 data_kind: str = "real") -> None:
        points = torch.as_tensor(np.asarray(points, dtype=np.float32))
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be uint8 [N, 1 or 3, S, S], got {images.dtype} {list(images.shape)}")
        if points.shape != (len(images), NUM_POINTS, 2):
            raise ValueError(f"points must be [{len(images)}, {NUM_POINTS}, 2], got {list(points.shape)}")
        if len(source_ids) != len(images):
            raise ValueError(f"{len(source_ids)} source ids for {len(images)} faces")
        self.name, self.images, self.points = name, images, points
        self.source_ids = list(source_ids)
        self.groups = list(groups) if groups is not None else ["all"] * len(images)
        self.flip, self.data_kind = flip, data_kind
        self._mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self._flip_index = torch.tensor(FLIP_68)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32).div_(255.0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self._mean.to(x.device)) / self._std.to(x.device)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._normalise(self.images[index : index + 1])[0], self.points[index].flatten()

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                device: str | torch.device = "cpu",
                augment: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(x [B, 3, S, S] normalised, y [B, 136])`` on ``device``; with ``augment`` (and ``flip``) each face is
        mirrored with probability 1/2, its points moved to ``1 - u`` and renumbered by :data:`FLIP_68`."""
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            x, y = self.images[idx], self.points[idx].clone()
            if augment and self.flip:
                mirrored = torch.rand(len(idx), generator=generator) < 0.5
                x = torch.where(mirrored.view(-1, 1, 1, 1), x.flip(-1), x)
                flipped = y[:, self._flip_index]
                flipped[..., 0] = 1.0 - flipped[..., 0]
                y = torch.where(mirrored.view(-1, 1, 1), flipped, y)
            yield self._normalise(x.to(device)), y.flatten(1).to(device)

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> LandmarkSet:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return LandmarkSet(name or self.name, self.images[idx], self.points[idx],
                           [self.source_ids[i] for i in idx.tolist()], [self.groups[i] for i in idx.tolist()],
                           self.flip, self.data_kind)

    def pixels(self, size: int | None = None) -> np.ndarray:
        """The points ``[N, 68, 2]`` as pixel indices of a ``size`` face (default the stored side; pixel centres at
        integers, as ``imshow`` draws them)."""
        return self.points.numpy() * float(size or self.image_size) - 0.5


def concat(name: str, parts: Sequence[LandmarkSet]) -> LandmarkSet:
    """One set of several (same face size; grey faces are expanded to three channels where the parts mix)."""
    sizes = {p.image_size for p in parts}
    if len(sizes) != 1:
        raise ValueError(f"the sets have different face sizes {sorted(sizes)}")
    channels = max(p.images.shape[1] for p in parts)
    images = torch.cat([p.images.expand(-1, channels, -1, -1) for p in parts])
    return LandmarkSet(name, images, torch.cat([p.points for p in parts]),
                       [s for p in parts for s in p.source_ids], [g for p in parts for g in p.groups],
                       all(p.flip for p in parts),
                       "mixed" if len({p.data_kind for p in parts}) > 1 else parts[0].data_kind)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[N, C, s, s]`` -> uint8 ``[N, C, size, size]`` (bilinear with antialiasing when shrinking)."""
    if images.shape[-1] == size:
        return images
    out = []
    for start in range(0, len(images), 1024):
        chunk = images[start : start + 1024].to(torch.float32)
        chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=size < images.shape[-1])
        out.append(chunk.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


# -- SynthFER: ground truth ---------------------------------------------------------------------------
def pose_group(yaw: float, pitch: float, occluder: str) -> str:
    """A face's group for per-group errors: ``occluded``, else ``pose>30`` / ``pose<=30`` by max(|yaw|, |pitch|)."""
    if occluder not in ("none", "", None):
        return "occluded"
    return "pose>30" if max(abs(yaw), abs(pitch)) > 30 else "pose<=30"


def synth_landmarks(split: str, scale: str, image_size: int = 112, seed: int = 0,
                    limit: int | None = None) -> LandmarkSet:
    """SynthFER in the wild's ``split`` (``train`` / ``test``, disjoint subjects) at ``image_size`` with its
    ground-truth points; groups by :func:`pose_group`. ``limit``: at most that many faces, drawn with ``seed``
    before any is rendered."""
    from fer_lib.data import load_dataset

    data = load_dataset("synth-inthewild", split=split, scale=scale, image_size=image_size)
    indices = np.arange(len(data))
    if limit is not None and limit < len(data):
        indices = np.sort(np.random.default_rng(seed).choice(len(data), size=limit, replace=False))
    images = np.empty((len(indices), 3, image_size, image_size), dtype=np.uint8)
    points = np.empty((len(indices), NUM_POINTS, 2), dtype=np.float32)
    for k, i in enumerate(tqdm(indices, desc=f"rendering synth-inthewild {split}", leave=False, mininterval=5)):
        images[k] = np.asarray(data.load_image(int(i)).convert("RGB")).transpose(2, 0, 1)
        points[k] = data.extras(int(i))["landmarks"] / image_size
    meta = data.metadata.iloc[indices]
    groups = [pose_group(y, p, o) for y, p, o in zip(meta["yaw"], meta["pitch"], meta["occluder"], strict=True)]
    return LandmarkSet(f"synth-inthewild {split}", torch.from_numpy(images), points, list(meta["source_id"]), groups,
                       data_kind="synthetic")


# -- real faces: dlib labels ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DlibLabels:
    """dlib's 68 points ``points [N, 68, 2]`` (pixels of the original face) and ``detected [N]`` (dlib's face
    detector found the face; elsewhere the points are NaN)."""

    points: np.ndarray
    detected: np.ndarray


def _file_digest(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def dlib_labels(faces: np.ndarray, model_path: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None, progress: bool = True) -> DlibLabels:
    """dlib's 68 points on each grey face of ``faces`` (uint8 ``[N, s, s]``): upsampled :data:`DLIB_UPSAMPLE`
    times, the largest face dlib's HOG detector finds, the shape predictor in its box; points back in the
    original face's pixels. Cached in ``cache_dir`` (default ``runs/landmarks``) under a hash of the faces, the
    model file and the method, so a second call reads the file."""
    from fer_lib.data.preprocess import dlib_model_path

    faces = np.ascontiguousarray(faces, dtype=np.uint8)
    if faces.ndim != 3:
        raise ValueError(f"faces must be grey uint8 [N, s, s], got {list(faces.shape)}")
    model = Path(model_path) if model_path is not None else dlib_model_path()
    if model is None or not model.is_file():
        from fer_lib.data.preprocess import DLIB_HELP

        raise FileNotFoundError(f"no dlib landmark model at {model}; {DLIB_HELP}")
    key = hashlib.sha1(faces.tobytes()).hexdigest()[:16]
    cache = Path(cache_dir) if cache_dir is not None else runs_root() / "landmarks"
    path = cache / f"dlib-{key}-{_file_digest(model)}-up{DLIB_UPSAMPLE}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return DlibLabels(stored["points"], stored["detected"])
    import dlib

    detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model))
    points = np.full((len(faces), NUM_POINTS, 2), np.nan, dtype=np.float32)
    detected = np.zeros(len(faces), dtype=bool)
    up = DLIB_UPSAMPLE
    for i in tqdm(range(len(faces)), desc="dlib landmarks", disable=not progress, mininterval=10):
        big = np.kron(faces[i], np.ones((up, up), dtype=np.uint8))
        boxes = detector(big, 0)
        if len(boxes) == 0:
            continue
        shape = predictor(big, max(boxes, key=lambda r: r.area()))
        # Pixel indices of the upsampled face -> continuous coordinates -> pixel indices of the original.
        xy = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        points[i] = (xy + 0.5) / up - 0.5
        detected[i] = True
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: given a name, numpy would append ".npz" to it
            np.savez_compressed(handle, points=points, detected=detected)

    atomic_save(path, write)
    return DlibLabels(points, detected)


def dlib_landmarks(name: str, faces: np.ndarray, source_ids: Sequence[str], image_size: int = 112,
                   labels: DlibLabels | None = None, **kwargs) -> LandmarkSet:
    """The faces dlib found in ``faces`` (uint8 grey ``[N, s, s]``), resized to ``image_size``, with dlib's points
    as targets (``labels`` from :func:`dlib_labels`, computed here when not given; ``kwargs`` go to it)."""
    labels = labels if labels is not None else dlib_labels(faces, **kwargs)
    keep = np.flatnonzero(labels.detected)
    side = faces.shape[-1]
    images = _resize(torch.from_numpy(faces[keep][:, None]), image_size)
    points = (labels.points[keep] + 0.5) / side
    return LandmarkSet(name, images, points, [source_ids[i] for i in keep], ["dlib"] * len(keep), data_kind="real")


__all__ = ["DLIB_UPSAMPLE", "FLIP_68", "DlibLabels", "LandmarkSet", "concat", "dlib_labels", "dlib_landmarks",
           "pose_group", "synth_landmarks"]
