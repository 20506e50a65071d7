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


def test_a_followed_run_shows_what_a_live_one_does(window, qtbot, vicreg_experiment):
    """Opened while the engine is half way, then finished by 'another process': the same path as live."""
    gen = core.train(vicreg_experiment.with_output(root=window.runs_root))
    first = next(gen)
    while not isinstance(next(gen), core.EpochEnded):
        pass
    window.open_run(first.run_dir)
    qtbot.waitUntil(lambda: len(window.cockpit.ranks) == 1, timeout=10000)
    assert window.cockpit.cov.image is not None and "validation loss" in window.epoch_label.text()
    core.run_to_end(gen)
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)
    assert len(window.cockpit.ranks) == 2


def test_eta_keeps_its_unit_and_leaves_paused_time_out(qtbot, monkeypatch):
    from replearn_gui import training_tab
    from replearn_gui.training_tab import TrainingTab, duration_text

    assert [duration_text(s) for s in (5, 65, 3600 + 420)] == ["5 s", "1 min 05 s", "1 h 07 min"]
    tab = TrainingTab()
    qtbot.addWidget(tab)
    clock = [100.0]
    monkeypatch.setattr(training_tab.time, "monotonic", lambda: clock[0])
    tab.show(core.RunStarted(run_id="r", run_dir="/nowhere", experiment="x", device="cpu", epochs=1,
                             steps_per_epoch=20, start_epoch=0, start_step=0, n_train=1, n_val=0, n_test=0,
                             resumed=False))

    def step(n: int, elapsed: float):
        tab.show(core.StepEnded(run_id="r", epoch=1, step=n, batch=n, loss=1.0, terms={}, metrics={}, lr=0.1,
                                samples_per_second=100.0, elapsed=elapsed))
        return tab.eta_label.text()

    assert step(10, 10.0).endswith("ETA 10 s")  # 1 s a step, 10 steps to go
    tab.paused()
    clock[0] += 90.0  # paused for a minute and a half: the engine's clock ran on
    tab.resumed()
    assert step(11, 101.0).endswith("ETA 9 s")


def test_collapse_advice_names_the_objectives_own_mechanism(qtbot):
    from replearn_gui.widgets.collapse_panel import CollapsePanel

    panel = CollapsePanel()
    qtbot.addWidget(panel)
    panel.objective = "vicreg"
    rng = np.random.default_rng(0)
    collapsed = core.compute_diagnostics(np.outer(rng.normal(size=256), rng.normal(size=16))
                                         + 1e-3 * rng.normal(size=(256, 16)))
    assert collapsed.verdict.collapsed
    panel.add_epoch(1, collapsed)
    text = panel.banner.text()
    assert "VICReg guards against collapse with variance regularisation" in text
    assert "no variance term" not in text


def test_online_probe_plot_has_a_legend_and_a_range_that_shows_the_differences(window, qtbot):
    window.on_experiment_loaded(window.experiment.with_training(probe_every=1))
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        window.start_action.trigger()
    cockpit = window.cockpit
    title = cockpit.probe_plot.titleLabel.text  # the plot's key: each curve's name in its colour
    for name, colour in cockpit.probe_key.items():
        assert f"color:{colour}'>" in title and name in title
    assert cockpit.probe_curve.opts["pen"].color().name() == cockpit.probe_key["linear"]
    assert cockpit.knn_curve.opts["pen"].color().name() == cockpit.probe_key["kNN"]
    low, high = cockpit.probe_plot.viewRange()[1]
    values = [a for _, a in cockpit.probe + cockpit.knn] + [cockpit.baseline_line.value()]
    assert low <= min(values) and max(values) <= high and high - low < 0.9
