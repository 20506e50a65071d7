"""Our PCA / t-SNE / UMAP against the bare library call on the same data, side by side, after a warm-up.

    python bench/projection.py [--n 5000] [--dim 64] [--repeats 3] [--methods pca tsne umap]

Target: our time / bare time <= 1.05 (the wrapper adds progress events, chunking and caching, nothing else).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np

import core

warnings.filterwarnings("ignore")



def bare(method: str, X: np.ndarray) -> np.ndarray:
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=0).fit_transform(X)
    if method == "tsne":
        from openTSNE import TSNE

        return np.asarray(TSNE(n_components=2, perplexity=30, n_jobs=1, random_state=0, n_iter=500,
                               early_exaggeration_iter=250).fit(X))
    import umap

    return umap.UMAP(n_components=2, n_neighbors=15, random_state=0).fit_transform(X)


def ours(method: str, X: np.ndarray) -> np.ndarray:
    return core.run_to_end(core.project(X, method)).coords


def alternating(fa, fb, repeats: int) -> tuple[float, float]:
    """Medians of ``repeats`` alternating timings of ``fa`` and ``fb`` (a, b, a, b, ...): a shared machine's
    load then weighs on both alike."""
    ta, tb = [], []
    for _ in range(repeats):
        for fn, times in ((fa, ta), (fb, tb)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["pca", "tsne", "umap"])
    parser.add_argument("--pca-n", type=int, default=200_000, help="PCA is timed on more points: 5,000 take ~3 ms")
    args = parser.parse_args()
    from sklearn.datasets import make_blobs

    X = make_blobs(args.n, n_features=args.dim, centers=10, random_state=0)[0].astype(np.float32)
    print(f"{args.n} x {args.dim} float32 (10 blobs), median of {args.repeats} alternating runs after one warm-up "
          f"call each; load average {os.getloadavg()[0]:.1f}")
    print(f"{'method':<6} {'bare (s)':>9} {'ours (s)':>9} {'ratio':>6}")
    big = make_blobs(args.pca_n, n_features=args.dim, centers=10, random_state=0)[0].astype(np.float32)
    for method in args.methods:
        data = big if method == "pca" else X
        cold = time.perf_counter()  # warm-up on the same data: numba compiles per code path (sizes above 4096
        ours(method, data)  # points take another path in pynndescent)
        bare(method, data)
        cold = time.perf_counter() - cold
        b, o = alternating(lambda m=method, d=data: bare(m, d), lambda m=method, d=data: ours(m, d),
                           args.repeats + (4 if method == "pca" else 0))
        print(f"{method:<6} {b:9.2f} {o:9.2f} {o / b:6.2f}   ({len(data):,} points; warm-up incl. compilation: "
              f"{cold:.1f} s)", flush=True)
    print("bare = scikit-learn PCA / openTSNE TSNE(n_jobs=1) / umap-learn UMAP with its own neighbour search; ours = "
          "core.project with exact blocked kNN, chunked t-SNE (25 iterations per update), UMAP on precomputed kNN.")


if __name__ == "__main__":
    main()
