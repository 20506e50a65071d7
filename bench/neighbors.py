"""Exact kNN query latency on 100k x 128 float32, beside a bare torch matmul + topk, and the approximate index.

    python bench/neighbors.py [--n 100000] [--dim 128] [--threads 2]

Targets (2 cores): one query <= 5 ms; 1000 queries <= 0.5 s; the approximate index's recall@10 reported.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import core


def timed(fn, repeats: int = 5) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-approximate", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    one = X[:1]
    thousand = X[:1000]
    index = core.ExactIndex(X, "cosine")
    data = torch.nn.functional.normalize(torch.from_numpy(X), dim=1)

    def bare(q):
        qt = torch.nn.functional.normalize(torch.from_numpy(q), dim=1)
        return (qt @ data.T).topk(10, dim=1)

    print(f"{args.n:,} x {args.dim} float32, cosine, k = 10, {args.threads} torch thread(s), best of 5")
    print(f"{'':<22} {'1 query (ms)':>13} {'1000 queries (s)':>17}")
    print(f"{'bare matmul + topk':<22} {timed(lambda: bare(one)) * 1e3:13.2f} {timed(lambda: bare(thousand)):17.3f}")
    print(f"{'core.ExactIndex':<22} {timed(lambda: index.query(one, 10)) * 1e3:13.2f} "
          f"{timed(lambda: index.query(thousand, 10)):17.3f}")
    if not args.skip_approximate:
        from sklearn.datasets import make_blobs

        clustered = make_blobs(args.n, n_features=args.dim, centers=200, cluster_std=4.0, random_state=0)[0]
        for label, data in (("isotropic Gaussian (worst case)", X), ("200 clusters", clustered.astype(np.float32))):
            t = time.perf_counter()
            approx = core.knn(data, 10, "cosine", approximate=True)
            print(f"approximate (pynndescent) graph, {label}: {time.perf_counter() - t:.1f} s (the first includes "
                  f"numba compilation), recall@10 = {approx.recall:.3f} on 200 random points")


if __name__ == "__main__":
    main()
