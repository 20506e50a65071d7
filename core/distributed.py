"""Data-parallel training on PyTorch's own distributed engine (``torchrun``; gloo on CPUs, NCCL on GPUs).

The contract: N processes with batch B give the run of one process with batch N·B, up to floating-point error.

* Every process walks the same global batches (shuffling is a function of seed and epoch); process r trains on
  rows [r·B, (r+1)·B) of each. A global batch that does not fill all processes is skipped.
* Batch-dependent losses see the whole global batch: :func:`gather` concatenates every process's rows with a
  differentiable all-gather, so SimCLR's negatives, VICReg's variance and covariance and Barlow Twins'
  cross-correlation are those of the N·B samples. Each process then computes the same loss; the all-gather's
  backward sums the N identical gradients of its own rows and DistributedDataParallel averages over the
  processes, which gives exactly the gradient of the one-process loss.
* BatchNorm layers become :class:`GlobalBatchNorm` (PyTorch's SyncBatchNorm refuses CPU tensors): statistics
  over all processes' rows, by the same reasoning.
* Augmentations draw random numbers for the whole global batch in every process (all processes hold the same
  random state), and each keeps its rows: the views are those of the one-process run. This costs N times the
  augmentation work, which is small beside the encoder's.
* Only rank 0 writes the run directory, evaluates, takes snapshots and checkpoints.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_context = Context()
_gathering = False


def current() -> Context:
    return _context


def setup(device: str) -> Context:
    """Join the process group that ``torchrun`` describes in the environment (WORLD_SIZE, RANK, LOCAL_RANK,
    MASTER_ADDR, MASTER_PORT); a single process when there is none."""
    global _context
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        _context = Context()
        return _context
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    _context = Context(rank=dist.get_rank(), world=dist.get_world_size(),
                       local_rank=int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return _context


def device_for(device: str, context: Context) -> str:
    """Each process on a GPU of its own: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun."""
    if context.enabled and device in ("cuda", "auto") and torch.cuda.is_available():
        return f"cuda:{context.local_rank}"
    return device


@contextlib.contextmanager
def gathering():
    """Inside, :func:`gather` and :class:`GlobalBatchNorm` act across processes (the training step only:
    rank 0 evaluating alone must not wait for the others)."""
    global _gathering
    previous, _gathering = _gathering, _context.enabled
    try:
        yield
    finally:
        _gathering = previous


def active() -> bool:
    return _gathering


def gather(t: torch.Tensor) -> torch.Tensor:
    """Every process's rows of ``t``, in rank order (= the global batch's order), with gradients."""
    if not _gathering:
        return t
    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():  # its replacement is private API; this one is the documented autograd one
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(all_gather(t), dim=0)


def agree_to_stop(stop: bool) -> bool:
    """True everywhere when any process wants to stop (a command reaches rank 0 only)."""
    if not _context.enabled:
        return stop
    import torch.distributed as dist

    flag = torch.tensor([1.0 if stop else 0.0])
    if dist.get_backend() == "nccl":
        flag = flag.cuda()
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics cover every process's rows (any input rank: N×C, N×C×L, N×C×H×W)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input (got {input.dim()}-D)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _gathering):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0] + list(range(2, x.dim()))
        local = torch.stack([x.sum(dims), (x * x).sum(dims)])
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        total = all_reduce(torch.cat([local.flatten(), count]))
        c = x.shape[1]
        n = total[-1]
        mean = total[:c] / n
        var = total[c:2 * c] / n - mean * mean  # biased, as BatchNorm normalises with
        if self.track_running_stats:
            assert self.running_mean is not None and self.running_var is not None
            assert self.num_batches_tracked is not None  # track_running_stats made all three
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * var.detach() * n / max(float(n) - 1, 1.0))
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_batch_norm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer by a :class:`GlobalBatchNorm` holding the same parameters and buffers (the
    state dict keys stay the same, so checkpoints move freely between one and many processes)."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, GlobalBatchNorm):
            replacement = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                          child.track_running_stats)
            replacement.load_state_dict(child.state_dict())
            replacement.to(next(child.buffers(), torch.empty(0)).device)
            setattr(module, name, replacement)
        else:
            convert_batch_norm(child)
    return module


def shutdown() -> None:
    """Leave the process group when every process is done (a process that exits while another still talks to it
    gets the gloo transport aborted under it)."""
    global _context
    if not _context.enabled:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
    _context = Context()
