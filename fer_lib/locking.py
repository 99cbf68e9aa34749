"""One key, one trainer: an atomic claim on a run-cache folder, so two processes never train the same run at once.

The run cache is the join point of everything that trains: two notebooks on one machine, two streams sharing
``runs/``, or the jobs of a SLURM array on a shared filesystem. Before training a key, :func:`claim` creates
``<run>/claim.json`` with ``O_CREAT | O_EXCL`` (atomic on local filesystems and on NFS v3+) naming its holder (host,
process id, SLURM job), and keeps it alive with a heartbeat (its modification time, touched every
:data:`HEARTBEAT_SECONDS`). Whoever finds the claim taken waits, printing once who holds it, until the claim goes
away (then it looks again: the run is usually complete by then) or goes stale:

* its holder ran on this host and its process is gone (a notebook that crashed, a job killed by SLURM and
  requeued here), or
* its heartbeat is older than :data:`STALE_SECONDS` (a holder on another node that died without cleaning up).

A stale claim is taken over; the new holder resumes the run from its last epoch checkpoint (the engine's resume).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLAIM_FILE = "claim.json"
#: How often a holder touches its claim.
HEARTBEAT_SECONDS = 30.0
#: A claim not touched for this long belongs to a holder that is gone.
STALE_SECONDS = 300.0


def holder() -> dict[str, Any]:
    """This process as a claim's holder: host, process id, SLURM job (when in one), when."""
    job = os.environ.get("SLURM_ARRAY_JOB_ID") and (f"{os.environ['SLURM_ARRAY_JOB_ID']}_"
                                                    f"{os.environ.get('SLURM_ARRAY_TASK_ID', '')}")
    return {"host": socket.gethostname(), "pid": os.getpid(), "slurm_job": job or os.environ.get("SLURM_JOB_ID"),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S")}


def describe(claim: dict[str, Any]) -> str:
    job = f", SLURM job {claim['slurm_job']}" if claim.get("slurm_job") else ""
    return f"process {claim.get('pid')} on {claim.get('host')}{job}, since {claim.get('since')}"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # gone, or being written this instant


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def stale_reason(path: Path, claim: dict[str, Any] | None, now: float | None = None) -> str | None:
    """Why the claim at ``path`` (its content ``claim``) belongs to a holder that is gone, or ``None`` (alive)."""
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return None  # released meanwhile: not stale, simply free
    if claim and claim.get("host") == socket.gethostname() and isinstance(claim.get("pid"), int) \
            and claim["pid"] != os.getpid() and not _alive(claim["pid"]):
        return f"its process {claim['pid']} on this host is gone"
    if age > STALE_SECONDS:
        return f"no heartbeat for {age:.0f} s"
    return None


class _Heartbeat(threading.Thread):
    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True, name=f"heartbeat {path.parent.name}")
        self.path, self.done = path, threading.Event()

    def run(self) -> None:
        while not self.done.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                os.utime(self.path)


def _try_create(path: Path, mine: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        json.dump(mine, handle)
    return True


@contextlib.contextmanager
def claim(run_dir: str | os.PathLike, poll_seconds: float = 5.0, quiet: bool = False) -> Iterator[dict[str, Any]]:
    """Hold the claim on ``run_dir`` (created if missing) for the ``with`` block, waiting while another live holder
    has it; yields this holder's record. The caller re-checks the cache inside the block: the run it waited for
    is usually complete by then."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CLAIM_FILE
    mine = holder()
    announced = False
    while not _try_create(path, mine):
        other = _read(path)
        reason = stale_reason(path, other)
        if reason:
            # Take over only the claim we judged: another waiter may have replaced it a moment ago.
            if _read(path) == other:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                if not quiet:
                    print(f"{run_dir.name}: taking over a stale claim ({reason}): "
                          f"{describe(other or {})}", flush=True)
            continue
        if not announced and not quiet:
            print(f"{run_dir.name} is being trained by {describe(other or {})}; waiting for it", flush=True)
            announced = True
        time.sleep(poll_seconds)
    beat = _Heartbeat(path)
    beat.start()
    try:
        yield mine
    finally:
        beat.done.set()
        if _read(path) == mine:  # never remove a claim someone took over from us
            path.unlink(missing_ok=True)


__all__ = ["CLAIM_FILE", "HEARTBEAT_SECONDS", "STALE_SECONDS", "claim", "describe", "holder", "stale_reason"]
