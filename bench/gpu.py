"""Training throughput on a CUDA GPU against the CPU: two presets, fp32 and bf16, samples per second.

    python bench/gpu.py [--presets digits-supervised digits-simclr] [--epochs 5] [--batch-size 512]

Run by bench/gpu.sh (which also runs one process under torchrun with NCCL). On a machine without CUDA it
measures the CPU rows only and says so.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import torch

import core


def throughput(experiment: core.Experiment, root: str) -> tuple[float, float]:
    """(samples per second over the training steps, seconds of the whole run)."""
    start = time.perf_counter()
    steps, first, last = 0, None, None
    for event in _events(core.train(experiment, out=root)):
        if isinstance(event, core.StepEnded):
            steps += 1
            now = time.perf_counter()
            first = now if first is None else first
            last = now
    total = time.perf_counter() - start
    if steps < 2:
        return float("nan"), total
    return (steps - 1) * experiment.training.batch_size / (last - first), total


def _events(gen):
    try:
        while True:
            yield next(gen)
    except StopIteration:
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["digits-supervised", "digits-simclr"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    print(f"torch {torch.__version__}; CUDA: {torch.cuda.get_device_name(0) if cuda else 'not available'}")
    print(f"{'preset':<20} {'device':<6} {'precision':<9} {'samples/s':>10} {'run (s)':>8} {'vs CPU':>7}")
    for name in args.presets:
        base = core.load_preset(name)
        cpu_rate = None
        rows = [("cpu", "fp32")] + ([("cuda", "fp32"), ("cuda", "bf16")] if cuda else [])
        for device, precision in rows:
            t = dataclasses.replace(base.training, device=device, precision=precision, epochs=args.epochs,
                                    batch_size=args.batch_size, checkpoint_every=0, snapshot_every=0)
            experiment = dataclasses.replace(base, training=t)
            with tempfile.TemporaryDirectory() as root:
                rate, total = throughput(experiment, root)
            cpu_rate = rate if device == "cpu" else cpu_rate
            ratio = f"{rate / cpu_rate:6.1f}x" if cpu_rate else "     -"
            print(f"{name:<20} {device:<6} {precision:<9} {rate:10.0f} {total:8.1f} {ratio:>7}")
    if not cuda:
        print("No CUDA device: only the CPU rows were measured.")


if __name__ == "__main__":
    main()
