"""How much does the engine cost over a bare PyTorch loop?

The same data (digits, normalised as the engine does), the same MLP, the same optimiser and the same number of
steps, trained by ``core.train`` and by a ten-line loop, side by side in one process. The engine run keeps its
per-step events and metrics.jsonl writes (that is the overhead being measured) but switches off the per-epoch
extras (diagnostics, snapshots, checkpoints), which are reported separately.

    python bench/train_overhead.py [--epochs 30] [--repeats 3] [--width 512] [--threads 1]

Target: engine / bare <= 1.10.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import torch

import core


def bare_loop(experiment: core.Experiment) -> float:
    """The reference: what a person writes by hand."""
    t = experiment.training
    torch.manual_seed(t.seed)
    ds = core.load_dataset(experiment)
    data = core.prepare(ds, val_fraction=0.1, test_fraction=0.2, stratify=True, normalization="auto", seed=t.seed)
    X = torch.from_numpy(data.X[data.splits.train])
    y = torch.from_numpy(ds.y[data.splits.train])
    model = core.build_model(experiment, data)
    opt = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    start = time.perf_counter()
    for _ in range(t.epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), t.batch_size):
            idx = perm[i:i + t.batch_size]
            loss = model(core.Batch(x=X[idx], y=y[idx], index=idx)).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def engine(experiment: core.Experiment, root: str) -> tuple[float, float]:
    """(seconds of the training steps, seconds of the whole run incl. set-up and final evaluation)."""
    start = time.perf_counter()
    first_step = None
    last_step = None
    gen = core.train(experiment, out=root)
    try:
        while True:
            event = next(gen)
            if isinstance(event, core.StepEnded):
                if first_step is None:
                    first_step = time.perf_counter() - event.elapsed  # the step clock starts with the run
                last_step = time.perf_counter()
    except StopIteration:
        pass
    total = time.perf_counter() - start
    return last_step - first_step, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=512, help="hidden width of the MLP")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    base = core.load_preset("digits-supervised")
    exp = dataclasses.replace(
        base, encoder=core.EncoderConfig(name="mlp", params={"hidden": [args.width, args.width], "out_dim": 64}),
    ).with_training(epochs=args.epochs, batch_size=args.batch_size, schedule="constant", device="cpu")
    lean = exp.with_training(diagnostics_every=0, snapshot_every=0, checkpoint_every=0)
    with tempfile.TemporaryDirectory() as root:
        bare_loop(exp.with_training(epochs=1))  # warm-up: allocator, kernels, imports
        engine(lean.with_training(epochs=1), root)
        bare, lean_steps, full_steps, full_total = [], [], [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(exp))
            lean_steps.append(engine(lean, root)[0])
            steps, total = engine(exp, root)
            full_steps.append(steps)
            full_total.append(total)
    b, e = min(bare), min(lean_steps)
    print(f"digits MLP {args.width}x{args.width}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{args.threads} torch thread(s), best of {args.repeats}")
    print(f"bare PyTorch loop            {b:8.3f} s")
    print(f"engine (events + jsonl)      {e:8.3f} s   ratio {e / b:.3f}  (target <= 1.10)")
    print(f"engine + per-epoch extras    {min(full_steps):8.3f} s   ratio {min(full_steps) / b:.3f}  "
          "(validation, diagnostics, snapshots, checkpoints)")
    print(f"engine whole run             {min(full_total):8.3f} s   (set-up, data, final test + linear probe)")


if __name__ == "__main__":
    main()
