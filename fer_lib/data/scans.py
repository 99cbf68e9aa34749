"""3-D face scans as the aligned grey and depth images CM-CNN (seed 002) reads: the two distributed scan
formats its datasets use, and the projection of a textured point cloud onto a regular image grid.

- Bosphorus ``.bnt`` (binary, little-endian): ``nrows`` (uint16), ``ncols`` (uint16), ``zmin`` (float64: the
  depth of missing points), the length (uint16) and characters of the 2-D image's file name, the number of
  values (uint32, ``5 x nrows x ncols``), then the values (float64) column by column: ``x``, ``y``, ``z``,
  ``u``, ``v`` per grid point (``u, v`` in [0, 1]: the point's position in the 2-D image, ``v`` upwards).
- BU-3DFE ``_F3D.wrl`` (VRML 2.0): a ``Coordinate { point [x y z, ...] }`` mesh with ``coordIndex`` faces, and
  a ``TextureCoordinate { point [u v, ...] }`` with ``texCoordIndex`` faces into the ``ImageTexture`` file
  next to it (``_F3D.bmp``).

:func:`scan_images` turns a point cloud with a grey value per point into a square grey image and a depth image
on the same grid, both fitted with :func:`fer_lib.data.preprocess.fit_depth_map` (CM-CNN's gridfit step), so
the two modalities are aligned by construction. Depth follows SynthFER's convention: 0 is background, the face
spans (0, 1], larger is nearer the camera (+z).
"""

from __future__ import annotations

import dataclasses
import os
import re
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fer_lib.data._common import LoadedDataset
from fer_lib.data.errors import LabelFileError
from fer_lib.data.preprocess import face_depth, fit_depth_map


@dataclasses.dataclass
class Scan:
    """A textured point cloud: ``points [P, 3]`` (x, y, z; +z towards the camera), ``uv [P, 2]`` texture
    coordinates in [0, 1] (``v`` upwards) or ``None``, and the texture image's path (``None`` if unknown)."""

    points: np.ndarray
    uv: np.ndarray | None
    texture: Path | None


# -- Bosphorus .bnt -----------------------------------------------------------------------------------------
def read_bnt(path: str | os.PathLike) -> Scan:
    """A Bosphorus ``.bnt`` range scan (module docstring); points at ``zmin`` (no data) are dropped."""
    path = Path(path)
    data = path.read_bytes()
    try:
        nrows, ncols, zmin, name_length = struct.unpack_from("<HHdH", data, 0)
        offset = struct.calcsize("<HHdH")
        image_name = data[offset:offset + name_length].decode("ascii", errors="replace")
        offset += name_length
        (count,) = struct.unpack_from("<I", data, offset)
        offset += 4
    except struct.error as err:
        raise LabelFileError(f"{path}: not a Bosphorus .bnt file (header too short: {err})") from err
    if count != 5 * nrows * ncols or len(data) - offset < 8 * count:
        raise LabelFileError(f"{path}: not a Bosphorus .bnt file: a {nrows} x {ncols} grid needs "
                             f"{5 * nrows * ncols} values; the header says {count}, the file holds "
                             f"{(len(data) - offset) // 8}")
    values = np.frombuffer(data, dtype="<f8", count=count, offset=offset).reshape(5, nrows * ncols)
    x, y, z, u, v = values
    valid = (z > zmin) & np.isfinite(z)
    texture = path.with_name(Path(image_name).name) if image_name else None
    return Scan(np.column_stack([x, y, z])[valid], np.column_stack([u, v])[valid], texture)


def write_bnt(path: str | os.PathLike, grid: np.ndarray, zmin: float, image_name: str) -> Path:
    """Write ``grid [5, nrows, ncols]`` (x, y, z, u, v) as a ``.bnt`` file (fixtures and tests)."""
    grid = np.asarray(grid, dtype="<f8")
    if grid.ndim != 3 or grid.shape[0] != 5:
        raise ValueError(f"write_bnt: grid must be [5, nrows, ncols], got {grid.shape}")
    _, nrows, ncols = grid.shape
    name = image_name.encode("ascii")
    header = struct.pack("<HHdH", nrows, ncols, float(zmin), len(name)) + name + struct.pack("<I", grid.size)
    Path(path).write_bytes(header + grid.reshape(5, -1).tobytes())
    return Path(path)


# -- BU-3DFE VRML -------------------------------------------------------------------------------------------
def _block(text: str, node: str, field: str) -> str | None:
    """The bracketed list of ``field`` inside the first ``node`` of a VRML text (``None`` if absent)."""
    start = re.search(rf"\b{node}\b[^{{]*\{{", text)
    if start is None:
        return None
    body = re.search(rf"\b{field}\s*\[([^\]]*)\]", text[start.end():])
    return body.group(1) if body else None


def _numbers(block: str, dtype, width: int, path: Path, what: str) -> np.ndarray:
    values = np.array(block.replace(",", " ").split(), dtype=dtype)
    if width > 1:
        if values.size % width:
            raise LabelFileError(f"{path}: {what} has {values.size} numbers, not a multiple of {width}")
        values = values.reshape(-1, width)
    return values


def read_vrml_scan(path: str | os.PathLike) -> Scan:
    """A BU-3DFE ``_F3D.wrl`` model (module docstring) as a point cloud with a texture coordinate per vertex
    (through the faces: a vertex takes the texture coordinate its faces give it; the first one seen)."""
    path = Path(path)
    text = path.read_text(encoding="latin-1")
    coords = _block(text, "Coordinate", "point")
    if coords is None:
        raise LabelFileError(f"{path}: no 'Coordinate {{ point [...] }}' node: not a BU-3DFE VRML model")
    points = _numbers(coords, np.float64, 3, path, "Coordinate point")
    uv, texture = None, None
    tex_block, tex_index, coord_index = (_block(text, "TextureCoordinate", "point"), _block(text, "IndexedFaceSet",
                                         "texCoordIndex"), _block(text, "IndexedFaceSet", "coordIndex"))
    if tex_block is not None and tex_index is not None and coord_index is not None:
        tex = _numbers(tex_block, np.float64, 2, path, "TextureCoordinate point")
        faces, tex_faces = (_numbers(b, np.int64, 1, path, n) for b, n in ((coord_index, "coordIndex"),
                                                                            (tex_index, "texCoordIndex")))
        if faces.shape != tex_faces.shape:
            raise LabelFileError(f"{path}: coordIndex and texCoordIndex differ in length "
                                 f"({faces.size} vs {tex_faces.size})")
        keep = (faces >= 0) & (tex_faces >= 0)
        if (faces[keep] >= len(points)).any() or (tex_faces[keep] >= len(tex)).any():
            raise LabelFileError(f"{path}: a face indexes past its {len(points)} points or {len(tex)} texture "
                                 "coordinates")
        uv = np.full((len(points), 2), np.nan)
        vertex, first = np.unique(faces[keep], return_index=True)  # each vertex's first face corner
        uv[vertex] = tex[tex_faces[keep][first]]
        url = re.search(r"\burl\s*\[?\s*\"([^\"]+)\"", text)
        texture = path.with_name(Path(url.group(1)).name) if url else None
    return Scan(points, uv, texture)


# -- projection onto the image grid ----------------------------------------------------------------------
def sample_texture(image: Image.Image | np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Grey values ``[P]`` (0-255) of ``image`` at texture coordinates ``uv [P, 2]`` (bilinear; ``v`` upwards;
    NaN where ``uv`` is NaN)."""
    grey = np.asarray(image.convert("L") if isinstance(image, Image.Image) else image, dtype=np.float64)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    h, w = grey.shape
    col = np.clip(uv[:, 0], 0, 1) * (w - 1)
    row = (1 - np.clip(uv[:, 1], 0, 1)) * (h - 1)
    out = np.full(len(uv), np.nan)
    ok = np.isfinite(col) & np.isfinite(row)
    c0, r0 = np.floor(col[ok]).astype(int).clip(0, w - 2), np.floor(row[ok]).astype(int).clip(0, h - 2)
    fc, fr = col[ok] - c0, row[ok] - r0
    out[ok] = ((1 - fr) * ((1 - fc) * grey[r0, c0] + fc * grey[r0, c0 + 1])
               + fr * ((1 - fc) * grey[r0 + 1, c0] + fc * grey[r0 + 1, c0 + 1]))
    return out


def scan_images(scan: Scan, size: int, margin: float = 0.05, smoothness: float = 1.0,
                texture: Image.Image | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(grey uint8 [size, size], depth float32 [size, size])`` of a scan on one square grid over its x-y extent
    (plus ``margin`` of the side each way), both fitted from the points with :func:`fit_depth_map`.

    The grey value of each point comes from ``texture`` (default: ``scan.texture``'s file) at its ``uv``;
    without texture coordinates the grey image is the depth image. Grid nodes further than 1.5 grid steps from
    every point are background: grey 0, depth 0.
    """
    from scipy.spatial import cKDTree

    points = scan.points[np.isfinite(scan.points).all(axis=1)]
    if len(points) < 3:
        raise ValueError(f"scan_images: {len(points)} valid point(s); a face scan has thousands")
    (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    half = max(x1 - x0, y1 - y0) * (0.5 + margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bounds = (cx - half, cx + half, cy - half, cy + half)
    depth = fit_depth_map(points, (size, size), bounds, smoothness)
    gx, gy = np.meshgrid(np.linspace(bounds[0], bounds[1], size), np.linspace(bounds[3], bounds[2], size))
    distance, _ = cKDTree(points[:, :2]).query(np.column_stack([gx.ravel(), gy.ravel()]))
    face = (distance <= 1.5 * (2 * half) / (size - 1)).reshape(size, size)
    depth01 = face_depth(depth, face)
    grey = np.zeros((size, size), dtype=np.uint8)
    if scan.uv is None:
        grey[face] = np.round(255 * depth01[face]).astype(np.uint8)
        return grey, depth01
    if texture is None:
        if scan.texture is None or not scan.texture.is_file():
            raise FileNotFoundError(f"scan_images: the scan's texture image {scan.texture} is missing")
        texture = Image.open(scan.texture)
    values = sample_texture(texture, scan.uv)
    ok = np.isfinite(values)
    fitted = fit_depth_map(np.column_stack([scan.points[ok, :2], values[ok]]), (size, size), bounds, smoothness)
    grey[face] = np.clip(np.round(fitted[face]), 0, 255).astype(np.uint8)
    return grey, depth01


class ScanDataset(LoadedDataset):
    """A dataset of 3-D scans (``metadata['path']``: ``.bnt`` or ``.wrl`` files): ``load_image`` is the scan's
    fitted grey image (as RGB) and ``extras()['depth']`` its depth image on the same grid, ``image_size`` a side,
    each fitted once and kept (a fit takes about half a second at 148 px)."""

    def __init__(self, name: str, classes: Sequence[str], paths: Sequence[Path | str],
                 targets: Sequence[int] | np.ndarray, metadata: pd.DataFrame, image_size: int = 148,
                 transform: Callable[[Image.Image], Any] | None = None, return_meta: bool = False,
                 skipped: dict[str, int] | None = None) -> None:
        metadata = metadata.reset_index(drop=True).copy()
        metadata["path"] = [str(p) for p in paths]
        super().__init__(name, classes, targets, metadata, transform, return_meta, skipped)
        self.image_size = int(image_size)
        self._images: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def grey_and_depth(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(grey, depth)`` of sample ``index`` (:func:`scan_images`)."""
        if index not in self._images:
            path = Path(self.metadata.at[index, "path"])
            scan = read_bnt(path) if path.suffix.lower() == ".bnt" else read_vrml_scan(path)
            self._images[index] = scan_images(scan, self.image_size)
        return self._images[index]

    def load_image(self, index: int) -> Image.Image:
        return Image.fromarray(self.grey_and_depth(index)[0], mode="L").convert("RGB")

    def extras(self, index: int) -> dict[str, Any]:
        return {"depth": self.grey_and_depth(index)[1]}


__all__ = ["Scan", "ScanDataset", "read_bnt", "read_vrml_scan", "sample_texture", "scan_images", "write_bnt"]
