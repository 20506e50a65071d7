"""Linear CKA against its definition (Kornblith et al. 2019): HSIC of centred linear kernels, computed here
directly with n × n Gram matrices and the centring matrix H."""
from __future__ import annotations

import numpy as np
import pytest

import core
from core.evaluation.similarity import cka_matrix, linear_cka


def hsic(K: np.ndarray, L: np.ndarray) -> float:
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(K @ H @ L @ H)) / (n - 1) ** 2


def cka_by_hsic(X: np.ndarray, Y: np.ndarray) -> float:
    K, L = X @ X.T, Y @ Y.T
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 12))
    Y = np.tanh(X @ rng.standard_normal((12, 7))) + 0.3 * rng.standard_normal((200, 7))
    return X, Y, rng


def test_equals_the_hsic_definition(data):
    X, Y, _ = data
    assert linear_cka(X, Y) == pytest.approx(cka_by_hsic(X, Y), rel=1e-10)
    assert 0 < linear_cka(X, Y) < 1


def test_self_similarity_is_one_and_it_is_symmetric(data):
    X, Y, _ = data
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, Y) == pytest.approx(linear_cka(Y, X), rel=1e-12)


def test_invariant_to_orthogonal_transforms_isotropic_scaling_and_shifts(data):
    X, Y, rng = data
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    base = linear_cka(X, Y)
    assert linear_cka(X @ Q, Y) == pytest.approx(base, rel=1e-10)
    assert linear_cka(3.7 * X + 5.0, 0.01 * Y) == pytest.approx(base, rel=1e-10)


def test_not_invariant_to_an_arbitrary_invertible_linear_map(data):
    X, _, rng = data
    A = np.diag(np.geomspace(1, 100, 12)) @ rng.standard_normal((12, 12))
    assert abs(np.linalg.det(A)) > 1e-6
    assert linear_cka(X, X @ A) < 0.9  # the same information, another geometry


def test_independent_noise_is_nearly_dissimilar_and_a_constant_gives_zero(data):
    X, _, rng = data
    assert linear_cka(X, rng.standard_normal((200, 12))) < 0.15
    assert linear_cka(X, np.ones((200, 3))) == 0.0
    with pytest.raises(ValueError, match="same samples"):
        linear_cka(X, X[:10])


def test_matrix_of_named_layers(data):
    X, Y, _ = data
    s = cka_matrix({"a": X, "b": Y}, {"a": X, "b": Y}, "layer", "layer")
    assert s.rows == ("a", "b") and np.allclose(np.diag(s.matrix), 1.0) and np.allclose(s.matrix, s.matrix.T)
    assert core.Similarity.from_record(s.to_record()).matrix.tolist() == s.matrix.tolist()


def test_layers_of_a_trained_run_and_two_runs(tmp_path):
    def run(seed):
        exp = core.Experiment(
            name=f"cka{seed}", data=core.DataConfig(name="digits"),
            encoder=core.EncoderConfig(name="mlp", params={"hidden": [32, 16], "out_dim": 8}),
            objective=core.ObjectiveConfig(name="supervised"),
            training=core.TrainingConfig(epochs=1, batch_size=256, device="cpu", seed=seed, snapshot_points=50,
                                         eval_points=64), output=core.OutputConfig(root=str(tmp_path)))
        return core.run_to_end(core.train(exp)).run_dir

    a, b = run(0), run(1)
    model = core.load_trained(a)
    s = core.layer_similarity(model)
    assert s.rows == ("hidden1", "hidden2", "representation") and np.allclose(np.diag(s.matrix), 1.0)
    assert s.n_samples == len(model.data.splits.test)
    cross = core.compare_runs(a, b)
    assert cross.rows == s.rows == cross.columns and cross.matrix.shape == (3, 3)
    assert cross.row_label.startswith("cka0") and np.all((cross.matrix > 0) & (cross.matrix < 1))
    assert core.compare_runs(a, a).matrix == pytest.approx(s.matrix)


def test_report_has_the_cka_heat_map(tmp_path):
    exp = core.Experiment(
        name="cka report", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=1, batch_size=256, device="cpu", snapshot_points=50, eval_points=64),
        output=core.OutputConfig(root=str(tmp_path)))
    run = core.run_to_end(core.train(exp)).run_dir
    data = core.run_to_end(core.build_report(run, evaluations=("linear_probe", "similarity"), baselines=("raw",)))
    s = data.evaluation.learned.similarity
    assert s.rows == ("hidden1", "representation") and s.matrix[0, 0] == pytest.approx(1.0)
    svg = data.figures["similarity"]
    assert svg.startswith("<svg")
    ax = svg._figure.axes[0]  # the matplotlib figure the SVG was drawn from (glyphs are paths in the SVG)
    assert ax.get_title(loc="left").startswith("Linear CKA") and [t.get_text() for t in ax.get_yticklabels()] == [
        "hidden1", "representation"]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 4 and cells[0] == "1.00" and cells[3] == "1.00"
    paths = core.write_report(data, tmp_path / "out", ["html", "json"])
    assert paths["html"].read_text().count("<svg") >= 2
    import json

    record = json.loads(paths["json"].read_text())["evaluation"]["results"]["learned"]["similarity"]
    assert record["rows"] == ["hidden1", "representation"]
