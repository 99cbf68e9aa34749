"""SynthFER quality bars: generation speed, and how hard synth-inthewild is for a briefly trained ResNet-18.

    python scripts/synth_difficulty.py --speed-only          # images/s at 64 and 112 px on one core
    python scripts/synth_difficulty.py --scale cpu --epochs 4 8   # one ResNet-18 per epoch budget

Writes ``results/synthfer/speed.csv`` and ``results/synthfer/difficulty.csv`` (accuracy overall and on
the frontal / occlusion / pose>30 / pose>45 test subsets, with scale, seed, epochs, wall seconds, the
generator version and the git commit). Several ``--epochs`` budgets train one fresh model each on the
same generated data, and ``difficulty.csv`` is rewritten after each budget with every row of this
invocation (so the file always holds exactly what one run of this script produced; never merge
rows from several runs by hand). ``speed.csv`` keeps one row per CPU model and image size: a run replaces
this host's rows and keeps those measured on other hosts, which differ up to 4x. Generation speed is
measured on one thread; training runs on ``--threads`` (2 by default: the cpu scale's two cores). The bars
are about a CPU, not a GPU.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from fer_lib.data import load_dataset  # noqa: E402
from fer_lib.data.synth import GENERATOR_VERSION  # noqa: E402
from fer_lib.data.transforms import build_transform  # noqa: E402
from fer_lib.io import atomic_write_text, repo_root  # noqa: E402
from fer_lib.results import device_name, git_commit  # noqa: E402

OUT = repo_root() / "results" / "synthfer"
SUBSETS = (None, "frontal", "occlusion", "pose>30", "pose>45")


def merge_speed(path: Path, measured: pd.DataFrame) -> pd.DataFrame:
    """``measured`` plus the rows of ``path`` from other CPU models, sorted by CPU and image size.

    A rerun on the same host replaces that host's rows; a missing or empty old file, or one with other
    columns, is replaced rather than merged (its rows could not be compared).
    """
    try:
        previous = pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return measured
    if list(previous.columns) != list(measured.columns):
        return measured
    others = previous[~previous["cpu"].isin(set(measured["cpu"]))]
    merged = pd.concat([others, measured], ignore_index=True)
    return merged.sort_values(["cpu", "image_size"], kind="stable").reset_index(drop=True)


def measure_speed(sizes=(64, 112), n: int | None = None, seed: int = 0, repeats: int = 3) -> pd.DataFrame:
    """Images/s of fresh renders (no cache) of synth-inthewild on this process's one core.

    By default the whole cpu-scale training split is rendered, as a user's first epoch does: each of its
    300 subjects is drawn once and reused (the first 300 images alone hold 197 subjects, so a short sample
    over-weights subject drawing). ``n`` renders only the first ``n`` images.

    Each size is rendered ``repeats`` times, each pass on a fresh dataset (subjects drawn again). The rate is
    the best pass's, as ``timeit`` reports the fastest loop: on a shared virtual machine the other passes
    measure the neighbours too (the same code ran 20-35 % slower within an hour here). The median pass is
    recorded beside it. Rates are in CPU time (``process_time``: what one core delivers) and wall time.
    Hosts differ far more than passes do (the same commit rendered 265 and 1,100 images/s at 64 px on two
    of this project's machines), so the CPU model is recorded with the rates.
    """
    rows = []
    for size in sizes:
        fresh = functools.partial(load_dataset, "synth-inthewild", split="train", scale="cpu", image_size=size,
                                  seed=seed, cache=False)
        fresh().render(0)  # the face model for this size is built once per process (about 0.3 s): not timed
        passes = []
        for _ in range(repeats):
            ds = fresh()  # draws its subjects again, as a new process does
            count = len(ds) if n is None else min(n, len(ds))
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for i in range(count):
                ds.render(i)
            passes.append((count / (time.process_time() - cpu0), count / (time.perf_counter() - wall0)))
        cpu_rates = sorted(p[0] for p in passes)
        rows.append(
            {
                "image_size": size,
                "images": count,
                "repeats": repeats,
                "images_per_s_cpu": round(cpu_rates[-1], 1),
                "images_per_s_wall": round(max(p[1] for p in passes), 1),
                "images_per_s_cpu_median": round(float(np.median(cpu_rates)), 1),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "cpu": device_name("cpu"),  # the model name: rates differ up to 4x between hosts
                "generator_version": GENERATOR_VERSION,
                "git_commit": git_commit(),
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def difficulty(
    scale: str,
    seed: int,
    epochs: int | list[int],
    image_size: int,
    batch_size: int,
    lr: float,
    on_budget=None,
) -> pd.DataFrame:
    """Train one fresh ResNet-18 per epoch budget in ``epochs`` on the same generated data and test it.

    ``on_budget(table)`` (if given) is called after each budget with all rows so far, so a long
    invocation leaves its finished budgets on disk even if it is stopped later.
    """
    from fer_lib.engine import TrainConfig, evaluate, fit
    from fer_lib.models import create_model

    budgets = [epochs] if isinstance(epochs, int) else list(epochs)
    start = time.perf_counter()
    train = load_dataset(
        "synth-inthewild", split="train", scale=scale, seed=seed, image_size=image_size,
        transform=build_transform("basic", image_size, train=True),
    )  # fmt: skip
    gen0 = time.perf_counter()
    train.materialize()
    tests = {
        s: load_dataset(
            "synth-inthewild", split="test", scale=scale, seed=seed, image_size=image_size, subset=s,
            transform=build_transform("eval", image_size, train=False),
        )  # fmt: skip
        for s in SUBSETS
    }
    tests[None].materialize()
    gen_seconds = time.perf_counter() - gen0
    print(f"generated {len(train)} + {len(tests[None])} images in {gen_seconds:.1f} s", flush=True)

    rows = []
    for n_epochs in budgets:
        run0 = time.perf_counter()
        torch.manual_seed(seed)
        model = create_model("resnet18", num_classes=len(train.classes))
        cfg = TrainConfig(
            epochs=n_epochs, batch_size=batch_size, lr=lr, optimizer="sgd", scheduler="onecycle", seed=seed,
            weight_decay=5e-4, progress=False,
        )  # fmt: skip
        result = fit(model, train, cfg)
        train_seconds = time.perf_counter() - run0
        print(result.history.to_string(), flush=True)
        for s, ds in tests.items():
            res = evaluate(model, ds, batch_size=256)
            rows.append(
                {
                    "dataset": "synth-inthewild",
                    "subset": s or "all",
                    "n": len(ds),
                    "accuracy": round(float(res["accuracy"]), 2),  # percent
                    "chance": round(100 / len(train.classes), 2),
                    "model": "resnet18 (random init)",
                    "scale": scale,
                    "seed": seed,
                    "image_size": image_size,
                    "epochs": n_epochs,
                    "train_images": len(train),
                    "generation_seconds": round(gen_seconds, 1),
                    "train_seconds": round(train_seconds, 1),
                    "run_seconds": round(time.perf_counter() - run0, 1),  # this budget: train + test
                    "wall_seconds": round(time.perf_counter() - start, 1),  # since the invocation started
                    "threads": torch.get_num_threads(),
                    "generator_version": GENERATOR_VERSION,
                    "git_commit": git_commit(),
                }
            )
            print(rows[-1], flush=True)
        if on_budget is not None:
            on_budget(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu", choices=("smoke", "cpu", "paper"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, nargs="+", default=[4], help="one or more epoch budgets")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for training (the cpu scale has 2 cores)")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # generation speed is measured on one core
    git_commit()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_speed:
        speed = merge_speed(args.out / "speed.csv", measure_speed())
        atomic_write_text(args.out / "speed.csv", speed.to_csv(index=False))
    if not args.speed_only:
        torch.set_num_threads(args.threads)
        # Rewritten after every budget with all rows of this invocation (see the module docstring).
        difficulty(
            args.scale, args.seed, args.epochs, args.image_size, args.batch_size, args.lr,
            on_budget=lambda table: atomic_write_text(args.out / "difficulty.csv", table.to_csv(index=False)),
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
