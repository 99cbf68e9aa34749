"""A real single-node SLURM cluster on this machine: for the cluster tests and for trying ``EXECUTOR=slurm`` here.

:class:`LocalSlurm` writes everything into one folder and touches nothing outside it: a generated MUNGE key and a
``munged`` on its own socket; a generated ``slurm.conf`` (its own ports, ``proctrack/linuxproc``, ``task/none``,
``select/cons_tres``, this node's real CPU count and memory, no accounting database); ``slurmctld`` and ``slurmd``
as root. Clients (``sbatch``, ``squeue``, submitit) find it through ``SLURM_CONF`` (:meth:`LocalSlurm.env`). It
stops its daemons by the process ids they wrote, never by name, so a machine's own SLURM is left alone.

Without an accounting daemon ``sacct`` has nothing to report: submitit then warns and reads job states from
``squeue`` and its own result files, which is what fer_lib relies on (accepted, not configured away).

Needs root (slurmd runs jobs as their users) and the Debian packages ``slurm-wlm`` and ``munge``
(``scripts/install_slurm.sh``, run by ``make setup``); :func:`unavailable` says why a machine cannot host it.

    python -m fer_lib.cluster.local start /tmp/fer-slurm    # prints the SLURM_CONF to export
    python -m fer_lib.cluster.local stop /tmp/fer-slurm
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS: tuple[str, ...] = ("munged", "slurmctld", "slurmd")
CLIENTS: tuple[str, ...] = ("sbatch", "squeue", "scontrol", "sinfo", "scancel")
PARTITION = "local"


def _find(program: str) -> str | None:
    return shutil.which(program) or next((str(p) for p in (Path("/usr/sbin") / program, Path("/sbin") / program)
                                          if p.is_file() and os.access(p, os.X_OK)), None)


def unavailable() -> str | None:
    """Why this machine cannot run a local cluster (``None``: it can): not root, or a program missing."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the local SLURM cluster needs root (slurmd runs jobs as their owners)"
    missing = [p for p in DAEMONS + CLIENTS if _find(p) is None]
    if missing:
        return (f"{', '.join(missing)} not installed: `make setup` installs slurm-wlm and munge where apt and root "
                "are available (scripts/install_slurm.sh)")
    return None


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _memory_mb() -> int:
    """The node's memory for SLURM: MemTotal less 5 % (slurmd refuses a node that claims more than it has)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(int(line.split()[1]) / 1024 * 0.95)
    raise RuntimeError("no MemTotal in /proc/meminfo")


class LocalSlurm:
    """A single-node SLURM in ``root`` (created): :meth:`start`, use with :meth:`env`, :meth:`stop`; or as a context
    manager. ``cpus``: the node's CPUs (default: all of this machine's)."""

    def __init__(self, root: str | os.PathLike, cpus: int | None = None, timeout: float = 60.0) -> None:
        self.root = Path(root).resolve()
        self.cpus = int(cpus or os.cpu_count() or 1)
        self.timeout = timeout
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_dir = self.root / "munge"
        self.socket = self.munge_dir / "munge.socket"

    # -- configuration ------------------------------------------------------------------------------------------
    def _write_key(self) -> Path:
        key = self.munge_dir / "munge.key"
        if not key.is_file():
            self.munge_dir.mkdir(parents=True, exist_ok=True)
            self.munge_dir.chmod(0o700)
            key.write_bytes(secrets.token_bytes(1024))
            key.chmod(0o400)
        return key

    def _write_conf(self) -> None:
        ctl_port, node_port = _free_ports(2)
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        lines = {
            "ClusterName": "ferlib", "SlurmctldHost": self.node, "SlurmctldPort": ctl_port,
            "SlurmdPort": node_port, "AuthType": "auth/munge", "CredType": "cred/munge",
            "AuthInfo": f"socket={self.socket}", "SlurmUser": "root", "SlurmdUser": "root",
            "ProctrackType": "proctrack/linuxproc", "TaskPlugin": "task/none", "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_CPU", "SchedulerType": "sched/backfill", "MpiDefault": "none",
            "ReturnToService": 2, "JobRequeue": 1, "KillWait": 10, "MinJobAge": 300,
            "JobAcctGatherType": "jobacct_gather/none", "AccountingStorageType": "accounting_storage/none",
            "JobCompType": "jobcomp/none", "StateSaveLocation": self.root / "state",
            "SlurmdSpoolDir": self.root / "spool", "SlurmctldPidFile": self.root / "slurmctld.pid",
            "SlurmdPidFile": self.root / "slurmd.pid", "SlurmctldLogFile": self.root / "log" / "slurmctld.log",
            "SlurmdLogFile": self.root / "log" / "slurmd.log",
        }
        text = "".join(f"{k}={v}\n" for k, v in lines.items())
        text += f"NodeName={self.node} CPUs={self.cpus} RealMemory={_memory_mb()} State=UNKNOWN\n"
        text += f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
        self.conf.write_text(text)

    def env(self) -> dict[str, str]:
        """The environment for clients (``sbatch``, submitit): ``os.environ`` with ``SLURM_CONF`` set."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    # -- daemons ----------------------------------------------------------------------------------------------
    def _run(self, *command: str) -> None:
        done = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=self.timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}"
                               f"{self._log_tails()}")

    def _log_tails(self) -> str:
        tails = []
        for log in sorted((self.root / "log").glob("*.log")):
            tails.append(f"\n--- {log.name}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        return "".join(tails)

    def start(self) -> LocalSlurm:
        """Start munged, slurmctld and slurmd, and wait until the node takes jobs."""
        problem = unavailable()
        if problem:
            raise RuntimeError(problem)
        key = self._write_key()
        self._write_conf()
        (self.root / "log").mkdir(exist_ok=True)
        self._run(_find("munged"), "--force", f"--key-file={key}", f"--socket={self.socket}",
                  f"--pid-file={self.munge_dir / 'munged.pid'}", f"--seed-file={self.munge_dir / 'munged.seed'}",
                  f"--log-file={self.root / 'log' / 'munged.log'}")
        self._run(_find("slurmctld"), "-f", str(self.conf), "-c")  # -c: a fresh state
        self._run(_find("slurmd"), "-f", str(self.conf))
        self.wait_idle()
        return self

    def wait_idle(self) -> None:
        deadline = time.monotonic() + self.timeout
        state = ""
        while time.monotonic() < deadline:
            done = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=self.env(), capture_output=True, text=True)
            state = done.stdout.strip()
            if state.startswith(("idle", "mixed", "allocated")):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the local SLURM node is {state or 'not answering'} after {self.timeout:.0f} s"
                           f"{self._log_tails()}")

    def pids(self) -> dict[str, int]:
        """The daemons' process ids, from their pid files (only those alive)."""
        files = {"munged": self.munge_dir / "munged.pid", "slurmctld": self.root / "slurmctld.pid",
                 "slurmd": self.root / "slurmd.pid"}
        alive = {}
        for name, path in files.items():
            try:
                pid = int(path.read_text().split()[0])
                os.kill(pid, 0)
            except (OSError, ValueError, IndexError):
                continue
            alive[name] = pid
        return alive

    def stop(self) -> None:
        """Stop the daemons by their pids (slurmd and slurmctld first), waiting for each to exit."""
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids().get(name)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.2)
            else:
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fer_lib.cluster.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("root", help="the cluster's folder (configuration, state, logs)")
    args = parser.parse_args(argv)
    cluster = LocalSlurm(args.root)
    if args.action == "start":
        cluster.start()
        print(f"local SLURM up (node {cluster.node}, {cluster.cpus} CPUs, partition {PARTITION!r}); "
              f"export SLURM_CONF={cluster.conf}")
    else:
        cluster.stop()
        print(f"local SLURM in {cluster.root} stopped")


if __name__ == "__main__":
    main()


__all__ = ["PARTITION", "LocalSlurm", "unavailable"]
