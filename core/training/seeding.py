"""Seeds, devices and the shuffling order: everything that makes a run repeatable."""
from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator

import numpy as np
import torch

from core.errors import DeviceError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# torch's default generators (CPU, and one per CUDA device) are process-wide: the views, dropout and weight
# initialisation all draw from them. A model built in another thread (the explorer reading a run's layer names,
# an evaluation) used to reseed them while a run trained, and the run's losses then depended on when that
# happened. Every user of those generators in core holds this lock while it draws, and a run keeps its own
# stream (:class:`RunRng`), so no other work in the process changes a run's numbers.
GLOBAL_RNG_LOCK = threading.RLock()


def _cuda_devices() -> list[int]:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() and torch.cuda.is_initialized() else []


@contextlib.contextmanager
def global_rng(seed: int | None = None) -> Iterator[None]:
    """torch's default generators for this block alone: locked against the other threads, seeded with ``seed``
    (if given), and restored afterwards, so whoever uses them next finds them as they were."""
    with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=_cuda_devices()):
        if seed is not None:
            torch.manual_seed(seed)
        yield


class RunRng:
    """A run's own random stream: the state of torch's default generators as the run last left them. Inside
    :meth:`active` the run draws from them as usual (the lock held); outside, other code may use them freely."""

    def __init__(self, device: torch.device):
        self.cuda = (device.index or 0) if device.type == "cuda" else None
        self.capture()

    def capture(self) -> None:
        """Take the generators' current state as the run's (call it holding :data:`GLOBAL_RNG_LOCK`)."""
        self.cpu = torch.get_rng_state()
        self.cuda_state = torch.cuda.get_rng_state(self.cuda) if self.cuda is not None else None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with GLOBAL_RNG_LOCK:
            torch.set_rng_state(self.cpu)
            if self.cuda is not None and self.cuda_state is not None:
                torch.cuda.set_rng_state(self.cuda_state, self.cuda)
            try:
                yield
            finally:
                self.capture()


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffling order of one epoch, a pure function of (seed, epoch): resuming mid-run needs no state."""
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + epoch * 7_919) % (2**63 - 1))
    return torch.randperm(n, generator=g)


def resolve_device(spec: str) -> torch.device:
    """``auto`` → CUDA, else MPS, else CPU; an explicit device must exist on this machine."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("training.device", f"{spec!r} was requested but this machine has no CUDA device",
                              value=spec, allowed="auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError("training.device", f"{spec!r} does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)", value=spec)
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceError("training.device", "'mps' was requested but Apple's Metal backend is not available",
                          value=spec, allowed="auto or cpu")
    return device


def lr_factor(schedule: str, step: int, total_steps: int, warmup_steps: int) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based): linear warm-up, then the decay."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    if schedule == "cosine":
        return 0.5 * (1.0 + np.cos(np.pi * progress))
    if schedule == "linear":
        return 1.0 - progress
    raise ValueError(f"unknown schedule {schedule!r}")
