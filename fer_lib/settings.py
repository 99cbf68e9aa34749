"""A table notebook's settings, resolved once: :class:`RunContext`.

A notebook's parameters cell leaves ``None`` wherever the user did not choose; :meth:`RunContext.resolve`
turns them into the run's actual scale, dataset, device, seeds and output folder and prints them. The
protocols (:mod:`fer_lib.protocols`) read the context; the result table (:mod:`fer_lib.results`) records
it as provenance. Neither changes it: a context is frozen.

``data_root`` convention: a folder with one sub-folder per dataset, named as in :data:`DATASET_DIRS`
(``fer2013/``, ``ferplus/``, ``rafdb/``, ``ran_lists/`` ...), which is also the layout of the
development data in ``../shared/data``. A ``data_root`` that is itself a dataset's folder works too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fer_lib import papers
from fer_lib.cluster.spec import ExecutorSpec
from fer_lib.io import output_dir_for
from fer_lib.scales import check_scale, default_device, default_scale

#: Sub-folder of ``data_root`` holding each dataset.
DATASET_DIRS: dict[str, str] = {
    "fer2013": "fer2013",
    "ferplus": "ferplus",
    "rafdb": "rafdb",
    "ckplus": "ckplus",
    "jaffe": "jaffe",
    "affectnet": "affectnet",
    "bu3dfe": "bu3dfe",
    "bu3dfe-3d": "bu3dfe",
    "bosphorus": "bosphorus",
    "rgbd-pairs": "rgbd",
    "multipie": "multipie",
}


def dataset_root(data_root: str | os.PathLike, dataset: str) -> Path:
    """The folder of ``dataset`` under ``data_root`` (``data_root/<name>`` if present, else ``data_root``)."""
    base = dataset.split("-")[0]
    root = Path(data_root).expanduser()
    sub = root / DATASET_DIRS.get(base, base)
    return sub if sub.is_dir() else root


def data_kind_of(dataset: str) -> str:
    """``synthetic`` for the embedded SynthFER protocols, ``real`` otherwise."""
    return "synthetic" if dataset.startswith("synth") else "real"


def resolve_dataset(
    real_name: str,
    data_root: str | os.PathLike | None,
    synthetic_name: str = "synth-inthewild",
    **options: Any,
) -> tuple[str, str]:
    """``(dataset name, reason)``: ``real_name`` when its data is readable under ``data_root``, else
    ``synthetic_name`` with the reason (no data root, or the loader's layout error — e.g. RAF-DB's labels
    without its images)."""
    from fer_lib.data import load_dataset

    if data_root is None:
        return synthetic_name, "no data_root given"
    try:
        load_dataset(real_name, root=dataset_root(data_root, real_name), split="test", **options)
    except (FileNotFoundError, ValueError) as err:
        return synthetic_name, f"{real_name} not usable under {data_root}: {err}"
    return real_name, "real data found"


def resolve_scale(scale: str | None, data_root: str | os.PathLike | None = None) -> str:
    """``scale``, else ``FER_SCALE`` from the environment, else ``paper`` with CUDA and a data root, else ``cpu``."""
    return check_scale(scale or os.environ.get("FER_SCALE") or default_scale(data_root))


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Where and how one execution of a paper table's notebook runs (resolved, immutable)."""

    paper: str
    table: str
    scale: str
    #: The table's main dataset (protocols may use others per column; each cell records its own).
    dataset: str
    data_root: Path | None
    device: str
    seeds: tuple[int, ...]
    output_dir: Path
    #: ``real``, ``synthetic``, or ``none`` for a table that reads no data (e.g. complexity measurements).
    data_kind: str
    #: The ``paper`` recipes cut to two optimiser steps and one evaluation batch per run
    #: (:func:`fer_lib.recipes.dry_run_recipe`), written to a scratch folder with its own run cache.
    dry_run: bool = False
    #: Where the table's trainings run (:class:`fer_lib.cluster.spec.ExecutorSpec`): ``None`` in this process.
    executor: ExecutorSpec | None = None

    @classmethod
    def resolve(
        cls,
        paper: str,
        table: str,
        scale: str | None = None,
        dataset: str | None = None,
        data_root: str | os.PathLike | None = None,
        device: str | None = None,
        seeds: Sequence[int] = (0,),
        output_dir: str | os.PathLike | None = None,
        real_dataset: str | None = None,
        synthetic_dataset: str = "synth-inthewild",
        reads_data: bool = True,
        quiet: bool = False,
        dry_run: bool = False,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> RunContext:
        """Resolve a notebook's parameters.

        ``scale=None`` follows :func:`resolve_scale`. ``dataset=None`` takes ``real_dataset`` when
        ``data_root`` is given, else ``synthetic_dataset``. ``output_dir=None`` follows
        :func:`fer_lib.io.output_dir_for`.
        ``reads_data=False``: the table reads no dataset (``dataset`` only describes its input, e.g.
        ``"random input"``) and its cells are of data kind ``none``. Prints the context unless ``quiet``.
        ``dry_run``: the ``paper`` scale's recipes for two optimiser steps per run and one evaluation batch,
        into ``runs/dry-run/<paper>`` (never ``results/``); a dry run of another scale is an error.
        ``executor``: ``"local"`` (``None``: train here), ``"submitit-local"`` or ``"slurm"``: each training the run
        cache lacks runs as a job, with ``executor_options`` (``partition``, ``gpus_per_job``, ``cpus_per_job``,
        ``time_min``, ``array_parallelism``; :class:`fer_lib.cluster.spec.ExecutorSpec`).
        """
        if paper not in papers.PAPERS:
            raise ValueError(f"unknown paper {paper!r}; expected one of {', '.join(papers.PAPERS)}")
        if dry_run and scale not in (None, "paper"):
            raise ValueError(f"a dry run runs the paper scale's recipes; got scale={scale!r}")
        scale = "paper" if dry_run else resolve_scale(scale, data_root)
        root = Path(data_root).expanduser() if data_root else None
        if dataset is None:
            dataset = real_dataset if (root and real_dataset) else synthetic_dataset
        data_kind = data_kind_of(dataset) if reads_data else "none"
        if data_kind == "real" and root is None:
            raise ValueError(f"dataset {dataset!r} is real data: pass data_root= (the folder holding your copy)")
        seeds = tuple(int(s) for s in seeds)
        if not seeds:
            raise ValueError("seeds must name at least one seed")
        context = cls(paper=paper, table=str(table).lower(), scale=scale, dataset=dataset, data_root=root,
                      device=device or default_device(), seeds=seeds,
                      output_dir=Path(output_dir) if output_dir else output_dir_for(paper, scale, dry_run),
                      data_kind=data_kind, dry_run=bool(dry_run),
                      executor=_executor(executor, executor_options, dry_run))
        if not quiet:
            print(context.banner())
        return context

    def banner(self) -> str:
        where = f" | trainings as {self.executor.kind} jobs" if self.executor else ""
        warn = "  (SYNTHETIC data: numbers are not comparable to the paper's)" if self.data_kind == "synthetic" else ""
        dry = "DRY RUN (2 optimiser steps per run, 1 evaluation batch) | " if self.dry_run else ""
        return (f"{dry}{self.paper} table {self.table.upper()} | scale={self.scale} | dataset={self.dataset} "
                f"[{self.data_kind}]{warn} | device={self.device} | seeds={list(self.seeds)} | "
                f"output -> {self.output_dir}{where}")


def _executor(kind: str | None, options: Mapping[str, Any] | None, dry_run: bool) -> ExecutorSpec | None:
    spec = ExecutorSpec(kind or "local", **dict(options or {}))
    if spec.remote and dry_run:
        raise ValueError("a dry run proves the paper path in this process: run it with executor='local'")
    return spec if spec.remote else None


__all__ = ["DATASET_DIRS", "RunContext", "data_kind_of", "dataset_root", "resolve_dataset", "resolve_scale"]
