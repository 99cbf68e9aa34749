"""Atomic file writes and project paths.

Every result and checkpoint is written to a temporary file in the target directory and renamed
into place, so an exception or an interrupted run never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it vanishes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """``open`` for writing that only replaces ``path`` if the ``with`` block completes."""
    if not any(m in mode for m in "wx"):
        raise ValueError("atomic_open is for writing ('w' or 'wb')")
    with atomic_path(path) as tmp, open(tmp, mode.replace("x", "w"), **kwargs) as handle:
        yield handle


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_save(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` (e.g. ``torch.save``, ``fig.savefig``) and move the result into place."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def repo_root() -> Path:
    """The project checkout (the folder holding ``pyproject.toml`` above this package)."""
    here = Path(__file__).resolve().parent
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file() and (candidate / "fer_lib").is_dir():
            return candidate
    return Path.cwd()


def runs_root() -> Path:
    """Where trained models are cached (git-ignored); ``FER_RUNS_DIR`` overrides it."""
    return Path(os.environ.get("FER_RUNS_DIR", repo_root() / "runs"))


def default_cache_dir() -> Path:
    """Where values computed from a user's data are kept between processes: ``$FER_LIB_CACHE`` or
    ``~/.cache/fer_lib``."""
    return Path(os.environ.get("FER_LIB_CACHE", Path.home() / ".cache" / "fer_lib"))


def code_keyed_cache_file(kind: str, parts: Iterable[str | bytes], modules: Iterable[ModuleType],
                          suffix: str = ".pt") -> Path:
    """``<cache>/<kind>/<digest><suffix>``: the file for values computed from ``parts`` by the code of
    ``modules``. The digest covers both, so an edit to that code makes a new file instead of reading a stale one
    (each file's writer replaces it atomically; nothing prunes the old ones)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
    for module in modules:
        digest.update(inspect.getsource(module).encode())
    return default_cache_dir() / kind / f"{digest.hexdigest()[:24]}{suffix}"


def results_root() -> Path:
    """The committed results folder; ``FER_RESULTS_DIR`` overrides it."""
    return Path(os.environ.get("FER_RESULTS_DIR", repo_root() / "results"))


def output_dir_for(group: str, scale: str, dry_run: bool = False) -> Path:
    """Where a notebook of ``group`` (a paper, ``explore`` ...) writes its results at ``scale``.

    ``results/<group>`` — except at the ``smoke`` scale, whose outputs prove a code path and go to
    ``runs/smoke-results/<group>`` so that CI never overwrites committed results, and for a dry run
    (:func:`fer_lib.recipes.dry_run_recipe`), which goes to ``runs/dry-run/<group>`` with its own run cache.
    The one place this rule lives.
    """
    if dry_run:
        return runs_root() / "dry-run" / group
    if scale == "smoke":
        return runs_root() / "smoke-results" / group
    return results_root() / group


def figure_sort_key(path: Path) -> tuple[str, int, str]:
    """Sort key for ``<paper>/figure_<n>.*`` paths: by paper, then by number (figure_9 before figure_10)."""
    return path.parent.name, len(path.stem), path.stem


def shared_data_root() -> Path | None:
    """The real development data (``../shared/data`` beside the checkout or ``FER_SHARED_DATA``), if present."""
    env = os.environ.get("FER_SHARED_DATA")
    candidate = Path(env) if env else repo_root().parent / "shared" / "data"
    return candidate if candidate.is_dir() else None
