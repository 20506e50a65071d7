"""Projections, nearest neighbours and exports."""
from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

import core


def drive(gen):
    """(events, result) of a progress generator."""
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return events, stop.value


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(300, n_features=12, centers=4, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
@pytest.mark.parametrize("dims", [2, 3])
def test_shapes_and_determinism(blobs, method, dims):
    X, _ = blobs
    params = {"n_components": dims, "random_state": 3}
    if method == "tsne":
        params.update(n_iter=100, early_exaggeration_iter=50)
    a = core.PROJECTIONS.get(method).cls(**params).fit_transform(X)
    b = core.PROJECTIONS.get(method).cls(**params).fit_transform(X)
    assert a.shape == (300, dims) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_tsne_streams_partial_layouts_and_cancels_quickly(blobs):
    X, _ = blobs
    gen = core.project(X, "tsne", {"n_iter": 200, "early_exaggeration_iter": 100, "chunk": 20})
    partial = [e for e in (next(gen) for _ in range(4)) if e.coords is not None]
    assert len(partial) >= 2 and partial[0].coords.shape == (300, 2)
    assert not np.allclose(partial[0].coords, partial[-1].coords)  # the layout moves between chunks
    fractions = [e.fraction for e in partial]
    assert fractions == sorted(fractions)
    start = time.perf_counter()
    gen.close()
    assert time.perf_counter() - start < 1.0


def test_umap_cancels_within_a_second(blobs):
    X, _ = blobs
    gen = core.project(X, "umap", {"n_epochs": 2000})
    next(gen)
    next(gen)
    start = time.perf_counter()
    gen.close()
    assert time.perf_counter() - start < 1.0


def test_umap_progress_reports_its_real_phases_and_every_epoch(blobs):
    X, _ = blobs
    events, coords = drive(core.project(X, "umap", {"n_epochs": 120, "random_state": 1}))
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    messages = [e.message for e in events]
    assert "neighbours" in messages[0] and any("neighbour graph" in m for m in messages)
    import re

    epochs = [int(m.group(1)) for m in (re.search(r"epoch (\d+) of 120", t) for t in messages) if m]
    assert epochs and epochs == sorted(epochs) and max(epochs) <= 120
    # the bar follows the epochs, not a clock: the fraction at epoch e is 0.2 + 0.8 e / 120
    for e in events:
        found = re.search(r"epoch (\d+) of 120", e.message)
        if found:
            assert e.fraction == pytest.approx(0.2 + 0.8 * int(found.group(1)) / 120)
    assert coords.coords.shape == (300, 2)


def test_cache_hits_and_misses(blobs, tmp_path):
    X, _ = blobs
    cache = core.ProjectionCache(tmp_path / "cache")
    _, first = drive(core.project(X, "pca", cache=cache))
    _, second = drive(core.project(X, "pca", cache=cache))
    assert not first.cached and second.cached
    np.testing.assert_array_equal(first.coords, second.coords)
    assert second.params == first.params == {"n_components": 2, "random_state": 0}
    _, other = drive(core.project(X, "pca", {"n_components": 3}, cache=cache))
    assert not other.cached and other.coords.shape == (300, 3)
    _, changed = drive(core.project(X + 1e-3, "pca", cache=cache))
    assert not changed.cached
    next(iter(cache.directory.glob("*.npz"))).write_bytes(b"torn")  # a damaged entry is recomputed
    assert len(list(cache.directory.glob("*.npz"))) == 3


def test_perplexity_too_large_names_the_field():
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    with pytest.raises(core.ConfigError) as info:
        drive(core.project(X, "tsne", {"perplexity": 30}))
    assert info.value.field == "projection.params.perplexity" and "too large for 30 points" in str(info.value)
    with pytest.raises(core.ConfigError) as info:
        drive(core.project(X, "tsne", {"perplexity": -1}))
    assert info.value.field == "projection.params.perplexity"


@pytest.mark.parametrize("method, tolerance", [("pca", 1e-5), ("tsne", 0.05), ("umap", 0.05)])
def test_aligned_sequences_move_little_for_unchanged_inputs(blobs, method, tolerance):
    X, _ = blobs
    # 100 UMAP epochs instead of 500 (the default at 300 points): moved / spread 0.029 (0.019 with 500)
    params = {"n_iter": 200, "early_exaggeration_iter": 100} if method == "tsne" else (
        {"n_epochs": 100} if method == "umap" else {})
    events, layouts = drive(core.aligned_sequence([X, X.copy()], method, params))
    spread = np.linalg.norm(layouts[0] - layouts[0].mean(0), axis=1).mean()
    moved = np.linalg.norm(layouts[1] - layouts[0], axis=1).mean()
    assert moved / spread < tolerance
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions)  # progress only goes forward
    if method == "umap":  # AlignedUMAP's real phases: each snapshot's layout, then the joint one, epoch by epoch
        text = " ".join(e.message for e in events)
        assert "snapshot 1 of 2" in text and "aligning the 2 layouts together" in text
        assert max(fractions) > 0.9


def test_pca_sequence_is_aligned_by_procrustes(blobs):
    X, _ = blobs
    rotated = X @ np.linalg.qr(np.random.default_rng(1).normal(size=(12, 12)))[0].astype(np.float32)
    _, layouts = drive(core.aligned_sequence([X, rotated], "pca"))
    np.testing.assert_allclose(layouts[0], layouts[1], atol=1e-3)  # a rotated representation is the same picture


# ---- neighbours ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_knn_equals_scikit_learn(metric):
    X = np.random.default_rng(0).normal(size=(700, 24)).astype(np.float32)
    ours = core.knn(X, 10, metric)
    d, i = NearestNeighbors(n_neighbors=11, metric=metric).fit(X).kneighbors(X)
    np.testing.assert_array_equal(ours.indices, i[:, 1:])
    np.testing.assert_allclose(ours.distances, d[:, 1:], atol=1e-5)
    assert ours.exact and ours.recall == 1.0
    Q = np.random.default_rng(1).normal(size=(5, 24)).astype(np.float32)
    d, i = NearestNeighbors(n_neighbors=3, metric=metric).fit(X).kneighbors(Q)
    np.testing.assert_array_equal(core.knn(X, 3, metric, queries=Q).indices, i)


def test_blocked_search_gives_the_same_answer_as_one_block():
    X = np.random.default_rng(2).normal(size=(500, 8)).astype(np.float32)
    small = core.ExactIndex(X, "euclidean", block=7).query(X, 5, exclude_self=np.arange(500))
    big = core.ExactIndex(X, "euclidean", block=4096).query(X, 5, exclude_self=np.arange(500))
    np.testing.assert_array_equal(small.indices, big.indices)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_tiled_search_over_many_database_tiles_equals_scikit_learn(metric):
    # 300 queries against 5,000 points in tiles of 97 points: the running top-k is merged 52 times, and a
    # query's own index falls inside one tile only
    X = np.random.default_rng(3).normal(size=(5000, 12)).astype(np.float32)
    index = core.ExactIndex(X, metric, block=50)
    index.SCORE_BYTES = 4 * 300 * 97
    ours = index.query(X[:300], 6, exclude_self=np.arange(300))
    d, i = NearestNeighbors(n_neighbors=7, metric=metric).fit(X).kneighbors(X[:300])
    np.testing.assert_array_equal(ours.indices, i[:, 1:])
    np.testing.assert_allclose(ours.distances, d[:, 1:], atol=1e-5)


def test_approximate_knn_reports_its_recall():
    X, _ = make_blobs(2000, n_features=16, centers=10, random_state=0)
    approx = core.knn(X.astype(np.float32), 10, "euclidean", approximate=True)
    assert not approx.exact and 0.8 <= approx.recall <= 1.0
    assert approx.indices.shape == (2000, 10) and not (approx.indices == np.arange(2000)[:, None]).any()


def test_knn_with_k_larger_than_n_is_capped_and_tiny_inputs_refused():
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    assert core.knn(X, 50).indices.shape == (5, 4)
    with pytest.raises(ValueError, match="at least two points"):
        core.knn(X[:1], 3)


def test_layout_neighbours_and_churn(blobs):
    X, _ = blobs
    coords = core.PROJECTIONS.get("pca").cls().fit_transform(X)
    full = core.knn(X, 10, "euclidean")
    flat = core.layout_neighbours(coords, 10)
    churn = core.neighbour_churn(full, flat)
    assert churn.shape == (300,) and churn.min() >= 0 and churn.max() <= 1
    np.testing.assert_array_equal(core.neighbour_churn(full, full), 0)
    shifted = core.Neighbours((full.indices + 1) % 300, full.distances, "euclidean", True)
    assert core.neighbour_churn(full, shifted).mean() > 0.5


# ---- exports ------------------------------------------------------------------------------------------------


def digits():
    e = core.DATASETS.get("digits")
    return e.cls(e.make_params()).load()


def test_npy_and_csv_exports_parse_back(tmp_path):
    ds = digits()
    idx = np.arange(20)
    Z = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    coords = Z[:, :2] * 2
    core.write_npy(tmp_path / "z.npy", Z)
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy", allow_pickle=False), Z)
    core.write_embeddings_csv(tmp_path / "z.csv", ds, idx, Z, coords)
    rows = list(csv.DictReader((tmp_path / "z.csv").read_text().splitlines()))
    assert len(rows) == 20 and rows[3]["label"] == ds.label_names[ds.y[3]]
    assert float(rows[5]["z2"]) == pytest.approx(Z[5, 2], rel=1e-6) and float(rows[5]["y"]) == pytest.approx(coords[5, 1])


def test_csv_export_neutralises_formulas_but_keeps_numbers(tmp_path):
    core.write_csv(tmp_path / "s.csv", {"name": ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM", "plain"], "value": [-1.5, 2, 3, 4, 5]})
    rows = list(csv.reader((tmp_path / "s.csv").read_text().splitlines()))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM", "plain"]
    assert rows[1][1] == "-1.5"  # a negative number stays a number


def test_projector_files_parse_back(tmp_path):
    ds = digits()
    idx = np.arange(50)
    Z = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    files = core.write_projector(tmp_path / "proj", ds, idx, Z)
    tensor = np.loadtxt(files["tensor"], delimiter="\t")
    np.testing.assert_allclose(tensor, Z, rtol=1e-5)
    meta = files["metadata"].read_text().splitlines()
    assert meta[0] == "index\tlabel" and len(meta) == 51 and meta[1] == f"0\t{ds.label_names[ds.y[0]]}"
    config = json.loads(files["config"].read_text())
    entry = config["embeddings"][0]
    assert entry["tensorShape"] == [50, 6] and entry["sprite"]["singleImageDim"] == [8, 8]
    from PIL import Image

    with Image.open(files["sprite"]) as sprite:
        assert sprite.size == (8 * 8, 8 * 8)  # ceil(sqrt(50)) = 8 thumbnails per row
    assert 'tensor_path: "tensor.tsv"' in files["pbtxt"].read_text()


def test_selection_export(tmp_path):
    ds = digits()
    core.write_selection_csv(tmp_path / "sel.csv", ds, np.array([5, 7, 11]))
    rows = list(csv.DictReader((tmp_path / "sel.csv").read_text().splitlines()))
    assert [r["index"] for r in rows] == ["5", "7", "11"]


def test_tsne_falls_back_to_scikit_learn_without_opentsne(blobs, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_opentsne(name, *args, **kwargs):
        if name.startswith("openTSNE"):
            raise ImportError("no openTSNE here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_opentsne)
    X, y = blobs
    events, coords = drive(core.PROJECTIONS.get("tsne").cls(n_iter=250, early_exaggeration_iter=250).run(X))
    assert "scikit-learn" in events[0].message and coords.shape == (300, 2)
    # it still separates the blobs: each point's nearest layout neighbour shares its blob
    nb = core.layout_neighbours(coords, 1).indices[:, 0]
    assert (y[nb] == y).mean() > 0.95


def test_tsne_above_the_exact_graph_size_uses_nn_descent_and_still_keeps_neighbours(blobs, monkeypatch):
    # large inputs get an approximate neighbour graph (as openTSNE and umap-learn do on their own); the layout
    # must stay as faithful as the exact graph's
    from sklearn.manifold import trustworthiness

    from core.projection import methods

    X, _ = blobs
    params = {"n_iter": 150, "early_exaggeration_iter": 50, "random_state": 0}
    exact = core.PROJECTIONS.get("tsne").cls(**params).fit_transform(X)
    calls = []
    real_knn = methods.knn
    monkeypatch.setattr(methods, "knn", lambda *a, **kw: calls.append(kw.get("approximate")) or real_knn(*a, **kw))
    monkeypatch.setattr(methods, "GRAPH_EXACT_UP_TO", 100)
    approx = core.PROJECTIONS.get("tsne").cls(**params).fit_transform(X)
    assert calls == [True]
    assert trustworthiness(X, approx, n_neighbors=10) > trustworthiness(X, exact, n_neighbors=10) - 0.02
