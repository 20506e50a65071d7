"""Where the training step's samples come from: all of them on the device, or streamed from a memory-mapped file.

Both answer ``rows[idx]`` (a tensor of sample indices) with a float32 tensor on the training device. Streaming
reads and normalises only the rows asked for, and ``prefetch`` lets loader threads read the next batches while
the current one trains (reading a memory-mapped file and NumPy's copies release the GIL).
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from core.data.splits import NormalizedRows

PREFETCH_LIMIT = 8  # batches read ahead at most


class DeviceRows:
    """Every sample on the device (data that fits: the default)."""

    def __init__(self, X: np.ndarray, device: torch.device):
        self.tensor = torch.from_numpy(np.asarray(X)).to(device)  # on the CPU a memory-mapped file stays mapped

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        return self.tensor[idx]

    def prefetch(self, idx: torch.Tensor) -> None:
        pass

    def close(self) -> None:
        pass


class StreamedRows:
    """Rows read from a memory-mapped dataset per batch, by ``workers`` loader threads (0 = read when asked)."""

    def __init__(self, X: NormalizedRows, device: torch.device, workers: int = 2):
        self.X = X
        self.device = device
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="replearn-loader") if workers > 0 else None
        self._pending: dict[bytes, Future] = {}

    def _load(self, rows: np.ndarray) -> torch.Tensor:
        batch = torch.from_numpy(self.X[rows])
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        return batch.to(self.device, non_blocking=True)

    def prefetch(self, idx: torch.Tensor) -> None:
        if self.pool is None or len(self._pending) >= PREFETCH_LIMIT:
            return
        rows = idx.cpu().numpy()
        key = rows.tobytes()
        if key not in self._pending:
            self._pending[key] = self.pool.submit(self._load, rows)

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        rows = idx.cpu().numpy() if isinstance(idx, torch.Tensor) else np.asarray(idx)
        future = self._pending.pop(rows.tobytes(), None)
        return future.result() if future is not None else self._load(rows)

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def rows_for(X: np.ndarray | NormalizedRows, device: torch.device, workers: int) -> DeviceRows | StreamedRows:
    return StreamedRows(X, device, workers) if isinstance(X, NormalizedRows) else DeviceRows(X, device)
