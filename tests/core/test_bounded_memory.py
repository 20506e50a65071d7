"""Bounded memory for memory-mapped files (issue 19, item 4): the normaliser is fitted a chunk at a time and
exactly; a normalised copy that cannot fit is refused before it is made, and "auto" streams instead; embedding
reads a batch at a time. Peak figures for a file larger than half of RAM: bench/memory.py."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import core
from core.data import splits as splits_module
from core.data.splits import NormalizedRows, Normalizer, prepare


def memmap(tmp_path, a: np.ndarray) -> np.memmap:
    np.save(tmp_path / "x.npy", a)
    return np.load(tmp_path / "x.npy", mmap_mode="r")


def dataset(X) -> core.Dataset:
    return core.Dataset(name="big", kind="tabular", X=X, y=None, source="big.npy")


def test_the_chunked_fit_matches_the_whole_one_even_far_from_zero(tmp_path):
    rng = np.random.default_rng(0)
    X = (1e4 + rng.normal(size=(50_000, 8)) * np.arange(1, 9)).astype(np.float32)  # large mean, small spread
    rows = np.sort(rng.choice(len(X), 30_000, replace=False))
    whole = X[rows].astype(np.float64)
    for kind, shift, scale in (("standardize", whole.mean(0), whole.std(0)),
                               ("minmax", whole.min(0), whole.max(0) - whole.min(0))):
        fitted = Normalizer.fit_rows(kind, memmap(tmp_path, X), rows, chunk=4096)
        np.testing.assert_allclose(fitted.shift, shift, rtol=1e-6)
        np.testing.assert_allclose(fitted.scale, scale, rtol=1e-5)


def test_preparing_a_memory_mapped_file_makes_no_full_size_temporaries(tmp_path):
    X = memmap(tmp_path, np.random.default_rng(1).normal(size=(400_000, 16)).astype(np.float32))  # 25.6 MB
    tracemalloc.start()
    data = prepare(dataset(X), val_fraction=0.1, test_fraction=0.2, stratify=False, normalization="standardize",
                   seed=0, loading="memory")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(data.X, np.ndarray) and data.X.dtype == np.float32
    # the result itself (X.nbytes) plus chunks; a fit on the whole training split and an unchunked apply made
    # float32 and float64 copies of it (more than 2.5 x X.nbytes)
    assert peak < 1.4 * X.nbytes, peak / X.nbytes
    expected = (np.asarray(X) - np.asarray(X)[data.splits.train].mean(0)) / np.asarray(X)[data.splits.train].std(0)
    np.testing.assert_allclose(data.X, expected, rtol=1e-4, atol=1e-4)


def test_a_normalised_copy_that_cannot_fit_is_refused_and_auto_streams(tmp_path, monkeypatch):
    X = memmap(tmp_path, np.zeros((1000, 64), np.float32))  # 256 KB
    monkeypatch.setattr(splits_module, "available_memory", lambda: 200_000)
    with pytest.raises(core.DataError, match=r"big.npy: training.data_loading = \"memory\" needs 250.0 KB .* only "
                                             r"195.3 KB of memory is free"):
        prepare(dataset(X), val_fraction=0.1, test_fraction=0.2, stratify=False, normalization="standardize", seed=0,
                loading="memory")
    data = prepare(dataset(X), val_fraction=0.1, test_fraction=0.2, stratify=False, normalization="standardize",
                   seed=0, loading="auto")
    assert isinstance(data.X, NormalizedRows)  # streamed, though far below the 1 GiB threshold


def test_embedding_streamed_data_reads_a_batch_at_a_time(tmp_path, tiny_experiment, monkeypatch):
    X = np.random.default_rng(2).normal(size=(3000, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", np.arange(3000) % 3)
    import dataclasses

    exp = dataclasses.replace(tiny_experiment, data=core.DataConfig(
        name="npy", params={"path": str(tmp_path / "x.npy"), "labels_path": str(tmp_path / "y.npy")})).with_training(
        data_loading="stream", epochs=1, diagnostics_every=0, probe_every=0, snapshot_every=0)
    model = core.load_trained(core.run_to_end(core.train(exp)).run_dir)
    assert isinstance(model.data.X, NormalizedRows)
    asked = []
    original = NormalizedRows.__getitem__

    def counting(self, key):
        out = original(self, key)
        asked.append(len(out))
        return out

    monkeypatch.setattr(NormalizedRows, "__getitem__", counting)
    Z = model.embed(np.arange(3000), batch_size=512)
    assert Z.shape == (3000, 8) and max(asked) <= 512
    np.testing.assert_allclose(Z[:512], model.embed(np.arange(512)), rtol=1e-5, atol=1e-6)
