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


# ---- the evaluation suite streams the test split (robustness, invariance, reconstruction, baselines) ----------

class ArgmaxProbe:
    """A fixed 'probe': the class is the largest of the first three dimensions."""

    def predict(self, Z):
        return np.asarray(Z)[:, :3].argmax(axis=1)


def rowwise_embed(X):
    """An embedder computed row by row with element-wise operations: bit-identical whatever the batch."""
    flat = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    return np.tanh(flat[:, :6] * 1.5 + flat[:, 6:12] - flat[:, 12:18] ** 2).astype(np.float32)


def test_robustness_streamed_equals_the_whole_split_corrupted_at_once(tmp_path):
    from core.evaluation.properties import corrupt, corruption_levels, robustness

    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 1, 6, 6)).astype(np.float32)  # images: noise, occlusion and shift
    rows = np.sort(rng.choice(len(X), 301, replace=False))
    y = ArgmaxProbe().predict(rowwise_embed(X[rows]))  # clean accuracy 1, corruption lowers it
    # the reference: the whole split in memory, each (corruption, level) corrupted at once from its generator
    expected = {}
    for i, (name, levels) in enumerate(corruption_levels("image").items()):
        expected[name] = [(lv, float((ArgmaxProbe().predict(rowwise_embed(
            corrupt(X[rows], name, lv, np.random.default_rng([0, i, j])))) == y).mean())) for j, lv in enumerate(levels)]
    assert expected["gaussian_noise"][0][1] == 1.0 and expected["gaussian_noise"][-1][1] < 0.9
    for batch in (7, 64, 301, 4096):
        assert robustness(rowwise_embed, ArgmaxProbe(), X, y, "image", 0, rows=rows, batch_size=batch) == expected
    # the same from a memory-mapped, normalised-on-read copy
    streamed = NormalizedRows(memmap(tmp_path, X), Normalizer("none", np.zeros(36), np.ones(36)))
    assert robustness(rowwise_embed, ArgmaxProbe(), streamed, y, "image", 0, rows=rows, batch_size=50) == expected


def old_invariance_in_memory(embed, X, kind, seed=0):
    """The evaluation as it was before it streamed (the whole split embedded and transformed at once)."""
    from core.evaluation.properties import _r2_heldout, transforms_for

    rng = np.random.default_rng(seed)
    Z = embed(X)
    other = Z[rng.permutation(len(Z))]
    baseline = float(np.linalg.norm(Z - other, axis=1).mean()) or 1.0
    out = {}
    for t in transforms_for(kind):
        params = rng.uniform(t.low, t.high, len(X)).astype(np.float32)
        delta = embed(t.apply(X, params)) - Z
        out[t.name] = {"invariance": float(np.linalg.norm(delta, axis=1).mean()) / baseline,
                       "equivariance_r2": _r2_heldout(delta, params, seed)}
    return out


def test_invariance_streamed_equals_the_in_memory_evaluation_exactly():
    from core.evaluation.properties import invariance_equivariance

    rng = np.random.default_rng(4)
    X = rng.normal(size=(900, 1, 6, 6)).astype(np.float32)
    rows = np.sort(rng.choice(len(X), 250, replace=False))
    expected = old_invariance_in_memory(rowwise_embed, X[rows], "image", seed=5)
    assert set(expected) == {"rotation_degrees", "shift", "brightness"}
    for batch in (1, 33, 250, 2048):
        assert invariance_equivariance(rowwise_embed, X, "image", 5, rows=rows, batch_size=batch) == expected


def test_robustness_and_invariance_peak_memory_is_a_few_batches_not_the_split(tmp_path):
    from core.evaluation.properties import invariance_equivariance, robustness

    X = memmap(tmp_path, np.random.default_rng(5).normal(size=(40_000, 256)).astype(np.float32))  # 41 MB
    data = NormalizedRows(X, Normalizer("standardize", np.zeros(256), np.full(256, 2.0)))

    def peak_of(evaluation, rows) -> int:
        y = np.resize(np.arange(3), len(rows))
        tracemalloc.start()
        evaluation(rows, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak

    rob = lambda rows, y: robustness(rowwise_embed, ArgmaxProbe(), data, y, "tabular", rows=rows, batch_size=256)  # noqa: E731
    inv = lambda rows, y: invariance_equivariance(rowwise_embed, data, "tabular", rows=rows, batch_size=256)  # noqa: E731
    for evaluation in (rob, inv):
        evaluation(np.arange(600), np.zeros(600, int))  # imports (scikit-learn's) are not the evaluation's memory
    small, large = np.arange(0, 40_000, 4), np.arange(0, 40_000, 2)  # test splits of 10.2 MB and 20.5 MB
    split_bytes = len(small) * 256 * 4
    # robustness keeps counts only: its peak is a few batches of 256 rows (256 KB each), whatever the split's size;
    # the in-memory version held the split's inputs, a float64 intermediate and each corrupted copy
    rob_small, rob_large = peak_of(rob, small), peak_of(rob, large)
    assert rob_small < 0.25 * split_bytes and rob_large < 1.1 * rob_small, (rob_small, rob_large)
    # invariance keeps the split's representations (6-d here, not its 256 input features) for the R² of each transform
    inv_small = peak_of(inv, small)
    assert inv_small < 0.5 * split_bytes, inv_small / split_bytes


class RefusingRows(NormalizedRows):
    """Normalised rows that refuse any read of more than ``limit`` rows: a whole split cannot be loaded."""

    limit = 0

    def __getitem__(self, key):
        n = len(range(*key.indices(self.shape[0]))) if isinstance(key, slice) else np.size(key)
        if n > self.limit:
            raise AssertionError(f"{n} rows read at once (limit {self.limit})")
        return super().__getitem__(key)


def test_the_suite_on_streamed_data_never_reads_a_split_whole(tmp_path, tiny_experiment, monkeypatch):
    import dataclasses

    from core.data.files import common
    from core.evaluation import properties, suite

    rng = np.random.default_rng(6)
    X = rng.normal(size=(6000, 8)).astype(np.float32)
    X[:, 0] += np.arange(6000) % 3 * 2.0
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", np.arange(6000) % 3)
    exp = dataclasses.replace(tiny_experiment, data=core.DataConfig(
        name="npy", params={"path": str(tmp_path / "x.npy"), "labels_path": str(tmp_path / "y.npy")})).with_training(
        data_loading="stream", epochs=1, diagnostics_every=0, probe_every=0, snapshot_every=0)
    model = core.load_trained(core.run_to_end(core.train(exp)).run_dir)
    assert isinstance(model.data.X, NormalizedRows) and len(model.data.splits.test) == 1200
    # the evaluations that read inputs in proportion to the split, and every baseline; (layer probes read
    # 2048-row slices, CKA and smoothness a 2000-sample subset, faithfulness only the representations)
    evaluations = ("linear_probe", "knn", "robustness", "invariance")
    in_memory = core.run_to_end(core.evaluate(model, evaluations, baselines=("random_init",)))

    # the features "do not fit": the raw baseline and the standardised columns are left out, PCA is sampled
    monkeypatch.setattr(common, "available_memory", lambda: 100_000)
    monkeypatch.setattr(suite, "PCA_SAMPLE_BYTES", 500 * 8 * 4)
    monkeypatch.setattr(suite, "EMBED_BATCH", 512)
    monkeypatch.setattr(properties, "EVAL_BATCH", 256)
    RefusingRows.limit = 1000  # the test split is 1200 rows, the training split 4200
    model.data.X.__class__ = RefusingRows
    evaluation = core.run_to_end(core.evaluate(model, evaluations))
    assert set(evaluation.results) == {"learned", "pca", "random_init"}
    notes = evaluation.baseline_notes
    assert notes["raw"].startswith("left out: the 8 input features of 6000 samples (187.5 KB) do not fit")
    assert notes["hand-designed (standardised columns)"].startswith("left out: its standardised columns")
    assert "a uniform random sample of 500 of the 4,200 training samples" in notes["pca"]
    # streamed in small batches, the figures are those of the default batches (same seeds, same rows)
    for name in ("learned", "random_init"):
        a, b = evaluation.results[name], in_memory.results[name]
        assert a.robustness == b.robustness and a.invariance == b.invariance
        assert a.metrics["probe_accuracy"].value == b.metrics["probe_accuracy"].value
    assert evaluation.results["learned"].robustness["gaussian_noise"][0][1] == \
        evaluation.results["learned"].metrics["probe_accuracy"].value  # level 0 is the clean test split


def test_reconstruction_streamed_matches_the_whole_split(tiny_experiment, monkeypatch):
    import dataclasses

    import torch

    from core.evaluation import properties
    from core.objectives.vae import active_units

    exp = dataclasses.replace(tiny_experiment, objective=core.ObjectiveConfig(name="vae", params={"latent_dim": 4}))
    exp = exp.with_training(epochs=1, diagnostics_every=0, probe_every=0, snapshot_every=0)
    model = core.load_trained(core.run_to_end(core.train(exp)).run_dir)
    test = model.data.splits.test

    def reconstruction(batch):
        monkeypatch.setattr(properties, "EVAL_BATCH", batch)
        torch.manual_seed(0)
        return core.run_to_end(core.evaluate(model, ("reconstruction",), baselines=())).learned.metrics

    whole, streamed = reconstruction(10_000), reconstruction(37)
    assert whole["reconstruction_mse"].value == pytest.approx(streamed["reconstruction_mse"].value, rel=1e-6)
    assert whole["psnr_db"].value == pytest.approx(streamed["psnr_db"].value, rel=1e-6)
    # the active units are a variance over the whole split, not a mean of batch variances
    mu = torch.from_numpy(model.embed(test))
    assert streamed["active_units"].value == whole["active_units"].value == float(active_units(mu))
    # the ELBO is sampled (z = μ + σε), so batches draw other ε: equal in expectation, close here
    assert streamed["elbo"].value == pytest.approx(whole["elbo"].value, rel=0.05)


def test_hand_designed_features_fitted_a_batch_at_a_time_equal_the_whole_fit():
    from core.evaluation.handcrafted import handcrafted_baseline

    rng = np.random.default_rng(7)
    for kind, X in (("tabular", (50 + 3 * rng.normal(size=(700, 9))).astype(np.float32)),
                    ("image", rng.random((700, 1, 8, 8)).astype(np.float32))):
        rows = np.sort(rng.choice(len(X), 400, replace=False))
        whole = handcrafted_baseline(kind, X[rows])
        batched = handcrafted_baseline(kind, X, rows=rows, batch_size=37)  # the tabular columns' moments merged
        np.testing.assert_allclose(batched.transform(X[:100]), whole.transform(X[:100]), rtol=1e-5, atol=1e-5)
        assert batched.name == whole.name


def test_chunks_of_a_wide_file_are_bounded_by_bytes_not_rows(tmp_path, monkeypatch):
    # 16384 rows of a 16384-wide file made one 2 GiB float64 chunk: a 5 GiB file peaked at 5.5 GiB while fitting
    X = memmap(tmp_path, np.random.default_rng(8).normal(size=(1000, 4096)).astype(np.float32))  # 16 MB
    monkeypatch.setattr(splits_module, "CHUNK_BYTES", 1 << 20)
    tracemalloc.start()
    fitted = Normalizer.fit_rows("standardize", X, np.arange(0, 1000, 2))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 << 20, peak  # a 1 MB float64 chunk, its squared deviations and the float32 rows read
    whole = np.asarray(X[::2], dtype=np.float64)
    np.testing.assert_allclose(fitted.shift, whole.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fitted.scale, whole.std(0), rtol=1e-5)
    tracemalloc.start()
    out = fitted.apply(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < X.nbytes + (3 << 20), peak - X.nbytes  # the result and the temporaries of one 1 MB chunk
    np.testing.assert_allclose(out[:3], (X[:3] - fitted.shift) / fitted.scale, rtol=1e-6)
