"""Check that a change to the SynthFER renderer leaves its output byte-identical.

    python scripts/synth_reference.py save /tmp/synth_ref      # before the change
    python scripts/synth_reference.py compare /tmp/synth_ref   # after it: exits 1 on any difference

Renders the first images of the cpu-scale training splits of synth-inthewild (64 and 112 px), synth-multiview
and synth-rgbd for two seeds (2,800 images, every occluder and pose), and saves or compares images, depth,
landmarks and visibility. A change that alters any byte needs a GENERATOR_VERSION bump. References are only
comparable on the same machine and numpy/BLAS build: matrix products may round differently elsewhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from fer_lib.data.synth import build_synth_inthewild, build_synth_multiview, build_synth_rgbd  # noqa: E402

FIELDS = ("image", "depth", "landmarks", "visibility")


def reference_sets():
    for seed in (0, 1):
        for size, count in ((64, 600), (112, 200)):
            ds = build_synth_inthewild(split="train", scale="cpu", image_size=size, seed=seed, cache=False)
            yield f"inthewild{size}_seed{seed}", ds, count
        yield f"multiview_seed{seed}", build_synth_multiview(split="train", scale="cpu", seed=seed, cache=False), 150
        yield f"rgbd_seed{seed}", build_synth_rgbd(split="train", scale="cpu", seed=seed, cache=False), 150


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("save", "compare"))
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    differing = 0
    for name, ds, count in reference_sets():
        renders = [ds.render(i) for i in range(min(count, len(ds)))]
        arrays = {f: np.stack([getattr(r, f) for r in renders]) for f in FIELDS}
        path = args.folder / f"{name}.npz"
        if args.mode == "save":
            np.savez_compressed(path, **arrays)
            print(f"saved {name}: {len(renders)} renders")
            continue
        if not path.exists():
            print(f"{name}: no reference at {path}; run 'save' first", file=sys.stderr)
            return 2
        ref = np.load(path)
        bad = {f: int((arrays[f] != ref[f]).sum()) for f in FIELDS if arrays[f].shape != ref[f].shape
               or not np.array_equal(arrays[f], ref[f])}  # fmt: skip
        differing += bool(bad)
        print(f"{name}: {len(renders)} renders, " + (f"DIFFERENT elements {bad}" if bad else "identical"))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
