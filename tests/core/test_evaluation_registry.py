"""Evaluations are a registry: metadata the GUI and CLI show, a fixed running order, and a new evaluation is
one class (registered here in the test, as a plug-in file would)."""
from __future__ import annotations

import io

import numpy as np
import pytest

import core
from core.cli import main as cli_main


def test_every_evaluation_declares_what_the_front_ends_show():
    names = core.evaluation_names()
    assert set(names) == set(core.EVALUATIONS.names()) and len(names) == 12
    for name in names:
        info = core.EVALUATIONS.get(name).info
        assert info["label"] and info["help"] and info["direction"] in ("higher", "lower"), name
        assert isinstance(info["order"], int)
    orders = [core.EVALUATIONS.get(n).info["order"] for n in names]
    assert orders == sorted(orders)
    assert names.index("invariance") < names.index("properties")  # the card reads what invariance found
    assert core.REGISTRIES["evaluations"] is core.EVALUATIONS


def test_cli_lists_evaluations_with_the_registry_help():
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["list", "evaluations"], out, err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == list(core.evaluation_names())
    assert core.EVALUATIONS.get("knn").info["help"] in out.getvalue()
    out = io.StringIO()
    assert cli_main(["describe", "layerwise", "--kind", "evaluation"], out, io.StringIO()) == 0
    assert "learned only: True" in out.getvalue() and "needs labels: True" in out.getvalue()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    exp = core.load_preset("digits-supervised").with_training(epochs=1, device="cpu", warmup_epochs=0)
    result = core.run_to_end(core.train(exp.with_output(root=str(tmp_path_factory.mktemp("runs")))))
    return core.load_trained(result.run_dir)


def test_a_new_evaluation_is_one_registered_class(model):
    @core.EVALUATIONS.register("mean_norm", label="mean norm", help="the mean L2 norm of the embeddings",
                               order=5, direction="higher", learned_only=True)
    class MeanNorm(core.EvaluationMethod):
        """The mean Euclidean norm of the test split's embeddings."""

        def run(self, ctx):
            norm = float(np.linalg.norm(ctx.Z[ctx.test], axis=1).mean())
            ctx.result.metrics["mean_norm"] = core.Metric("mean_norm", norm)

    try:
        assert "mean_norm" in core.evaluation_names()
        ev = core.run_to_end(core.evaluate(model, ("knn", "mean_norm"), baselines=("raw",)))
        Z = model.embed()
        test = model.data.splits.test
        assert ev.learned.metrics["mean_norm"].value == pytest.approx(np.linalg.norm(Z[test], axis=1).mean(), rel=1e-5)
        assert "mean_norm" not in ev.results["raw"].metrics and "knn_accuracy" in ev.results["raw"].metrics
        assert ev.evaluations == ("mean_norm", "knn")  # the registry's order, not the order asked
    finally:
        core.EVALUATIONS.unregister("mean_norm")
    assert "mean_norm" not in core.evaluation_names()


def test_calibration_alone_fits_its_own_probe(model):
    ev = core.run_to_end(core.evaluate(model, ("calibration",), baselines=()))
    assert 0 <= ev.learned.metrics["ece"].value <= 1 and ev.learned.reliability is not None
    assert "probe_accuracy" not in ev.learned.metrics
