"""Shared fixtures. Qt is never imported here: tests/core must pass without Qt installed."""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the shared settings (runs folder) of the test session, never the user's own
os.environ["REPLEARN_CONFIG_DIR"] = tempfile.mkdtemp(prefix="replearn-settings-")
os.environ["REPLEARN_RUNS"] = tempfile.mkdtemp(prefix="replearn-runs-")  # runs with the default output root


def _numba_compilations_kept_on_disk() -> None:
    """umap-learn and pynndescent mark few of their numba functions ``cache=True``: each test session compiled
    AlignedUMAP's layout (~55 s on 2 shared cores), NN-descent (~60 s) and UMAP (~10 s) again. In the tests every
    numba function is cached, in the suite's own folder (``.pytest_cache/numba``, never the user's cache): the
    first session compiles and writes, later ones load. The code run is the same; functions numba cannot cache
    (it warns) are compiled as before."""
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                 ".pytest_cache", "numba")
    try:
        import numba
        from numba.core import decorators
    except ImportError:
        return
    real = decorators.jit

    def jit(*args, **kwargs):
        kwargs.setdefault("cache", True)
        return real(*args, **kwargs)

    decorators.jit = jit  # numba.njit calls it
    numba.jit = jit


_numba_compilations_kept_on_disk()


@pytest.fixture
def tiny_experiment(tmp_path):
    """A seconds-long digits experiment writing under tmp_path."""
    import core

    return core.Experiment(
        name="tiny",
        data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=4, batch_size=128, lr=3e-3, device="cpu", snapshot_points=200,
                                     eval_points=128),
        output=core.OutputConfig(root=str(tmp_path / "runs")),
    )


@pytest.fixture(scope="session")
def explored_run(tmp_path_factory):
    """One finished digits run with epoch snapshots, shared by the explorer's core and GUI tests (they may add
    caches to it, embeddings and projections, but never change what training wrote)."""
    import core

    exp = core.Experiment(
        name="explore", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=3, batch_size=128, device="cpu", snapshot_points=150, eval_points=128),
        output=core.OutputConfig(root=str(tmp_path_factory.mktemp("explore"))))
    return core.run_to_end(core.train(exp)).run_dir
