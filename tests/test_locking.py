from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

import torch

from fer_lib import locking
from fer_lib.runs import train_cached
from tests._toys import NoisyBlobs, recipe, tiny_model

SPEC = {"model": "tiny", "dataset": "blobs", "seed": 0}


def _train(root: str, out: str) -> None:
    """One process's attempt at the same run: records whether it trained or loaded, and the final weights."""
    model, result = train_cached(SPEC, tiny_model, NoisyBlobs(256), recipe(epochs=3), root=root)
    torch.save({"from_cache": result.from_cache, "state": model.state_dict()}, out)


def test_two_processes_on_one_key_train_it_once_and_share_the_weights(tmp_path) -> None:
    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"p{i}.pt" for i in range(2)]
    procs = [ctx.Process(target=_train, args=(str(tmp_path / "runs"), str(out))) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    first, second = (torch.load(o, weights_only=True) for o in outs)
    assert sorted([first["from_cache"], second["from_cache"]]) == [False, True]  # one trained, one waited
    assert all(torch.equal(first["state"][k], second["state"][k]) for k in first["state"])
    (run,) = (tmp_path / "runs").iterdir()
    assert not (run / locking.CLAIM_FILE).exists()  # released
    trained_by = json.loads((run / "summary.json").read_text())["trained_by"]
    assert trained_by["host"] == locking.holder()["host"] and trained_by["pid"] != os.getpid()


def test_a_waiter_waits_for_a_live_holder_then_proceeds(tmp_path) -> None:
    run = tmp_path / "run"
    with locking.claim(run, quiet=True) as mine:
        assert json.loads((run / locking.CLAIM_FILE).read_text()) == mine
        assert locking.stale_reason(run / locking.CLAIM_FILE, mine) is None  # ourselves: alive
        waiter = subprocess.Popen([sys.executable, "-c", (
            "import sys; from fer_lib import locking\n"
            f"with locking.claim({str(run)!r}, poll_seconds=0.1): print('got it', flush=True)")],
            stdout=subprocess.PIPE, text=True)
        time.sleep(2.0)
        assert waiter.poll() is None  # still waiting while we hold it
    out, _ = waiter.communicate(timeout=60)
    assert "is being trained by process" in out and "got it" in out


def test_a_claim_whose_process_is_gone_is_taken_over(tmp_path, capsys) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "run"
    run.mkdir()
    (run / locking.CLAIM_FILE).write_text(json.dumps({**locking.holder(), "pid": dead.pid}))
    with locking.claim(run, poll_seconds=0.1) as mine:
        assert mine["pid"] == os.getpid()
    assert "taking over a stale claim" in capsys.readouterr().out


def test_a_claim_from_another_host_goes_stale_without_heartbeat(tmp_path) -> None:
    path = tmp_path / locking.CLAIM_FILE
    other = {"host": "elsewhere", "pid": 1, "slurm_job": "7_3", "since": "then"}
    path.write_text(json.dumps(other))
    assert locking.stale_reason(path, other) is None  # fresh: its holder may be training
    old = time.time() - locking.STALE_SECONDS - 5
    os.utime(path, (old, old))
    assert "no heartbeat" in locking.stale_reason(path, other)
    assert "SLURM job 7_3" in locking.describe(other)
