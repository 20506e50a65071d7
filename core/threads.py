"""How many threads the numeric libraries may use, chosen by problem size.

torch's OpenMP pool and the BLAS pool that NumPy and scikit-learn share are separate. After a training step the
OpenMP threads spin for a while waiting for more work; a BLAS call made then (an SVD in the diagnostics, the
lbfgs solver of a probe) starts its own threads on the same cores, and on small problems the two pools fight:
measured on 2 cores, ``LogisticRegression`` on 1258 x 256 took 11 ms with one BLAS thread and 64 ms with two.
Monitoring and evaluation therefore run with BLAS bounded to one thread unless the problem is big enough for more
threads to pay (:func:`blas_threads_for`).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

# Below this many multiply-adds per call, more BLAS threads cost more than they give (2 cores, OpenBLAS):
# a 2000 x 256 probe fit is ~5e5 per iteration; an SVD of 20k x 512 is ~5e9
PARALLEL_BLAS_FROM = 5e8


@functools.cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspecting the loaded libraries takes milliseconds: once per process


def blas_threads_for(rows: int, width: int) -> int | None:
    """One BLAS thread for small problems; ``None`` (the library's default, all cores) for big ones."""
    return None if float(rows) * width * width >= PARALLEL_BLAS_FROM else 1


@contextlib.contextmanager
def limit_blas(threads: int | None = 1) -> Iterator[None]:
    """Bound the BLAS / OpenMP pools of NumPy, SciPy and scikit-learn (not torch's) inside the block.
    ``None`` leaves them as they are."""
    if threads is None:
        yield
        return
    with _controller().limit(limits=threads, user_api="blas"):
        yield
