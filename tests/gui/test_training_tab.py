"""One TrainingTab.show(event) for a live, a replayed and a followed run: the same picture from each."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import core


@pytest.fixture
def vicreg_experiment(tiny_experiment):
    return dataclasses.replace(tiny_experiment, objective=core.ObjectiveConfig(
        name="vicreg", params={"projector_hidden": [16], "projector_dim": 8})).with_training(
        epochs=2, batch_size=256, probe_every=1)


def picture(window) -> dict:
    plot, cockpit = window.loss_plot, window.cockpit
    plot.refresh()
    cov = cockpit.cov.image
    return {
        "epoch line": window.epoch_label.text(),
        "terms": {name: curve.opts["pen"].color().name() for name, (curve, *_rest) in plot.term_curves.items()},
        "term points": {name: len(xs) for name, (_c, xs, _ys, _e) in plot.term_curves.items()},
        "covariance": None if cov is None else np.asarray(cov).copy(),
        "cov title": cockpit.cov_plot.titleLabel.text,
        "ranks": list(cockpit.ranks), "probe": list(cockpit.probe), "steps": len(plot.steps),
        "validation": list(plot.val_losses.values), "banner": cockpit.banner.text(),
    }


def test_live_and_replayed_runs_show_the_same_picture(window, qtbot, vicreg_experiment):
    window.on_experiment_loaded(vicreg_experiment.with_output(root=window.runs_root))
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as finished:
        window.start_action.trigger()
    qtbot.waitUntil(lambda: window.controller.state == "idle")
    live = picture(window)
    assert "validation loss" in live["epoch line"] and "online probe" in live["epoch line"]
    assert live["covariance"] is not None and set(live["terms"]) == {"invariance", "variance", "covariance"}
    window.open_run(finished.args[0].run_dir)
    qtbot.waitUntil(lambda: len(window.cockpit.ranks) == 2 and window.loss_plot.steps.values.size == live["steps"],
                    timeout=10000)
    replayed = picture(window)
    for key in ("epoch line", "terms", "term points", "cov title", "ranks", "probe", "steps", "validation", "banner"):
        assert replayed[key] == live[key], key
    assert replayed["covariance"] is not None  # the matrices come back from diagnostics/
    np.testing.assert_allclose(replayed["covariance"], live["covariance"])
