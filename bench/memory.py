"""Peak memory of training, embedding and evaluating from a memory-mapped float32 .npy larger than half of RAM.

Writes a float32 ``.npy`` of ``--gib`` GiB (default: 55 % of physical memory) and labels, then, in a fresh process,
measures each phase: loading and preparing the data (the normaliser is fitted a chunk at a time), training steps
(streamed batch by batch), embedding rows of the trained run, evaluating it (the linear probe, robustness and
invariance on the whole test split, with every baseline that fits), and ``data_loading = "memory"``, which must be
refused before it allocates. A thread samples ``/proc/self/status`` every 20 ms: **RssAnon** is the process's own memory
(what can exhaust RAM); the file's pages that a memory map makes resident count as RssFile and are given back by the
kernel under pressure, so they are reported separately. The big file is deleted at the end.

    python bench/memory.py [--gib 13.5] [--width 4096] [--steps 100] [--dir /tmp]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURE = r"""
import json, os, sys, threading, time
import numpy as np
import torch  # noqa: F401 - the libraries' own memory is in the baseline, not in the phases
import core

path, labels, steps, out_root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) * 1024
    return fields

class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.running = True
    def run(self):
        while self.running:
            s = status()
            for k in self.peak:
                self.peak[k] = max(self.peak[k], s[k])
            time.sleep(0.02)
    def reset(self):
        self.peak = {k: status()[k] for k in self.peak}

sampler = Sampler()
sampler.start()
figures = {"baseline_anon": status()["RssAnon"]}

def phase(name, fn):
    sampler.reset()
    t = time.perf_counter()
    result = fn()
    time.sleep(0.05)
    figures[name] = {"seconds": round(time.perf_counter() - t, 1), "peak_anon": sampler.peak["RssAnon"],
                     "peak_file": sampler.peak["RssFile"]}
    print("PHASE " + json.dumps({name: figures[name], "result": str(result)[:1500]}), flush=True)
    return result

exp = core.Experiment(
    name="memory", data=core.DataConfig(name="npy", params={"path": path, "labels_path": labels}),
    encoder=core.EncoderConfig(name="mlp", params={"hidden": [64], "out_dim": 16}),
    objective=core.ObjectiveConfig(name="supervised"),
    training=core.TrainingConfig(epochs=1, batch_size=256, device="cpu", diagnostics_every=0, probe_every=0,
                                 snapshot_every=0, snapshot_points=2000, eval_points=512, loader_workers=2),
    output=core.OutputConfig(root=out_root))

def prepare():
    from core.data.splits import prepare as prep
    from core.training.loop import load_dataset
    ds = load_dataset(exp)
    data = prep(ds, val_fraction=0.1, test_fraction=0.2, stratify=False, normalization="standardize", seed=0)
    return type(data.X).__name__

figures["prepared_as"] = phase("load_and_fit_normaliser", prepare)

def train():
    gen = core.train(exp)
    event = next(gen)
    while not (isinstance(event, core.StepEnded) and event.step >= steps):
        event = next(gen)
    try:
        while True:
            gen.send(core.Stop())
    except StopIteration as stop:
        return stop.value.run_dir

run_dir = phase("train_%d_steps" % steps, train)

def embed():
    model = core.load_trained(run_dir)
    Z = model.embed(np.arange(0, model.data.dataset.n, 8))  # every 8th row: 1/8 of the file, in batches
    return list(Z.shape)

figures["embedded"] = phase("embed_every_8th_row", embed)

def evaluate():
    # the evaluations that read inputs (robustness, invariance) on the whole test split, the linear probe they
    # use, and every baseline: the raw features and the standardised columns are left out when they cannot fit,
    # PCA is fitted on a stated sample and applied a batch at a time, the random-init encoder streams
    import logging
    logging.getLogger("replearn").setLevel(logging.WARNING)
    model = core.load_trained(run_dir)
    ev = core.run_to_end(core.evaluate(model, ("linear_probe", "robustness", "invariance"),
                                       baselines=("raw", "pca", "handcrafted")))  # random_init streams as learned
    learned = ev.results["learned"]
    return {"n_test": ev.n_test, "baselines": sorted(ev.results), "probe": round(learned.metrics["probe_accuracy"].value, 3),
            "robustness": learned.robustness, "notes": ev.baseline_notes}

figures["evaluated"] = json.dumps(phase("evaluate_test_split", evaluate))

def refused():
    from core.data.splits import prepare as prep
    from core.training.loop import load_dataset
    try:
        prep(load_dataset(exp), val_fraction=0.1, test_fraction=0.2, stratify=False, normalization="standardize",
             seed=0, loading="memory")
    except core.DataError as err:
        return str(err)
    return "NOT REFUSED"

figures["memory_mode"] = phase("data_loading_memory", refused)
figures["vm_hwm"] = status()["VmHWM"]
print(json.dumps(figures))
"""


def write_file(path: Path, gib: float, width: int) -> tuple[int, Path]:
    import numpy as np

    rows = int(gib * (1 << 30)) // (width * 4)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, width))
    rng = np.random.default_rng(0)
    block = rng.normal(size=(16384, width)).astype(np.float32)
    for start in range(0, rows, len(block)):
        n = min(len(block), rows - start)
        out[start:start + n] = block[:n] + np.float32(start % 7)
    out.flush()
    del out
    labels = path.with_name("labels.npy")
    np.save(labels, (np.arange(rows) % 10).astype(np.int64))
    return rows, labels


def main() -> int:
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=round(0.55 * total / (1 << 30), 1))
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="replearn-memory-", dir=args.dir))
    try:
        t = time.perf_counter()
        rows, labels = write_file(work / "big.npy", args.gib, args.width)
        size = (work / "big.npy").stat().st_size
        print(f"RAM {total / (1 << 30):.1f} GiB; wrote {size / (1 << 30):.2f} GiB ({rows} x {args.width} float32) "
              f"in {time.perf_counter() - t:.0f} s", flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen([sys.executable, "-c", MEASURE, str(work / "big.npy"), str(labels), str(args.steps),
                                 str(work / "runs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines = []
        for line in proc.stdout:  # each phase as it ends, so a long run shows its figures early
            lines.append(line)
            if line.startswith("PHASE "):
                print(line.strip(), flush=True)
        if proc.wait():
            print(proc.stderr.read()[-3000:])
            return 1
        figures = json.loads(lines[-1])
        gib = lambda b: f"{b / (1 << 30):.2f} GiB"  # noqa: E731
        print(f"process at rest after importing numpy and torch: {gib(figures['baseline_anon'])} anonymous")
        for name, f in figures.items():
            if isinstance(f, dict):
                print(f"{name:<28} {f['seconds']:>7.1f} s   peak anonymous {gib(f['peak_anon'])}   "
                      f"peak file-backed (reclaimable) {gib(f['peak_file'])}")
        print(f"prepared as: {figures['prepared_as']}; embeddings: {figures['embedded']}")
        print(f"evaluation: {figures['evaluated']}")
        print(f"data_loading = \"memory\": {figures['memory_mode'][:200]}")
        print(f"VmHWM (anonymous + file pages, whole process): {gib(figures['vm_hwm'])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
