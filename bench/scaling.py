"""Scaling: epoch time and peak memory at 2k, 20k, 200k and 2M rows, for a supervised and a SimCLR run.

Each size trains in a fresh process on a float32 .npy file (memory-mapped, streamed by batches), two epochs with
the default monitoring, and reports the second epoch's time (the first pays for warm-up), the time per 1,000
rows, the end of run, and the peak resident memory. Time should grow linearly in rows; memory should stay bounded
by the batch, the model and the fixed-size monitoring subsets, not by the file.

    python bench/scaling.py [--rows 2000 20000 200000 2000000] [--dim 32] [--objectives supervised simclr]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import core
exp = core.load_experiment(sys.argv[1])
epoch_ends, last_step = [], None
start = time.perf_counter()
gen = core.train(exp, out=sys.argv[2])
try:
    while True:
        event = next(gen)
        if isinstance(event, core.StepEnded):
            last_step = time.perf_counter()
        if isinstance(event, core.EpochEnded):
            epoch_ends.append(time.perf_counter())
except StopIteration:
    pass
end = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"epoch_s": epoch_ends[-1] - epoch_ends[-2], "end_of_run_s": end - last_step,
                  "total_s": end - start, "peak_mb": peak}))
"""

EXPERIMENT = """schema_version = 1
name = "scaling-{objective}-{rows}"
[data]
name = "npy"
[data.params]
path = "{features}"
labels_path = "{labels}"
[data.split]
val_fraction = 0.05
test_fraction = 0.05
[encoder]
name = "mlp"
[encoder.params]
hidden = [256]
out_dim = 64
[objective]
name = "{objective}"
[training]
epochs = 2
batch_size = 256
lr = 0.001
seed = 0
device = "cpu"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000, 20_000, 200_000, 2_000_000])
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--objectives", nargs="+", default=["supervised", "simclr"])
    args = parser.parse_args()
    print(f"{'objective':<11} {'rows':>10} {'epoch (s)':>10} {'ms / 1k rows':>13} {'end of run (s)':>15} "
          f"{'peak MB':>8}")
    with tempfile.TemporaryDirectory() as d:
        for rows in args.rows:
            rng = np.random.default_rng(0)
            features, labels = Path(d) / f"x{rows}.npy", Path(d) / f"y{rows}.npy"
            X = np.lib.format.open_memmap(features, mode="w+", dtype=np.float32, shape=(rows, args.dim))
            y = rng.integers(0, 10, rows)
            centres = rng.normal(size=(10, args.dim)).astype(np.float32)
            for lo in range(0, rows, 100_000):  # written in blocks: the parent stays small too
                hi = min(lo + 100_000, rows)
                X[lo:hi] = centres[y[lo:hi]] + rng.normal(size=(hi - lo, args.dim)).astype(np.float32)
            X.flush()
            del X
            np.save(labels, y)
            for objective in args.objectives:
                toml = Path(d) / f"{objective}-{rows}.toml"
                toml.write_text(EXPERIMENT.format(objective=objective, rows=rows, features=features, labels=labels))
                proc = subprocess.run([sys.executable, "-c", CHILD, str(toml), str(Path(d) / "runs")],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{objective:<11} {rows:>10,} failed: {proc.stderr.strip().splitlines()[-1]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                print(f"{objective:<11} {rows:>10,} {r['epoch_s']:10.2f} {r['epoch_s'] / rows * 1e6:13.2f} "
                      f"{r['end_of_run_s']:15.2f} {r['peak_mb']:8.0f}")
            features.unlink()


if __name__ == "__main__":
    main()
