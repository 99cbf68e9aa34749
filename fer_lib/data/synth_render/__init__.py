"""SynthFER's renderer: a parametric 3-D head with action-unit blendshapes, drawn by point splatting.

The head is an egg-shaped ellipsoid sampled on a (longitude, latitude) grid with facial relief (nose,
eye sockets, brow ridge, cheekbones, lips, chin, ears) added as height. Identity traits and facial
action units (AUs) are linear blendshapes: displacement fields over the canonical surface, evaluated
once per grid resolution, so one sample costs one small matrix product. The 68 iBUG landmarks are
points of the same model (rows appended to the surface), so they move exactly with the skin.
Colours (skin, lips, eyes, brows, hair, wrinkles, on-face occluders) are functions of the deformed
head-frame positions relative to the deformed landmarks, so they stay attached to the face under pose.

Rendering: rotate (yaw, pitch, roll), cull back faces, perspective-project, resolve self-occlusion
with a z-buffer (``np.minimum.at``), shade (Lambert + Blinn-Phong) and composite over a cluttered
background; hand and block occluders are drawn in image space; blur and sensor noise finish it.

Coordinates (head frame, canonical units; the head is about 1.85 wide and 2.5 tall): ``x`` to the
viewer's right, ``y`` up, ``z`` towards the camera; eyes at ``y ~ 0.06``, mouth at ``y ~ -0.68``.
Positive yaw turns the nose to the viewer's right, positive pitch lifts the chin, positive roll turns
the face anticlockwise in the image.

Modules:

- ``fields``: smoothsteps, Gaussian bumps, soft lines, landmark curves, a fast clip.
- ``geometry``: shape constants, AU and trait names, the 68 landmarks, relief, blendshape fields,
  :func:`rotation_matrix`, grid normals.
- ``texture``: canonical texture maps (skin, hair styles, eyes, lids, brows, lips, beard, wrinkles).
- ``model``: :class:`FaceModel` and :func:`face_model` (built and cached once per grid resolution),
  :func:`grid_size`.
- ``subject``: :class:`Subject`, :func:`sample_subject`.
- ``expression``: EMFACS prototypes and neighbours, :func:`expression_coefficients`.
- ``occluders``: :data:`OCCLUDERS`, on-face occluder cover and material, hand and block occluders.
- ``surface``: per-sample albedo of the drawn head points (skin to eyes and hair, occluder material).
- ``raster``: the splat z-buffer, gap filling, pixel grids, fast row gathers and channel-wise arithmetic.
- ``background``: background clutter, degradations (gain, contrast, greyscale, blur, noise), 8-bit output.
- ``render``: :class:`RenderResult` and :func:`render_face`, whose stages run in this order:

  ============================  =================================================  ==============
  stage                         what it does                                       file
  ============================  =================================================  ==============
  ``_pose_head``                window of facing longitudes, blendshapes, hair,    render
                                scale
  ``_pose_extras``              deformed mouth patches and landmarks               render
  ``_draw_camera``              rotation, distance, focal length, centring jitter  render
  ``_cull_back_faces``          head points that face the camera                   render
  (gaze draw)                   eye direction, when an eye point faces the camera  render
  ``_occlude_face``             sunglasses / mask / scarf / hair: lift, cover      render
  ``_draw_light``               light direction, ambient, diffuse, tint            render
  ``_project``                  perspective projection of head, mouth, neck        render
  ``_splat_zbuffer``            2x2 splats, nearest point per pixel                raster
  ``_split_winners``            drawn points per surface                           render
  ``_colour_head``              albedo of drawn head points, occluder material     surface
  ``_gather_surfaces``          normals, albedo, specular of every drawn point     render
  ``_shade``                    Lambert + Blinn-Phong                              render
  ``_compose``                  background, splats, gap filling                    render
  ``_project_landmarks``        landmark pixels and visibility                     render
  ``_depth_map``                depth image                                        render
  ``_occlude_image``            hand / block over the image                        occluders
  ``_degrade`` (or ``_blur``)   gain, contrast, greyscale, blur, sensor noise      background
  ``_to_uint8``                 clip and round to 8 bits                           background
  ============================  =================================================  ==============

Every random draw of a sample comes from the caller's generator in the order above, so a fixed generator
state gives byte-identical output (``scripts/synth_reference.py`` checks a change against saved renders).
"""

from __future__ import annotations

from .background import _blur
from .expression import BORROW_SHARE, EXPRESSION_AUS, EXPRESSION_NEIGHBOURS, NOISE_GAIN, expression_coefficients
from .geometry import (
    AU_INDEX,
    AU_NAMES,
    HEAD_A,
    HEAD_B,
    HEAD_C,
    HINGE_Y,
    HINGE_Z,
    ID_NAMES,
    MOUTH_Y,
    N_AU,
    N_ID,
    rotation_matrix,
)
from .model import FaceModel, face_model, grid_size
from .occluders import OCCLUDERS
from .render import RenderResult, render_face
from .subject import Subject, sample_subject
from .texture import BROW_THICK, BROW_THIN, N_HAIR_STYLES

# The face model's attribute-table layout (model.A_*, N_ATTR, EXTRA_*) stays internal to model and surface.
__all__ = [
    "AU_INDEX", "AU_NAMES", "BORROW_SHARE", "BROW_THICK", "BROW_THIN", "EXPRESSION_AUS", "EXPRESSION_NEIGHBOURS",
    "HEAD_A", "HEAD_B", "HEAD_C", "HINGE_Y", "HINGE_Z", "ID_NAMES", "MOUTH_Y", "N_AU", "N_HAIR_STYLES", "N_ID",
    "NOISE_GAIN", "OCCLUDERS", "FaceModel", "RenderResult", "Subject",
    "expression_coefficients", "face_model", "grid_size", "render_face", "rotation_matrix", "sample_subject",
    "_blur",  # tests/data/test_synth.py checks the blur directly
]  # fmt: skip
