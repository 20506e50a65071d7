"""Evaluation metrics against hand-computed values, and the suite on data whose answer is known."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs

import core
from core.cli import main as cli_main
from core.evaluation import metrics as M
from core.evaluation.suite import evaluate


def test_ece_with_full_confidence_and_half_correct_is_one_half():
    proba = np.tile([[1.0, 0.0]], (10, 1))
    y = np.array([0, 1] * 5)
    metrics, rel = M.calibration(proba, y)
    ece, brier = metrics
    assert ece.value == pytest.approx(0.5) and not ece.higher_is_better
    assert brier.value == pytest.approx(1.0)  # half the rows have squared error 2, half 0
    assert rel.share.sum() == pytest.approx(1.0) and rel.confidence[-1] == pytest.approx(1.0)


def test_ece_of_a_calibrated_predictor_is_small():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 20000)
    correct = rng.random(20000) < conf  # right exactly as often as it claims
    proba = np.stack([conf, 1 - conf], axis=1)
    y = np.where(correct, 0, 1)
    assert M.calibration(proba, y)[0][0].value < 0.02


def test_bootstrap_interval_brackets_the_mean():
    scores = np.random.default_rng(0).random(400) < 0.7
    value, low, high = M.bootstrap(scores)
    assert low < value < high and value == pytest.approx(scores.mean())
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(0.7 * 0.3 / 400), rel=0.2)


def test_retrieval_and_clustering_on_perfect_clusters():
    Z = np.repeat(np.eye(4), 10, axis=0) + 1e-3 * np.random.default_rng(0).normal(size=(40, 4))
    y = np.repeat(np.arange(4), 10)
    hit, recall, mean_ap = M.retrieval(Z, y, k=5)
    assert hit.value == 1.0 and mean_ap.value == pytest.approx(1.0)
    assert recall.value == pytest.approx(5 / 9)  # 5 of each query's 9 same-class items fit in the top 5
    nmi, ari, sil = M.clustering(Z, y)
    assert nmi.value == pytest.approx(1.0) and ari.value == pytest.approx(1.0) and sil.value > 0.9


def test_map_divides_by_the_relevant_items_retrieved():
    # query 0's neighbours by cosine: 3 (relevant), 1, 2 → AP@2 = P@1 · 1 / 1 relevant retrieved = 1
    Z = np.array([[1.0, 0.0], [0.9, 0.44], [0.0, 1.0], [0.8, 0.6]])
    y = np.array([0, 1, 1, 0])
    _, _, mean_ap = M.retrieval(Z, y, k=2)
    from core.projection.neighbors import knn

    order = knn(Z, 2, "cosine").indices
    expected = []
    for i in range(4):
        rel = (y[order[i]] == y[i]).astype(float)
        prec = np.cumsum(rel) / np.arange(1, 3)
        expected.append((prec * rel).sum() / rel.sum() if rel.sum() else 0.0)
    assert mean_ap.value == pytest.approx(np.mean(expected))


def test_trustworthiness_equals_scikit_learn_and_identity_is_perfect():
    from sklearn.manifold import trustworthiness

    X = np.random.default_rng(0).normal(size=(300, 10))
    coords = X[:, :2]
    faith, kept = M.faithfulness(X, coords, k=5)
    assert faith[0].value == pytest.approx(trustworthiness(X, coords, n_neighbors=5))
    assert faith[1].value == pytest.approx(trustworthiness(coords, X, n_neighbors=5))
    same, kept_same = M.faithfulness(X[:, :2], X[:, :2], k=5)
    assert same[0].value == pytest.approx(1.0) and (kept_same == 1.0).all()
    assert kept.shape == (300,) and kept.mean() < 0.5


def test_linear_probe_chooses_c_on_validation_and_separable_blobs_score_one():
    X, y = make_blobs(400, n_features=5, centers=3, cluster_std=0.5, random_state=0)
    probe = core.LinearProbe().fit(X[:200], y[:200], X[200:300], y[200:300])
    assert probe.C_ in probe.Cs and set(probe.validation_scores_) == set(probe.Cs)
    assert probe.score(X[300:], y[300:]) == 1.0
    assert probe.predict_proba(X[300:]).shape == (100, 3)


def tiny_run(tmp_path, preset="digits-autoencoder", epochs=3):
    exp = core.load_preset(preset).with_training(epochs=epochs, device="cpu", warmup_epochs=0)
    return core.run_to_end(core.train(exp.with_output(root=str(tmp_path))))


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory):
    """One trained digits autoencoder shared by the tests that only evaluate it (each trained its own)."""
    return tiny_run(tmp_path_factory.mktemp("autoencoder"))


def test_suite_on_a_trained_run_with_baselines(autoencoder_run):
    result = autoencoder_run
    model = core.load_trained(result.run_dir)
    ev = core.run_to_end(evaluate(model, ("linear_probe", "knn", "calibration", "layerwise", "reconstruction", "faithfulness")))
    assert set(ev.results) == {"learned", "raw", "pca", "random_init", "hand-designed (HOG + edges)"}
    hand = ev.results["hand-designed (HOG + edges)"]
    assert hand.dim == 4 * 4 * 9 + 5 and hand.metrics["probe_accuracy"].value > 0.8  # HOG reads digits well
    learned = ev.learned
    # the suite's probe on the test split matches the engine's own final probe within its interval
    probe = learned.metrics["probe_accuracy"]
    assert probe.low <= probe.value <= probe.high and 0.6 < probe.value <= 1
    assert ev.results["raw"].dim == 64 and ev.results["pca"].dim == learned.dim == 16
    assert learned.confusion.sum() == ev.n_test and learned.confusion.shape == (10, 10)
    assert [layer for layer, _ in learned.layerwise] == ["hidden1", "hidden2", "representation"]
    assert learned.metrics["reconstruction_mse"].value < 0.1 and learned.metrics["psnr_db"].value > 10
    assert "pca_2d_trustworthiness" in learned.metrics and ev.per_point_faithfulness.shape == (1797,)
    assert "reconstruction_mse" not in ev.results["raw"].metrics
    json.dumps(ev.to_record(), allow_nan=True)  # every number is plain data


def test_a_constant_representation_is_at_chance_and_called_a_complete_collapse(tmp_path):
    Z = np.tile(np.arange(8, dtype=np.float32), (500, 1))
    y = np.random.default_rng(0).integers(0, 5, 500)
    knn_acc = core.KNNProbe().fit(Z[:400], y[:400]).score(Z[400:], y[400:])
    probe_acc = core.LinearProbe().fit(Z[:400], y[:400]).score(Z[400:], y[400:])
    majority = (y[400:] == np.bincount(y[:400]).argmax()).mean()
    assert knn_acc < 0.35 and probe_acc == pytest.approx(majority)  # nothing to read: chance level
    assert core.compute_diagnostics(Z + 1e-6 * np.random.default_rng(1).normal(size=Z.shape)).verdict.status == "complete collapse"


def test_evaluation_cancels_between_steps(autoencoder_run):
    result = autoencoder_run
    gen = evaluate(core.load_trained(result.run_dir))
    first = [next(gen) for _ in range(3)]
    assert first[-1].fraction > 0
    gen.close()  # no exception, nothing left running


def test_unknown_evaluation_is_a_config_error(autoencoder_run):
    result = autoencoder_run
    with pytest.raises(core.ConfigError, match="unknown evaluation"):
        core.run_to_end(evaluate(core.load_trained(result.run_dir), ("linear_probe", "vibes")))


def test_cli_evaluate_writes_json(autoencoder_run):
    result = autoencoder_run
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["evaluate", result.run_dir, "--evaluations", "linear_probe,knn,retrieval"], out, err)
    assert code == 0, err.getvalue()
    assert "probe_accuracy" in out.getvalue() and "random_init" in out.getvalue()
    saved = json.loads((core.RunDirectory.open(result.run_dir).reports / "evaluation.json").read_text())
    assert saved["schema_version"] == 1 and saved["results"]["learned"]["metrics"]["knn_accuracy"]["value"] > 0.5


def test_labelled_subset_takes_k_per_class():
    from core.evaluation.transfer import labelled_subset

    y = np.repeat(np.arange(3), [10, 4, 7])
    pool = np.arange(21)
    chosen = labelled_subset(y, pool, 5, seed=0)
    assert np.bincount(y[chosen]).tolist() == [5, 4, 5]  # a class with fewer gives what it has
    assert labelled_subset(y, pool, None, 0).tolist() == pool.tolist()


def test_transfer_curve_and_shape_mismatch(tmp_path):
    from core.evaluation.transfer import METHODS, transfer

    result = tiny_run(tmp_path, "digits-supervised", epochs=3)
    curve = core.run_to_end(transfer(result.run_dir, "digits", budgets=(2, None), epochs=2))
    assert set(curve.accuracy) == set(METHODS) and all(len(v) == 2 for v in curve.accuracy.values())
    assert curve.accuracy["frozen"][1] > 0.8  # a supervised encoder transfers to its own task
    assert all(0 <= a <= 1 for v in curve.accuracy.values() for a in v)
    with pytest.raises(core.ConfigError, match=r"reads samples of shape \(1, 8, 8\), but 'wine' has \(13,\)"):
        core.run_to_end(transfer(result.run_dir, "wine"))
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["transfer", result.run_dir, "digits", "--budgets", "1,all", "--epochs", "1"], out, err) == 0
    assert "from_scratch" in out.getvalue()
    assert cli_main(["transfer", result.run_dir, "digits", "--budgets", "zero"], io.StringIO(), err) == 2
    assert "--budgets: 'zero' is not a number of labels per class" in err.getvalue()


def _record(learned: dict, **baselines: dict) -> dict:
    def rep(metrics):
        return {"metrics": {k: {"name": k, "value": v, "low": None, "high": None, "higher_is_better": k != "ece"}
                            for k, v in metrics.items()}}
    return {"results": {"learned": rep(learned), **{b: rep(m) for b, m in baselines.items()}}}


def test_result_rows_margin_over_the_strongest_baseline_in_either_direction():
    from core.evaluation.tables import result_rows

    rows = {r.metric: r for r in result_rows(_record({"probe_accuracy": 0.9, "ece": 0.05},
                                                     raw={"probe_accuracy": 0.95, "ece": 0.1},
                                                     pca={"probe_accuracy": 0.8, "ece": 0.02}))}
    acc, ece = rows["probe_accuracy"], rows["ece"]
    assert acc.best_baseline == "raw" and acc.difference == pytest.approx(-0.05)
    assert ece.best_baseline == "pca" and ece.difference == pytest.approx(-0.03)  # lower is better: still worse
    assert acc.baselines == {"raw": 0.95, "pca": 0.8}
    only = result_rows(_record({"probe_accuracy": 0.9}))[0]
    assert only.difference is None and only.best_baseline is None


def test_comparison_rows_and_stored_evaluations_round_trip(tmp_path):
    from core.evaluation.tables import comparison_rows

    a = _record({"probe_accuracy": 0.9, "knn_accuracy": 0.8})
    b = _record({"probe_accuracy": 0.7, "ece": float("nan")})
    names, rows = comparison_rows({"simclr": a, "vicreg": b})
    assert names == ["simclr", "vicreg"] and [m for m, _ in rows] == ["probe_accuracy", "knn_accuracy", "ece"]
    assert rows[1][1][1] is None and rows[0][1][1]["value"] == 0.7
    run = core.RunDirectory(tmp_path)
    assert run.read_evaluation() is None
    path = run.write_evaluation(b)
    assert path == tmp_path / "reports" / "evaluation.json"
    back = run.read_evaluation()
    assert back["schema_version"] == 1
    assert back["results"]["learned"]["metrics"]["ece"]["value"] is None  # NaN is stored as null, valid JSON
    assert list(back["results"]["learned"]["metrics"]) == ["probe_accuracy", "ece"]  # the suite's order, kept
    path.write_text("{broken")
    assert run.read_evaluation() is None


def test_property_card_says_when_invariance_was_not_evaluated(autoencoder_run):
    model = core.load_trained(autoencoder_run.run_dir)
    without = core.run_to_end(evaluate(model, ("linear_probe", "properties"), baselines=()))
    assert without.learned.card["invariance"]["how"].startswith("not evaluated")
    with_it = core.run_to_end(evaluate(model, ("linear_probe", "invariance", "properties"), baselines=()))
    assert with_it.learned.card["invariance"]["score"] is not None  # digits have rotations, shifts, brightness
