"""BLAS bounded around monitoring: the pool really is limited inside the block and restored after."""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from core.threads import blas_threads_for, limit_blas


def _blas_threads() -> list[int]:
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure NumPy's BLAS is loaded
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_limit_blas_bounds_the_pool_inside_the_block_and_restores_it():
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine, whatever the test runner set
        before = _blas_threads()
        assert before and all(n == 2 for n in before)  # NumPy links a BLAS
        with limit_blas(1):
            assert _blas_threads() == [1] * len(before)
        assert _blas_threads() == before
        with limit_blas(None):  # None leaves the pool alone
            assert _blas_threads() == before


def test_thread_count_follows_problem_size():
    assert blas_threads_for(2000, 64) == 1  # the online probe on the eval batch
    assert blas_threads_for(200_000, 512) is None  # a big final probe: all cores


def test_knn_probe_in_small_blocks_votes_like_scikit_learn_weighted_knn():
    # a block of similarities bounded to a few queries must not change the vote: compare with scikit-learn's
    # KNeighborsClassifier using the same cosine neighbours and exp(sim / T) weights
    from sklearn.neighbors import KNeighborsClassifier

    import core

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 8)).astype(np.float32), rng.integers(0, 4, 600)
    probe = core.KNNProbe(k=7, temperature=0.5).fit(X[:500], y[:500])
    probe.SCORE_BYTES = 4 * 500 * 16  # 16 queries per block: 7 blocks for 100 queries
    ours = probe.predict(X[500:])
    ref = KNeighborsClassifier(n_neighbors=7, metric="cosine",
                               weights=lambda d: np.exp((1 - d) / 0.5)).fit(X[:500], y[:500]).predict(X[500:])
    np.testing.assert_array_equal(ours, ref)
