"""``render_face``: one sample, as a pipeline of named stages (see the package docstring for the map).

Every stage keeps the arithmetic of the single-function renderer it came from (operation order, dtypes, and
the random draws in the same order), so a fixed generator state gives the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .background import _background, _blur, _degrade, _to_uint8
from .geometry import rotation_matrix
from .model import A_THETA, A_ZBASE, FaceModel, _face_model_for
from .occluders import (
    OCCLUDERS,
    _FaceOccluder,
    _occlude_image,
    _occluder_albedo,
    _occluder_cover,
    _occluder_params,
)
from .raster import (
    _contiguous_copy,
    _fill_gaps,
    _mul_xyz,
    _nonzero1d,
    _rowdot,
    _rows_view,
    _splat_zbuffer,
    _take_rows,
)
from .subject import Subject
from .surface import _colour_head

_FLIP_Y = np.array([1, -1], dtype=np.float32)  # image y runs down, camera y up


@dataclass
class RenderResult:
    """One rendered sample.

    ``image`` uint8 ``[S, S, 3]``; ``depth`` float32 ``[S, S]`` in [0, 1] (0 = background, larger =
    nearer the camera, linear in camera depth: 1 unit = 3 canonical head units); ``landmarks`` float32
    ``[68, 2]`` as (x, y) pixel coordinates (pixel ``i`` spans ``[i, i+1)``); ``visibility`` bool ``[68]``
    (False when self-occluded, covered by an occluder or outside the image).
    """

    image: np.ndarray
    depth: np.ndarray
    landmarks: np.ndarray
    visibility: np.ndarray


# --------------------------------------------------------------------------------------------------
# State passed between the stages
# --------------------------------------------------------------------------------------------------
@dataclass
class _PosedHead:
    """The head-grid longitudes ``a:b`` (mod ``n_lon``; ``take`` selects them, a slice unless they cross the
    seam) that can face the camera, deformed, with hair volume and scaled (head frame): ``points [W, 3]``
    and unnormalised ``normals [W, 3]`` (W = window columns x n_lat, float32)."""

    a: int
    seam: bool
    take: np.ndarray | slice
    points: np.ndarray
    normals: np.ndarray


@dataclass
class _Camera:
    """Pinhole camera: rotation ``R [3, 3]`` (float32), distance ``dist`` and focal length ``focal`` (floats),
    image-centre jitter ``shift [2]`` (pixels, float64), position ``cam [3]`` in the rotated-head frame and
    ``cam_h [3]`` in the head frame (float32)."""

    R: np.ndarray
    dist: float
    focal: float
    shift: np.ndarray
    cam: np.ndarray
    cam_h: np.ndarray


@dataclass
class _Props:
    """The surfaces beside the head grid: mouth patches (cavity, teeth) ``extra [E, 3]`` (head frame) with
    albedo ``e_col [E, 3]`` and specular weight ``e_spec [E]``; the neck ``neck [Nn, 3]`` (camera frame) in
    ``neck_skin [3]``, or per point ``n_col [Nn, 3]`` where a scarf recolours it."""

    extra: np.ndarray
    e_col: np.ndarray
    e_spec: np.ndarray
    neck: np.ndarray
    neck_skin: np.ndarray
    n_col: np.ndarray | None = None


@dataclass
class _Light:
    """Directional light ``light [3]`` and Blinn-Phong half vector ``halfv [3]`` (camera frame, unit), ambient
    and diffuse weights, and a colour ``tint [3]`` (all float32)."""

    light: np.ndarray
    halfv: np.ndarray
    ambient: np.float32
    diffuse: np.float32
    tint: np.ndarray


# --------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------
def render_face(
    subject: Subject,
    au: np.ndarray,
    yaw: float,
    pitch: float,
    roll: float,
    occluder: str,
    image_size: int,
    rng: np.random.Generator,
    density: float = 1.0,
    clutter: bool = True,
    degrade: bool = True,
) -> RenderResult:
    """Render one face.

    ``au``: AU activations ``[N_AU]``; angles in degrees (|yaw| <= 90); ``occluder`` one of
    :data:`OCCLUDERS`; ``rng`` supplies every remaining random choice (camera, light, background,
    occluder placement, blur, noise), so a fixed generator state gives byte-identical output.
    ``clutter=False`` draws a plain grey background; ``degrade=False`` skips colour jitter, blur and noise.
    """
    if occluder not in OCCLUDERS:
        raise ValueError(f"unknown occluder {occluder!r}; expected one of {OCCLUDERS}")
    S = int(image_size)
    fm = _face_model_for(S, density)
    au = np.asarray(au, dtype=np.float32)
    coef = np.concatenate([subject.identity, au], dtype=np.float32)
    # Geometry: pose, camera, back-face culling (random draws: camera, then gaze).
    head = _pose_head(fm, subject, coef, yaw)
    extra, L = _pose_extras(fm, coef, subject.scale)
    cam = _draw_camera(rng, yaw, pitch, roll, S)
    vis, P, gidx = _cull_back_faces(fm, head, cam)
    # The gaze is drawn whenever an eye point faces the camera, before the occluder's draws.
    gaze = rng.normal(0.0, 0.012, 2) if np.count_nonzero(fm.eye_mask[gidx]) else None
    # Surfaces beside the head grid (mouth patches, neck) and the on-face occluder; then the light.
    props = _Props(extra, fm.extra_albedo, fm.extra_spec, _mul_xyz(fm.neck, subject.scale), subject.skin * 0.95)
    occ = _occlude_face(occluder, rng, fm, subject, P, gidx, L, props)
    light = _draw_light(rng)
    # Rasterise: project, z-buffer; colour and shade only the points that won a pixel.
    u, v, Zc, neck_shown = _project(fm, P, props, cam, S)
    zkey, hit, win = _splat_zbuffer(u, v, Zc, S)
    pts, ph, pe, pn = _split_winners(win, len(u), len(P), len(props.extra))
    col, spec = _colour_head(fm, subject, au, P, gidx, ph, L, gaze, occ)
    N_all, C_all, K_all = _gather_surfaces(fm, head.normals, vis[ph], col, spec, pe, neck_shown[pn], props, cam.R)
    shaded = _shade(N_all, C_all, K_all, light)
    # Image: background (drawn here), splats, gap filling; landmarks, depth, image occluder, finish.
    img, zimg, filled = _compose(rng, S, clutter, shaded, pts, len(u), zkey, hit, win)
    lmk, visible, li, lj = _project_landmarks(L, cam, S, zimg, occ.lm_cov)
    depth = _depth_map(zimg, filled, cam.dist)
    if occluder in ("hand", "block"):
        depth = _occlude_image(occluder, rng, subject, img, depth, lmk, visible, li, lj)
    img = _degrade(img, rng, S) if degrade else _blur(img, 0.4 * S / 64)
    return RenderResult(image=_to_uint8(img), depth=depth, landmarks=lmk, visibility=visible)


# --------------------------------------------------------------------------------------------------
# Stages: pose and camera
# --------------------------------------------------------------------------------------------------
def _pose_head(fm: FaceModel, subject: Subject, coef: np.ndarray, yaw: float) -> _PosedHead:
    """Cut the longitudes that can face the camera at ``yaw`` out of the head grid, add the blendshapes
    ``coef [N_ID + N_AU]`` (positions and linearised normals), the hair volume and the head scale.
    Returns a :class:`_PosedHead` with ``points``/``normals`` ``[W, 3]`` (head frame, float32)."""
    nl = fm.n_lat
    scale = subject.scale
    # math.radians multiplies by the same double pi/180 as np.deg2rad, without a numpy scalar round trip
    centre_col = int(round((math.pi - math.radians(yaw)) / (2 * math.pi) * fm.n_lon - 0.5))  # longitude -yaw faces us
    half = int(math.ceil(math.radians(108) / (2 * math.pi) * fm.n_lon))
    a, b = centre_col - half, centre_col + half
    # Away from the longitude seam (|yaw| up to about 70) the columns are one slice: copy it, no gather.
    seam = not (0 <= a and b <= fm.n_lon)
    take = np.arange(a, b) % fm.n_lon if seam else slice(a, b)
    head = fm.head[take].copy()
    normals = fm.normals[subject.hair_style][take].copy()
    lo, hi = max(a, fm.front_lo), min(b, fm.front_hi)
    if hi > lo:
        blk = fm.basis_head[:, (lo - fm.front_lo) * nl * 6 : (hi - fm.front_lo) * nl * 6]
        delta = (coef @ blk).reshape(hi - lo, nl, 6)
        for c in range(3):  # channel by channel (see _mul_xyz)
            head[lo - a : hi - a, :, c] += delta[..., c]
            normals[lo - a : hi - a, :, c] += delta[..., 3 + c]
    head += subject.hair_volume * fm.hair_disp[subject.hair_style][take]
    head = _mul_xyz(head, scale, out=head).reshape(-1, 3)
    inv = np.empty_like(normals)
    for c in range(3):  # normals transform with the inverse scale
        np.divide(normals[..., c], scale[c], out=inv[..., c])
    return _PosedHead(a=a, seam=seam, take=take, points=head, normals=inv.reshape(-1, 3))


def _pose_extras(fm: FaceModel, coef: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mouth patches ``[E, 3]`` and the 68 landmarks ``[68, 3]`` deformed by ``coef [N_ID + N_AU]`` and
    scaled by ``scale [3]`` (head frame, float32; the patches a view of a fresh array)."""
    extra = (fm.extra + (coef @ fm.basis_extra).reshape(-1, 3)) * scale
    return extra[:-68], extra[-68:]


def _draw_camera(rng: np.random.Generator, yaw: float, pitch: float, roll: float, S: int) -> _Camera:
    """Rotate the head by (``yaw``, ``pitch``, ``roll``) and draw the perspective camera for an ``S``-pixel
    image: distance, focal length, and the mid-face centred with a jitter (draws 2 uniforms, 2 normals)."""
    R = rotation_matrix(yaw, pitch, roll).astype(np.float32)
    # One draw of consecutive uniforms: rng.uniform(lo, hi) is lo + (hi - lo) * u of the same doubles.
    u_dist, u_focal = rng.random(2).tolist()
    dist = 6.0 + (9.0 - 6.0) * u_dist
    focal = 0.5 * S * (0.9 + (1.08 - 0.9) * u_focal) * (dist - 0.8)
    mid = R @ np.array([0.0, -0.22, 0.75], dtype=np.float32)
    shift = rng.normal(0.0, 0.03 * S, 2)
    cam = np.array([mid[0], mid[1], dist], dtype=np.float32)  # camera position, rotated-head frame
    return _Camera(R=R, dist=dist, focal=focal, shift=shift, cam=cam, cam_h=R.T @ cam)


def _cull_back_faces(fm: FaceModel, head: _PosedHead, cam: _Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the head points whose normal faces the camera: their indices into the window ``vis [n]``, their
    positions ``P [n, 3]`` (a fresh float32 copy, head frame) and their indices into the full grid ``gidx [n]``."""
    nl = fm.n_lat
    points = head.points
    to_cam = np.empty_like(points)
    for c in range(3):
        np.subtract(cam.cam_h[c], points[:, c], out=to_cam[:, c])
    facing = _rowdot(head.normals, to_cam) > 0  # the sign needs no unit normals
    vis = _nonzero1d(facing)
    P = _take_rows(points, vis)
    # Index into the full head grid. Without the seam the window's points are the grid's from column a on,
    # so an offset does what an integer divmod (slow: ~10 ns an element) and a gather would.
    if head.seam:
        lon, lat = np.divmod(vis, nl)
        gidx = head.take[lon] * nl + lat
    else:
        gidx = vis + head.a * nl
    return vis, P, gidx


# --------------------------------------------------------------------------------------------------
# Stages: on-face occluder, light, projection, visibility
# --------------------------------------------------------------------------------------------------
def _occlude_face(
    occluder: str, rng: np.random.Generator, fm: FaceModel, subject: Subject, P: np.ndarray, gidx: np.ndarray,
    L: np.ndarray, props: _Props,
) -> _FaceOccluder:
    """Place an on-face occluder (sunglasses, mask, scarf, hair; draws its look): lift the facing head points
    ``P [n, 3]`` it covers (in place); a mask or scarf also spans the mouth cavity and a scarf recolours and
    widens the neck (``props``, updated). Its colour is applied after the z-buffer (:func:`.surface._colour_head`).
    Returns the coverage of the head points ``[n]`` and of the landmarks ``L [68, 3]`` (``[68]``)."""
    if occluder not in ("sunglasses", "mask", "scarf", "hair"):
        return _FaceOccluder(params=None, cov=None, lm_cov=np.zeros(68, dtype=np.float32))
    scale = subject.scale
    occ = _occluder_params(occluder, rng)
    cov = _occluder_cover(occ, P[:, 0], P[:, 1], fm.attr[gidx, A_THETA], L)
    sel = _nonzero1d(cov > 0.01)
    if sel.size:
        c = cov[sel]
        if occluder in ("mask", "scarf"):
            zbase = fm.attr[gidx[sel], A_ZBASE]
            lift = np.maximum(zbase * scale[2] + (0.1 if occluder == "mask" else 0.13) - P[sel, 2], 0)
        else:
            lift = np.float32(0.07 if occluder == "sunglasses" else 0.05)
        P[sel, 2] += lift * c
    if occluder in ("mask", "scarf"):
        # Fabric spans an open mouth: the cavity patch takes the fabric's colour and place.
        extra = props.extra
        ec = _occluder_cover(occ, extra[:, 0], extra[:, 1], np.zeros(len(extra)), L) > 0.5
        if np.count_nonzero(ec):
            props.e_col = props.e_col.copy()
            props.e_col[ec] = _occluder_albedo(occ, subject, extra[ec, 0], extra[ec, 1], extra[ec, 0])[0]
            extra[ec, 2] = fm.extra_zskin[:-68][ec] * scale[2] + 0.1
    if occluder == "scarf":
        neck = props.neck
        props.n_col = np.empty((len(neck), 3), dtype=np.float32)
        props.n_col[:] = props.neck_skin
        nc = neck[:, 1] > -2.0
        props.n_col[nc] = _occluder_albedo(occ, subject, neck[nc, 0], neck[nc, 1], neck[nc, 0])[0]
        props.neck = neck * np.array([1.2, 1.0, 1.2], dtype=np.float32) + np.array([0, 0, 0.03], dtype=np.float32)
    lm_cov = _occluder_cover(occ, L[:, 0], L[:, 1], np.arctan2(L[:, 0], L[:, 2]), L)
    return _FaceOccluder(params=occ, cov=cov, lm_cov=lm_cov)


def _draw_light(rng: np.random.Generator) -> _Light:
    """Draw the light direction, ambient and diffuse weights and the colour tint (eight uniforms, at once)."""
    u = rng.random(8)
    ul = u[:5].tolist()
    light = np.array(
        [-0.8 + (0.8 - -0.8) * ul[0], -0.1 + (0.9 - -0.1) * ul[1], 0.6 + (1.2 - 0.6) * ul[2]], dtype=np.float32
    )
    # np.linalg.norm of a 1-D float array is sqrt(x.dot(x)), at a fifth of the call's cost
    light /= np.sqrt(light.dot(light))
    halfv = light + np.array([0, 0, 1], dtype=np.float32)
    halfv /= np.sqrt(halfv.dot(halfv))
    ambient, diffuse = np.float32(0.35 + (0.55 - 0.35) * ul[3]), np.float32(0.45 + (0.75 - 0.45) * ul[4])
    tint = (1 + (-0.06 + (0.06 - -0.06) * u[5:])).astype(np.float32)
    return _Light(light=light, halfv=halfv, ambient=ambient, diffuse=diffuse, tint=tint)


def _project(
    fm: FaceModel, P: np.ndarray, props: _Props, cam: _Camera, S: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Perspective-project the facing head points ``P [n, 3]``, the mouth patches and the neck points that face
    the camera, in that order: image positions ``u, v [N]``, camera depths ``Zc [N]`` (float32) and the indices
    of the shown neck points ``[n_neck]``."""
    neck, extra = props.neck, props.extra
    neck_to_cam = np.empty_like(neck)
    for c in range(3):
        np.subtract(cam.cam[c], neck[:, c], out=neck_to_cam[:, c])
    n_facing = _rowdot(fm.neck_normals, neck_to_cam) > 0
    n_surf = len(P) + len(extra)
    neck_shown = _nonzero1d(n_facing)
    neck_vis = _take_rows(neck, neck_shown)
    Pc = np.empty((n_surf + len(neck_vis), 3), dtype=np.float32)
    np.matmul(np.concatenate([P, extra]), cam.R.T, out=Pc[:n_surf])
    Pc[n_surf:] = neck_vis
    Zc = cam.dist - Pc[:, 2]
    u = (S / 2 + cam.shift[0]) + (cam.focal * (Pc[:, 0] - cam.cam[0])) / Zc
    v = (S / 2 + cam.shift[1]) - (cam.focal * (Pc[:, 1] - cam.cam[1])) / Zc
    return u, v, Zc, neck_shown


def _split_winners(
    win: np.ndarray, n_points: int, n_head: int, n_extra: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The points that won a pixel (``win``, indices into the ``n_points`` projected), sorted ``pts [N]``, and
    split into head points ``ph``, mouth-patch points ``pe`` and neck points ``pn``, each indexing its own
    surface. Colour and shade run only on these (about a third)."""
    drawn = np.zeros(n_points, dtype=bool)
    drawn[win] = True
    pts = _nonzero1d(drawn)
    h_end = np.count_nonzero(drawn[:n_head])  # = np.searchsorted(pts, n_head): pts is drawn's sorted nonzeros
    e_end = h_end + np.count_nonzero(drawn[n_head : n_head + n_extra])
    return pts, pts[:h_end], pts[h_end:e_end] - n_head, pts[e_end:] - (n_head + n_extra)


# --------------------------------------------------------------------------------------------------
# Stages: colour, shade, compose, landmarks, depth
# --------------------------------------------------------------------------------------------------
def _gather_surfaces(
    fm: FaceModel, normals: np.ndarray, hv: np.ndarray, col: np.ndarray, spec: np.ndarray, pe: np.ndarray,
    neck_pts: np.ndarray, props: _Props, R: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit camera-frame normals ``[N, 3]``, albedo ``[3, N]`` and specular weight ``[N]`` of every drawn point:
    the head points (window indices ``hv [h]`` into ``normals [W, 3]``, colours ``col [3, h]``, ``spec [h]``),
    then the mouth-patch points ``pe`` (facing the camera) and the neck points ``neck_pts``."""
    Nv = _take_rows(normals, hv)
    norm = np.sqrt(_rowdot(Nv, Nv))
    for c in range(3):
        Nv[:, c] /= norm
    nh, ne = len(hv), len(pe)
    n = nh + ne + len(neck_pts)
    N_all = np.empty((n, 3), dtype=np.float32)
    np.matmul(Nv, R.T, out=N_all[:nh])
    N_all[nh : nh + ne] = R[:, 2]
    N_all[nh + ne :] = _take_rows(fm.neck_normals, neck_pts)
    C_all = np.empty((3, n), dtype=np.float32)  # [3, N], like col
    C_all[:, :nh] = col
    C_all[:, nh : nh + ne] = _take_rows(props.e_col, pe).T
    C_all[:, nh + ne :] = props.neck_skin[:, None] if props.n_col is None else _take_rows(props.n_col, neck_pts).T
    K_all = np.empty(n, dtype=np.float32)
    K_all[:nh] = spec
    K_all[nh : nh + ne] = props.e_spec[pe]
    K_all[nh + ne :] = 0.08
    return N_all, C_all, K_all


def _shade(N_all: np.ndarray, C_all: np.ndarray, K_all: np.ndarray, light: _Light) -> np.ndarray:
    """Lambert + Blinn-Phong (exponent 16) shading of points with unit normals ``N_all [N, 3]``, albedo
    ``C_all [3, N]`` and specular weight ``K_all [N]``: colours ``[N, 3]`` (C-contiguous rows, float32)."""
    ndl = np.maximum(N_all @ light.light, 0)  # unit vectors: the dot product never exceeds 1
    ndh = np.maximum(N_all @ light.halfv, 0)
    ndh *= ndh
    ndh *= ndh
    ndh *= ndh
    ndh *= ndh  # ** 16, by squaring
    shaded = C_all * ((light.ambient + light.diffuse * ndl) * light.tint[:, None]) + K_all * ndh * 0.6
    return np.ascontiguousarray(shaded.T)  # rows, for the row gather in _compose


def _compose(
    rng: np.random.Generator, S: int, clutter: bool, shaded: np.ndarray, pts: np.ndarray, n_points: int,
    zkey: np.ndarray, hit: np.ndarray, win: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the background (cluttered or plain grey), put each hit pixel's winning shaded point on it (``shaded
    [N, 3]`` rows of the drawn points ``pts [N]`` among ``n_points``), then close the splatting gaps. Returns
    the image ``[S, S, 3]``, the camera depth ``[S, S]`` (0 where empty) and the face mask ``[S, S]``."""
    # The splats go straight onto the background (drawn here: no random draw lies between), and the gap
    # filling weighs only filled neighbours, so the background under them never counts.
    img = _contiguous_copy(_background(rng, S)) if clutter else np.full((S, S, 3), 0.5, dtype=np.float32)
    rank = np.empty(n_points, dtype=np.int64)  # a drawn point's row in shaded (a cumsum of drawn, 3x faster)
    rank[pts] = np.arange(len(pts))
    _rows_view(img.reshape(-1, 3))[hit] = _rows_view(_take_rows(shaded, rank[win]))
    zflat = np.zeros(S * S, dtype=np.float32)
    zflat[hit] = (zkey[hit] >> 21).astype(np.int32).view(np.float32)
    return _fill_gaps(img, zflat.reshape(S, S))


def _project_landmarks(
    L: np.ndarray, cam: _Camera, S: int, zimg: np.ndarray, lm_cov: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Project the landmarks ``L [68, 3]`` (head frame): pixel positions ``[68, 2]`` (float32), visibility
    ``[68]`` (z-buffer test against ``zimg [S, S]``, on-face occluder coverage ``lm_cov [68]``, image bounds),
    and the pixel column and row of each ``[68]`` (clamped to the image)."""
    Lr = L @ cam.R.T
    lz = cam.dist - Lr[:, 2]
    # x and y together: x = (S/2 + shift_x) + t_x and y = (S/2 + shift_y) - t_y, as a sum with -t_y (exact).
    t = cam.focal * (Lr[:, :2] - cam.cam[:2]) / lz[:, None]
    t *= _FLIP_Y
    lmk = ((S / 2 + cam.shift) + t).astype(np.float32)
    lij = np.minimum(np.maximum(np.floor(lmk).astype(int), 0), S - 1)
    li, lj = lij[:, 0], lij[:, 1]
    inside = np.logical_and.reduce((lmk >= 0) & (lmk < S), axis=1)
    zat = zimg[lj, li]
    # Tolerance: a contour point on the silhouette shares its pixel with nearby nearer skin.
    visible = inside & ((zat == 0) | (lz <= zat + 0.2)) & (lm_cov < 0.5)
    return lmk, visible, li, lj


def _depth_map(zimg: np.ndarray, filled: np.ndarray, dist: float) -> np.ndarray:
    """Depth ``[S, S]`` in [0, 1] (float32) from camera depth ``zimg [S, S]``: 0 outside the mask ``filled``,
    larger nearer the camera at distance ``dist``."""
    # In place on a fresh array: the same float32 steps as clip((dist - z + 1.5) / 3, 0, 1) where filled, else 0.
    depth = dist - zimg
    depth += 1.5
    depth /= 3.0
    np.maximum(depth, 0.0, out=depth)
    np.minimum(depth, 1.0, out=depth)
    depth[~filled] = 0.0
    return depth
