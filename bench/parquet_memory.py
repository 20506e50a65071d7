"""Memory of the Parquet reader on a file of vectors: peak anonymous memory (heap, not the memory-mapped cache's
file-backed pages) while loading with memory_map="always", against pyarrow's read_table + to_numpy.

    python bench/parquet_memory.py [--rows 1000000] [--dim 64]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def rss_anon_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Peak:
    """Samples RssAnon every few milliseconds while a block runs."""

    def __enter__(self):
        self.base, self.peak, self._stop = rss_anon_mb(), 0.0, False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, rss_anon_mb())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self.peak = max(self.peak, rss_anon_mb())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=64)
    args = ap.parse_args()
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.data.base import DATASETS

    tmp = Path(tempfile.mkdtemp())
    os.environ["REPLEARN_CACHE_DIR"] = str(tmp / "cache")
    path = tmp / "vectors.parquet"
    with pq.ParquetWriter(path, pa.schema([("id", pa.int64()), ("embedding", pa.list_(pa.float32(), args.dim))])) as w:
        rng = np.random.default_rng(0)
        for start in range(0, args.rows, 65536):
            n = min(65536, args.rows - start)
            Z = rng.normal(size=(n, args.dim)).astype(np.float32)
            w.write_table(pa.table({"id": np.arange(start, start + n),
                                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(Z.reshape(-1)), args.dim)}))
    size = args.rows * args.dim * 4 / 2**20
    entry = DATASETS.get("parquet")
    with Peak() as ours:
        t0 = time.perf_counter()
        ds = entry.cls(entry.make_params({"path": str(path), "memory_map": "always", "kind": "embeddings"})).load()
        ours_s = time.perf_counter() - t0
    assert isinstance(ds.X, np.memmap) and ds.X.shape == (args.rows, args.dim)
    del ds
    with Peak() as plain:
        t0 = time.perf_counter()
        table = pq.read_table(path, columns=["embedding"])
        X = table.column("embedding").combine_chunks().flatten().to_numpy().reshape(-1, args.dim)
        plain_s = time.perf_counter() - t0
    del X, table
    print(f"{args.rows} x {args.dim} float32 = {size:.0f} MB of features")
    print(f"parquet reader, memory_map=always: +{ours.peak - ours.base:.0f} MB anonymous peak, {ours_s:.2f} s")
    print(f"pq.read_table + to_numpy:          +{plain.peak - plain.base:.0f} MB anonymous peak, {plain_s:.2f} s")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
