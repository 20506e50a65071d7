"""Scale: embeddings of 1M samples written batch-wise to a memory-mapped file vs held in memory (time and peak
memory, each in a fresh process), and training throughput with 1 vs 2 processes (torch.distributed, gloo, CPU).

    python bench/scale.py [--n 1000000] [--dim 128] [--train-n 100000]

On 2 cores the two processes share the cores, so the throughput figure shows the cost of the collectives
rather than a speed-up; on a machine with a core (or a GPU) per process it is the speed-up.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
import core
exp = core.load_experiment(sys.argv[1])
model = core.initialised(exp, "cpu")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
if sys.argv[2] == "file":
    Z = model.embed_to_file(sys.argv[3], batch_size=8192)
    checksum = float(np.asarray(Z[::1000]).sum())
else:
    Z = model.embed(batch_size=8192)
    checksum = float(Z[::1000].sum())
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "growth_mb": peak - before, "shape": list(Z.shape),
                  "checksum": checksum}))
"""


def experiment(path: Path, root: Path, dim: int, epochs: int = 1, batch: int = 256):
    import core

    return core.Experiment(
        name="scale", data=core.DataConfig(name="npy", params={"path": str(path)}),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [256], "out_dim": dim}),
        objective=core.ObjectiveConfig(name="autoencoder"),
        training=core.TrainingConfig(epochs=epochs, batch_size=batch, device="cpu", diagnostics_every=0,
                                     probe_every=0, snapshot_every=0, checkpoint_every=0, warmup_epochs=0,
                                     drop_last=True),
        output=core.OutputConfig(root=str(root)))


def samples_per_second(run_dir: str, global_batch: int) -> float:
    import core

    steps = [r for r in core.RunDirectory.open(run_dir).read_metrics() if r["event"] == "step"]
    return len(steps) * global_batch / steps[-1]["elapsed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--train-n", type=int, default=100_000)
    args = parser.parse_args()
    import core

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        data = np.lib.format.open_memmap(tmp / "x.npy", mode="w+", dtype=np.float32, shape=(args.n, 32))
        for start in range(0, args.n, 100_000):
            stop = min(start + 100_000, args.n)
            data[start:stop] = rng.normal(size=(stop - start, 32))
        del data
        exp_path = tmp / "exp.toml"
        core.save_experiment(experiment(tmp / "x.npy", tmp / "runs", args.dim), exp_path)
        print(f"embedding {args.n:,} samples of 32 features to {args.dim} dimensions "
              f"({args.n * args.dim * 4 / 2**20:,.0f} MB of embeddings), each in a fresh process")
        for how in ("memory", "file"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(exp_path), how, str(tmp / "z.npy")],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            label = "all in memory (embed)" if how == "memory" else "batch-wise to a .npy (embed_to_file)"
            print(f"  {label:<38} {r['seconds']:6.1f} s   peak {r['peak_mb']:7,.0f} MB   "
                  f"(+{r['growth_mb']:,.0f} MB while embedding)")

        small = np.load(tmp / "x.npy", mmap_mode="r")[: args.train_n]
        np.save(tmp / "train.npy", small)
        rates = {}
        for procs in (1, 2):
            exp = experiment(tmp / "train.npy", tmp / f"runs{procs}", args.dim, batch=256 // procs)
            path = tmp / f"train{procs}.toml"
            core.save_experiment(exp, path)
            cmd = [sys.executable, "-m", "core.cli", "train", str(path), "--quiet"]
            if procs > 1:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs),
                       "-m", "core.cli", "train", str(path), "--quiet"]
            subprocess.run(cmd, capture_output=True, text=True, check=True,
                           env={**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // procs))})
            (run_dir,) = list((tmp / f"runs{procs}").iterdir())
            rates[procs] = samples_per_second(str(run_dir), 256)
        print(f"training throughput, {args.train_n:,} samples, global batch 256, {os.cpu_count()} cores:")
        for procs, rate in rates.items():
            print(f"  {procs} process(es): {rate:10,.0f} samples/s" + (f"   ({rate / rates[1]:.2f}x)" if procs > 1 else ""))


if __name__ == "__main__":
    main()
