"""Exact kNN query latency on 100k x 128 float32, beside a bare torch matmul + topk, and the approximate index.

    python bench/neighbors.py [--n 100000] [--dim 128] [--threads 2]

Targets (2 cores): one query <= 5 ms; 1000 queries <= 0.5 s at 100k; at 1M x 128 (`--n 1000000`) 1000 queries
no slower than faiss' exact `IndexFlatIP` (a baseline when faiss-cpu is installed — `pip install faiss-cpu`, not
a dependency) while one query stays the fastest; the approximate index's recall@10 reported.
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
    parser.add_argument("--repeats", type=int, default=5)
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

    print(f"{args.n:,} x {args.dim} float32, cosine, k = 10, {args.threads} torch thread(s), best of {args.repeats}")
    print(f"{'':<22} {'1 query (ms)':>13} {'1000 queries (s)':>17}")
    # the bare product of 1000 queries holds a 1000 x n score matrix (4 GB at 1M): measured up to 200k points
    bare_many = f"{timed(lambda: bare(thousand), args.repeats):17.3f}" if args.n <= 200_000 else f"{'(4 GB: skipped)':>17}"
    print(f"{'bare matmul + topk':<22} {timed(lambda: bare(one), args.repeats) * 1e3:13.2f} {bare_many}")
    ours_one, ours_many = timed(lambda: index.query(one, 10), args.repeats), timed(lambda: index.query(thousand, 10), args.repeats)
    print(f"{'core.ExactIndex':<22} {ours_one * 1e3:13.2f} {ours_many:17.3f}")
    try:
        import faiss
    except ImportError:
        print("faiss not installed: no faiss baseline")
    else:
        faiss.omp_set_num_threads(args.threads)
        flat = faiss.IndexFlatIP(args.dim)
        flat.add(data.numpy())
        qn = torch.nn.functional.normalize(torch.from_numpy(thousand), dim=1).numpy()
        f_one, f_many = timed(lambda: flat.search(qn[:1], 10), args.repeats), timed(lambda: flat.search(qn, 10), args.repeats)
        print(f"{'faiss IndexFlatIP':<22} {f_one * 1e3:13.2f} {f_many:17.3f}")
        same = (flat.search(qn, 10)[1] == index.query(thousand, 10).indices).mean()
        print(f"ratio core / faiss: 1 query {ours_one / f_one:.2f}x, 1000 queries {ours_many / f_many:.2f}x "
              f"(same neighbours: {same:.4f})")
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
