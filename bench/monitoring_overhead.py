"""What watching a run costs: a preset trained by the engine with its default monitoring against a bare loop.

Issue 22, targets 1 and 2. For each case the same data, model, optimiser, learning-rate schedule, batch size and
number of steps are trained twice in one process, alternately (bare, engine, bare, engine, ...), and the median
of the repeats is printed as a ratio against the bare figure of the same run:

* **steps**: the engine's training phase with the preset's default monitoring (validation, diagnostics, the
  online probe, snapshots, checkpoints, the metrics log, the views) against a bare PyTorch loop over the same
  ``core`` model (targets: digits presets <= 1.15, a compute-bound MLP 1024-1024 on 20k rows <= 1.05);
* **whole run** (``--whole``): ``core.train`` from the call to its result (data, model, set-up, training, end of
  run) against a hand-written script with the same model / data / optimiser / schedule / steps and a final test
  pass, written with torch and scikit-learn only (target <= 1.3 for digits-supervised).

    python bench/monitoring_overhead.py [--cases supervised simclr mlp1024] [--repeats 3] [--threads 1] [--whole]
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import core


def lr_factor_cosine(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def bare_loop(experiment: core.Experiment) -> float:
    """What a person writes by hand around the same ``core`` model: seconds of the training steps."""
    t = experiment.training
    torch.manual_seed(t.seed)
    ds = core.load_dataset(experiment)
    s = experiment.data.split
    data = core.prepare(ds, val_fraction=s.val_fraction, test_fraction=s.test_fraction, stratify=s.stratify,
                        normalization=s.normalization, seed=t.seed)
    X = torch.from_numpy(np.ascontiguousarray(data.X[data.splits.train]))
    y = torch.from_numpy(ds.y[data.splits.train]) if ds.y is not None else None
    model = core.build_model(experiment, data)
    opt = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps_per_epoch = math.ceil(len(X) / t.batch_size)
    total, warmup = steps_per_epoch * t.epochs, round(t.warmup_epochs * steps_per_epoch)
    step = 0
    model.train()
    start = time.perf_counter()
    for _ in range(t.epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), t.batch_size):
            idx = perm[i:i + t.batch_size]
            for group in opt.param_groups:
                group["lr"] = t.lr * lr_factor_cosine(step, total, warmup)
            loss = model(core.Batch(x=X[idx], y=y[idx] if y is not None else None, index=idx)).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    return time.perf_counter() - start


def engine(experiment: core.Experiment, root: str) -> tuple[float, float, float]:
    """(seconds of the training phase, seconds of the whole run, seconds of the end of run)."""
    start = time.perf_counter()
    began = last = None
    gen = core.train(experiment, out=root)
    try:
        while True:
            event = next(gen)
            if isinstance(event, core.RunStarted):
                began = time.perf_counter()
            elif isinstance(event, core.RunFinished):
                end_of_run = time.perf_counter() - last
            else:
                last = time.perf_counter()  # the last epoch's snapshot / checkpoint counts as training
    except StopIteration:
        pass
    total = time.perf_counter() - start
    return last - began, total, end_of_run


def handwritten_run(epochs: int = 40, seed: int = 0) -> tuple[float, float]:
    """digits-supervised by hand: load, split, standardise, MLP 64-256-128-64 + head, AdamW, cosine, test pass.
    (seconds, test accuracy)."""
    start = time.perf_counter()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    idx = np.arange(len(X))
    rest, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
    train, _val = train_test_split(rest, test_size=0.1 / 0.8, stratify=y[rest], random_state=seed)
    mean, std = X[train].mean(0), X[train].std(0) + 1e-6
    Xt = torch.from_numpy((X - mean) / std)
    yt = torch.from_numpy(y.astype(np.int64))
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(128, 64), torch.nn.Linear(64, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    tr = torch.from_numpy(train)
    steps = math.ceil(len(tr) / 64) * epochs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(epochs):
        perm = tr[torch.randperm(len(tr))]
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            loss = loss_fn(model(Xt[b]), yt[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(Xt[test]).argmax(1) == yt[test]).float().mean())
    return time.perf_counter() - start, acc


def blobs_npy(folder: Path, rows: int = 20_000, dim: int = 64, classes: int = 10) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(classes, dim)).astype(np.float32) * 2
    y = rng.integers(0, classes, size=rows)
    X = centres[y] + rng.normal(size=(rows, dim)).astype(np.float32)
    np.save(folder / "x.npy", X.astype(np.float32))
    np.save(folder / "y.npy", y.astype(np.int64))
    return folder / "x.npy", folder / "y.npy"


def case(name: str, folder: Path, epochs: int | None) -> core.Experiment:
    """The experiment of one case, with the preset's default monitoring (CPU)."""
    if name == "supervised":
        exp = core.load_preset("digits-supervised")
    elif name == "simclr":
        exp = core.load_preset("digits-simclr")
    elif name == "mlp1024":
        x, y = blobs_npy(folder)
        base = core.load_preset("digits-supervised")
        exp = dataclasses.replace(
            base, name="mlp1024-20k",
            data=core.DataConfig(name="npy", params={"path": str(x), "labels_path": str(y)},
                                 split={"val_fraction": 0.1, "test_fraction": 0.2}),
            encoder=core.EncoderConfig(name="mlp", params={"hidden": [1024, 1024], "out_dim": 64}),
        ).with_training(epochs=3)
    else:
        raise SystemExit(f"unknown case {name!r}")
    exp = exp.with_training(device="cpu")
    return exp.with_training(epochs=epochs) if epochs else exp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", default=["supervised", "simclr", "mlp1024"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs (quicker)")
    parser.add_argument("--lean", action="store_true", help="also the engine with every monitoring switched off")
    parser.add_argument("--whole", action="store_true", help="also the whole run of digits-supervised vs by hand")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {args.threads}, median of {args.repeats} alternating repeats, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in args.cases:
            exp = case(name, root, args.epochs)
            bare_loop(exp.with_training(epochs=1, warmup_epochs=0))  # warm-up: allocator, kernels, lazy imports
            engine(exp.with_training(epochs=1, warmup_epochs=0), str(root / "runs"))
            lean = exp.with_training(diagnostics_every=0, probe_every=0, snapshot_every=0, checkpoint_every=0)
            bare, steps, unwatched = [], [], []
            for _ in range(args.repeats):
                bare.append(bare_loop(exp))
                steps.append(engine(exp, str(root / "runs"))[0])
                if args.lean:
                    unwatched.append(engine(lean, str(root / "runs"))[0])
            b, e = statistics.median(bare), statistics.median(steps)
            target = 1.05 if name == "mlp1024" else 1.15
            print(f"{exp.name:22s} {exp.training.epochs:3d} epochs  bare {b:7.3f} s  engine steps {e:7.3f} s  "
                  f"ratio {e / b:.3f}  (target <= {target})   ratios {[round(s / x, 3) for s, x in zip(steps, bare, strict=True)]}")
            if unwatched:
                u = statistics.median(unwatched)
                print(f"{'':22s} monitoring off: engine steps {u:7.3f} s  ratio {u / b:.3f}")
        if args.whole:
            exp = case("supervised", root, None)
            handwritten_run(epochs=1)
            hand, whole, ends, accs, tests = [], [], [], [], []
            for _ in range(args.repeats):
                seconds, acc = handwritten_run(exp.training.epochs)
                hand.append(seconds)
                accs.append(acc)
                start = time.perf_counter()
                steps, total, end = engine(exp, str(root / "runs"))
                whole.append(total)
                ends.append(end)
                del start
            h, w = statistics.median(hand), statistics.median(whole)
            print(f"whole run digits-supervised: by hand {h:.3f} s (test acc {statistics.median(accs):.3f})  "
                  f"engine {w:.3f} s (end of run {statistics.median(ends):.3f} s)  ratio {w / h:.3f}  (target <= 1.3)")
            del tests
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
