"""What a trained model looks at: Grad-CAM and Grad-CAM++ maps, overlays, grid figures and a widget explorer.

One concern per module::

    cam.py       the maps: which layer is explained (target_layer, candidate_layers, layer_map_sizes ...),
                 compute_cams, predict_proba, METHODS; models are read through
                 fer_lib.models.outputs.TensorOutput (the library's one tensor-output wrapper)
    figures.py   drawing: to_image01, overlay, png_bytes, cam_grid_figure, save_figure, save_grid,
                 probability_chart
    widget.py    CamExplorer (the ipywidgets interface of notebooks/explore/gradcam.ipynb),
                 check_compatible, spread_indices

Trained runs are read back by :mod:`fer_lib.runs` (:func:`~fer_lib.runs.load_run`,
:func:`~fer_lib.runs.run_choices`, :class:`~fer_lib.runs.LoadedRun`); they are re-exported here, as is
:class:`~fer_lib.models.outputs.TensorOutput`, so a notebook needs one import::

    from fer_lib import explain
    run = explain.load_run("runs/resnet18-<key>")
    fig = explain.cam_grid_figure(run.model, dataset, [0, 1], methods=("gradcam", "gradcam++"))
"""

from __future__ import annotations

from fer_lib.explain.cam import (
    METHODS,
    PREDICTED,
    TRUE_LABEL,
    candidate_layers,
    compute_cams,
    input_channels,
    layer_map_sizes,
    layer_modality,
    layer_name,
    map_concentration,
    model_input_size,
    predict_proba,
    target_layer,
)
from fer_lib.explain.figures import (
    cam_comparison_figure,
    cam_grid_figure,
    input_face,
    modality_cam_figure,
    modality_layers,
    overlay,
    png_bytes,
    probability_chart,
    save_figure,
    save_grid,
    to_image01,
)
from fer_lib.explain.widget import CamExplorer, check_compatible, spread_indices
from fer_lib.models.outputs import TensorOutput, unwrap
from fer_lib.runs import LoadedRun, load_run, run_choices

__all__ = [
    "cam_comparison_figure",
    "METHODS",
    "PREDICTED",
    "TRUE_LABEL",
    "CamExplorer",
    "LoadedRun",
    "TensorOutput",
    "cam_grid_figure",
    "input_face",
    "layer_modality",
    "modality_cam_figure",
    "modality_layers",
    "candidate_layers",
    "check_compatible",
    "compute_cams",
    "input_channels",
    "layer_map_sizes",
    "layer_name",
    "load_run",
    "map_concentration",
    "model_input_size",
    "overlay",
    "png_bytes",
    "predict_proba",
    "probability_chart",
    "run_choices",
    "save_figure",
    "save_grid",
    "spread_indices",
    "target_layer",
    "to_image01",
    "unwrap",
]
