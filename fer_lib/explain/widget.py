"""The ipywidgets interface of ``notebooks/explore/gradcam.ipynb``: :class:`CamExplorer`.

One model's maps, sample by sample, with run / dataset / split / filter / sample / class / method /
layer controls. Runs are read through :func:`fer_lib.runs.load_run` (:class:`fer_lib.runs.LoadedRun`);
the maps come from :mod:`fer_lib.explain.cam` and the images from :mod:`fer_lib.explain.figures`.
:func:`check_compatible` checks a run against a dataset before it is shown, :func:`spread_indices`
picks the samples that get predictions for the correct/wrong filter.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from fer_lib.explain.cam import (
    METHODS,
    candidate_layers,
    compute_cams,
    input_channels,
    layer_map_sizes,
    model_input_size,
    predict_proba,
    sample_inputs,
)
from fer_lib.explain.figures import input_face, overlay, png_bytes, probability_chart
from fer_lib.runs import LoadedRun, load_run


def check_compatible(run: LoadedRun, dataset, image_size: int | None = None) -> None:
    """Raise a ``ValueError`` unless ``run.model`` gives one output per class of ``dataset``."""
    size = image_size or run.image_size or model_input_size(run.model, 64)
    x = torch.zeros(1, input_channels(run.model), size, size, device=next(run.model.parameters()).device)
    outputs = predict_proba(run.model, x).shape[1]
    classes = len(getattr(dataset, "classes", []))
    if outputs != classes:
        raise ValueError(f"{run.label()} has {outputs} outputs but {getattr(dataset, 'name', 'the dataset')} has "
                         f"{classes} classes")


def model_view(run: LoadedRun, dataset):
    """``dataset`` as ``run``'s model reads it: a model whose data follow its ``modalities`` option (CM-CNN,
    ``ModelFamily.data_options``) reads each face's modalities packed into the channels
    (:class:`fer_lib.data.modalities.ModalityImages`, with the modalities the run trained on); any other model,
    the dataset itself. Raises a ``ValueError`` where the dataset cannot give them (depth from 2-D faces)."""
    from fer_lib.data.modalities import ModalityImages
    from fer_lib.models.registry import list_models, model_defaults, model_family

    name = run.spec.get("model")
    if name not in list_models() or "modalities" not in model_family(name).data_options:
        return dataset
    return ModalityImages(dataset, run.setting("modalities") or model_defaults(name)["modalities"])


def spread_indices(n: int, limit: int | None) -> np.ndarray:
    """``limit`` indices spread evenly over ``range(n)`` (all of them when ``limit`` is None or >= n)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


class CamExplorer:
    """An ipywidgets interface to inspect one model's maps sample by sample.

    Controls: run (from the cache) or checkpoint path, dataset and split, a correct/wrong filter,
    sample (slider, previous/next buttons, index box), target class (predicted by default), method
    and layer. Views: the face, the map overlay, the probability bar chart and the true label.

    ``load_model(source) -> LoadedRun`` and ``load_data(name, split, image_size) -> FERDataset`` are
    injected so the class runs (and is tested) without a run cache or real data.
    ``display_size``: the side in pixels of the face and overlay images.
    """

    def __init__(
        self,
        run: LoadedRun,
        dataset,
        dataset_name: str,
        split: str,
        load_model: Callable[[str], LoadedRun] = load_run,
        load_data: Callable[[str, str, int], Any] | None = None,
        runs: Sequence[tuple[str, str]] = (),
        datasets: Sequence[str] = (),
        splits: Sequence[str] = ("test", "train"),
        max_samples: int | None = 400,
        display_size: int = 224,
        default_image_size: int = 64,
    ) -> None:
        import ipywidgets as W

        self.load_model = load_model
        self.load_data = load_data
        self.max_samples = max_samples
        self.display_size = display_size
        self.default_image_size = default_image_size
        self._hold = False
        self.run = run
        #: The dataset as loaded, and (``dataset``) as the run's model reads it (:func:`model_view`).
        self.source_dataset = dataset
        self.dataset = dataset
        self.last_error: str | None = None
        #: The dataset index on display (the index box can show one outside the filtered pool).
        self.shown_index: int | None = None

        run_options = list(runs) or [(run.label(), str(run.source))]
        if str(run.source) not in [v for _, v in run_options]:
            run_options.insert(0, (run.label(), str(run.source)))
        self.run_picker = W.Dropdown(options=run_options, value=str(run.source), description="run",
                                     layout=W.Layout(width="460px"))
        self.checkpoint = W.Text(placeholder="or a run folder / checkpoint path", layout=W.Layout(width="330px"))
        self.load_button = W.Button(description="load", layout=W.Layout(width="70px"))
        names = list(datasets) or [dataset_name]
        if dataset_name not in names:
            names.insert(0, dataset_name)
        self.dataset_picker = W.Dropdown(options=names, value=dataset_name, description="dataset",
                                         layout=W.Layout(width="260px"))
        split_names = list(splits) if split in splits else [split, *splits]
        self.split_picker = W.Dropdown(options=split_names, value=split, description="split",
                                       layout=W.Layout(width="150px"))
        self.filter = W.Dropdown(options=[("all samples", "all"), ("correct predictions", "correct"),
                                          ("wrong predictions", "wrong")], value="all", description="show",
                                 layout=W.Layout(width="240px"))
        self.sample = W.IntSlider(min=0, max=0, value=0, description="sample", continuous_update=False,
                                  layout=W.Layout(width="420px"))
        self.prev_button = W.Button(description="◀ prev", layout=W.Layout(width="80px"))
        self.next_button = W.Button(description="next ▶", layout=W.Layout(width="80px"))
        self.index_box = W.BoundedIntText(min=0, max=max(len(dataset) - 1, 0), value=0, description="index",
                                          layout=W.Layout(width="150px"))
        self.target = W.Dropdown(description="explain", layout=W.Layout(width="240px"))
        self.method = W.Dropdown(options=[(v, k) for k, v in METHODS.items()], value="gradcam++",
                                 description="method", layout=W.Layout(width="200px"))
        self.layer = W.Dropdown(description="layer", layout=W.Layout(width="260px"))
        self.face_view = W.Image(format="png", layout=W.Layout(width=f"{display_size}px"))
        self.overlay_view = W.Image(format="png", layout=W.Layout(width=f"{display_size}px"))
        self.chart_view = W.Image(format="png", layout=W.Layout(width="340px"))
        self.info = W.HTML()
        self.status = W.HTML()
        for control in (self.run_picker, self.dataset_picker, self.split_picker, self.filter, self.sample,
                        self.index_box, self.target, self.method, self.layer):
            control.style.description_width = "initial"  # labels as wide as their text, not a fixed column
        # CSS classes so a browser test (tests/browser/) can find the views.
        for widget, cls in ((self.face_view, "fer-cam-face"), (self.overlay_view, "fer-cam-overlay"),
                            (self.chart_view, "fer-cam-chart"), (self.info, "fer-cam-info"),
                            (self.status, "fer-cam-status"), (self.sample, "fer-cam-sample"),
                            (self.next_button, "fer-cam-next"), (self.prev_button, "fer-cam-prev")):
            widget.add_class(cls)

        def titled(view, title):
            return W.VBox([W.HTML(f"<b>{title}</b>"), view])

        self.widget = W.VBox([
            W.HBox([self.run_picker, self.checkpoint, self.load_button]),
            W.HBox([self.dataset_picker, self.split_picker, self.filter]),
            W.HBox([self.sample, self.prev_button, self.next_button, self.index_box]),
            W.HBox([self.target, self.method, self.layer]),
            W.HBox([titled(self.face_view, "face"), titled(self.overlay_view, "map overlay"),
                    titled(self.chart_view, "class probabilities")]),
            self.info,
            self.status,
        ])
        self.widget.add_class("fer-cam-app")

        self._set_model(run)
        self._set_dataset(dataset)
        self.run_picker.observe(self._safe(self._on_run), names="value")
        self.load_button.on_click(self._safe(lambda _b: self.load_source(self.checkpoint.value.strip())))
        self.dataset_picker.observe(self._safe(self._on_data), names="value")
        self.split_picker.observe(self._safe(self._on_data), names="value")
        self.filter.observe(self._safe(lambda _c: self._refilter()), names="value")
        self.sample.observe(self._safe(lambda _c: self.update()), names="value")
        self.prev_button.on_click(self._safe(lambda _b: self.step(-1)))
        self.next_button.on_click(self._safe(lambda _b: self.step(+1)))
        self.index_box.observe(self._safe(self._on_index), names="value")
        for control in (self.target, self.method, self.layer):
            control.observe(self._safe(lambda _c: self.update()), names="value")

    # -- state changes ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """Change several controls without one update per change."""
        previous, self._hold = self._hold, True
        try:
            yield
        finally:
            self._hold = previous

    def _safe(self, fn: Callable) -> Callable:
        """A widget callback that shows an error in the status line instead of losing it in the log."""

        def call(*args):
            try:
                fn(*args)
            except Exception as err:  # noqa: BLE001 -- any failure must reach the user, not the kernel log
                self.last_error = f"{type(err).__name__}: {err}"
                self.status.value = f"<span style='color:firebrick'>{html.escape(self.last_error)}</span>"

        return call

    @property
    def image_size(self) -> int:
        """The model's input side: from its run spec, else its ``image_size`` attribute, else the default."""
        return self.run.image_size or model_input_size(self.run.model, self.default_image_size)

    def _set_model(self, run: LoadedRun) -> None:
        self.run = run
        self.model = run.model.eval()
        self.map_sizes = layer_map_sizes(self.model, self.image_size)
        with self._held():
            self.layer.options = candidate_layers(self.model, self.image_size, sizes=self.map_sizes)
            self.layer.value = self.layer.options[0] if self.layer.options else None

    def _set_dataset(self, dataset) -> None:
        from fer_lib.data.transforms import build_transform

        self.source_dataset = dataset
        self.dataset = dataset = model_view(self.run, dataset)
        # The evaluation transform of the run's own profile: its normalisation (CM-CNN's modalities have none).
        dataset.transform = build_transform(self.run.setting("transform") or "eval", self.image_size, train=False)
        self.pool = spread_indices(len(dataset), self.max_samples)
        images, _ = sample_inputs(dataset, self.pool, None)
        self.probs = predict_proba(self.model, images)
        self.classes = list(getattr(dataset, "classes", [])) or [str(k) for k in range(self.probs.shape[1])]
        if self.probs.shape[1] != len(self.classes):
            raise ValueError(f"the model has {self.probs.shape[1]} outputs but {getattr(dataset, 'name', 'the data')}"
                             f" has {len(self.classes)} classes")
        self.preds = self.probs.argmax(1)
        self.truth = np.asarray(dataset.targets)[self.pool]
        with self._held():
            options = [("predicted", -1), ("true label", -2)] + [(c, k) for k, c in enumerate(self.classes)]
            self.target.options = options
            self.target.value = -1
            self.index_box.max = max(len(dataset) - 1, 0)
        self._refilter()

    def _refilter(self) -> None:
        correct = self.preds == self.truth
        mask = {"all": np.ones_like(correct), "correct": correct, "wrong": ~correct}[self.filter.value]
        self.positions = np.flatnonzero(mask)  # positions into self.pool
        with self._held():
            self.sample.max = max(len(self.positions) - 1, 0)
            self.sample.value = 0
        self.update()

    def _on_run(self, change) -> None:
        if not self._hold:
            self.load_source(change["new"])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """On an error, put the model, data and controls back as they were (then re-raise)."""
        names = ("run", "model", "map_sizes", "dataset", "source_dataset", "pool", "probs", "classes", "preds", "truth",
                 "positions")
        saved = {k: getattr(self, k) for k in names if hasattr(self, k)}
        transform = getattr(self.dataset, "transform", None)
        controls = [(c, c.options, c.value) for c in (self.run_picker, self.layer, self.target)]
        controls += [(c, None, c.value) for c in (self.dataset_picker, self.split_picker, self.index_box)]
        try:
            yield
        except Exception:
            for k, v in saved.items():
                setattr(self, k, v)
            self.dataset.transform = transform
            with self._held():
                for control, options, value in controls:
                    if options is not None:
                        control.options = options
                    control.value = value
            raise

    def load_source(self, source: str) -> None:
        """Load a run folder or checkpoint and recompute everything (nothing changes if that fails)."""
        if not source:
            raise ValueError("type a run folder or checkpoint path first")
        self.status.value = f"loading {html.escape(source)} ..."
        with self._transaction():
            run = self.load_model(source)
            self._set_model(run)
            with self._held():
                if source not in [v for _, v in self.run_picker.options]:
                    self.run_picker.options = [*self.run_picker.options, (run.label(), source)]
                self.run_picker.value = source
            self._set_dataset(self._data_for(run))

    def _data_for(self, run: LoadedRun):
        """The data shown with a newly loaded run: the data on display when its model can read them, else (a
        CM-CNN with depth after a model of 2-D faces) the run's own dataset, where a loader was given."""
        try:
            model_view(run, self.source_dataset)
            return self.source_dataset
        except ValueError:
            own = run.spec.get("dataset")
            if self.load_data is None or not own:
                raise
            with self._held():
                if own not in self.dataset_picker.options:
                    self.dataset_picker.options = [*self.dataset_picker.options, own]
                self.dataset_picker.value = own
            return self.load_data(own, self.split_picker.value, self.image_size)

    def _on_data(self, _change) -> None:
        if self._hold:
            return
        if self.load_data is None:
            raise RuntimeError("this explorer was built without a dataset loader")
        self.status.value = "loading data ..."
        with self._transaction():
            self._set_dataset(self.load_data(self.dataset_picker.value, self.split_picker.value, self.image_size))

    def _on_index(self, change) -> None:
        if self._hold:
            return
        index = int(change["new"])
        hits = np.flatnonzero(self.pool[self.positions] == index) if len(self.positions) else []
        if len(hits):
            self.sample.value = int(hits[0])
            return
        self.show_index(index)

    def step(self, delta: int) -> None:
        """Move the sample slider by ``delta`` (wrapping around)."""
        if len(self.positions):
            self.sample.value = (self.sample.value + delta) % len(self.positions)

    # -- rendering ----------------------------------------------------------------------------
    def current_index(self) -> int | None:
        """The dataset index of the sample on display (``None`` when the filter leaves nothing)."""
        if not len(self.positions):
            return None
        return int(self.pool[self.positions[min(self.sample.value, len(self.positions) - 1)]])

    def update(self) -> None:
        """Recompute and redraw the current sample (also callable directly, e.g. headless)."""
        if self._hold:
            return
        index = self.current_index()
        if index is None:
            self.shown_index = None
            self.face_view.value = self.overlay_view.value = self.chart_view.value = b""
            self.info.value = f"no <i>{self.filter.value}</i> predictions among {len(self.pool)} samples"
            self.status.value = ""
            return
        self.show_index(index)

    def show_index(self, index: int) -> None:
        """Draw dataset sample ``index`` (it need not be in the filtered pool)."""
        self.shown_index = index
        image, truth = sample_inputs(self.dataset, [index], None)
        probs = predict_proba(self.model, image)[0]
        pred = int(probs.argmax())
        true = int(truth[0])
        target = {-1: pred, -2: true}.get(self.target.value, self.target.value)
        cam = compute_cams(self.model, image, [target], self.method.value, self.layer.value)[0]
        face = input_face(self.model, image[0], self.layer.value)
        self.face_view.value = png_bytes(face, self.display_size)
        self.overlay_view.value = png_bytes(overlay(face, cam), self.display_size)
        self.chart_view.value = probability_chart(probs, self.classes, true, target)
        verdict = "<span style='color:darkgreen'>correct</span>" if pred == true else \
            "<span style='color:firebrick'>wrong</span>"
        with self._held():
            self.index_box.value = index
        c = self.classes
        self.info.value = (
            f"sample <b>#{index}</b> of {html.escape(str(getattr(self.dataset, 'name', 'dataset')))} "
            f"({html.escape(self.split_picker.value)}) &middot; true label: <b>{html.escape(c[true])}</b> &middot; "
            f"predicted: <b>{html.escape(c[pred])}</b> ({probs[pred]:.2f}, {verdict}) &middot; explaining "
            f"<b>{html.escape(c[target])}</b> with {METHODS[self.method.value]} on <code>{self.layer.value}</code> "
            f"({'x'.join(map(str, self.map_sizes.get(self.layer.value, ('?', '?'))))} map, "
            f"{self.image_size} px input) "
            f"&middot; {len(self.positions)} of {len(self.pool)} samples shown"
        )
        self.status.value = ""
        self.last_error = None

    def display(self):
        """The widget tree (display it in a notebook)."""
        return self.widget


__all__ = ["CamExplorer", "check_compatible", "model_view", "spread_indices"]
