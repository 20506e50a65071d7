"""CONTRIBUTING.md's four one-file recipes, run exactly as written: each registers, trains / loads /
evaluates, and is removed again."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import core

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8"), re.S)


def recipe(registry, name: str, marker: str):
    """Run the recipe block that registers ``marker`` as a module of its own; unregister on exit."""
    block = next(b for b in BLOCKS if marker in b)
    module = types.ModuleType(f"recipe_{name}")  # a module of its own, as the recipe's file would be
    sys.modules[module.__name__] = module
    exec(compile(block, f"CONTRIBUTING.md:{name}", "exec"), module.__dict__)
    return registry.get(name)


@pytest.fixture
def registered():
    added = []
    yield added
    for registry, name in added:
        registry.unregister(name)
        sys.modules.pop(f"recipe_{name}", None)


def _experiment(tmp_path, **changes):
    record = core.experiment_to_dict(core.load_preset("digits-supervised").with_training(
        epochs=1, device="cpu", warmup_epochs=0, batch_size=128).with_output(root=str(tmp_path)))
    for section, value in changes.items():
        record[section] = value
    return core.experiment_from_dict(record)


def test_there_are_four_recipes():
    assert len(BLOCKS) == 4


def test_objective_and_encoder_recipes_train(tmp_path, registered):
    objective = recipe(core.OBJECTIVES, "label_regression", '"label_regression"')
    registered.append((core.OBJECTIVES, "label_regression"))
    encoder = recipe(core.ENCODERS, "linear_map", '"linear_map"')
    registered.append((core.ENCODERS, "linear_map"))
    assert objective.fields[0].label == "Target scale" and encoder.info["layer_probes"] is False
    exp = _experiment(tmp_path, objective={"name": "label_regression", "params": {"scale": 2.0}},
                      encoder={"name": "linear_map", "params": {"out_dim": 8}})
    result = core.run_to_end(core.train(exp))
    assert result.status == "finished"
    losses = [r["loss"] for r in core.RunDirectory.open(result.run_dir).read_metrics() if r.get("event") == "step"]
    assert losses and np.isfinite(losses).all() and losses[-1] < losses[0]
    model = core.load_trained(result.run_dir)
    ev = core.run_to_end(core.evaluate(model, ("knn", "layerwise"), baselines=()))
    assert ev.learned.metrics["knn_accuracy"].value > 0.5 and ev.learned.layerwise == []  # no layer probes
    with pytest.raises(core.ConfigError, match="scale"):
        _experiment(tmp_path, objective={"name": "label_regression", "params": {"scale": 0.0}})


def test_reader_recipe_reads_its_files(tmp_path, registered):
    import pyarrow as pa
    from pyarrow import feather

    recipe(core.DATASETS, "feather", '"feather"')
    registered.append((core.DATASETS, "feather"))
    table = pa.table({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.5, 2.0, 2.5], "species": ["x", "y", "x", "y"]})
    path = tmp_path / "flowers.feather"
    feather.write_feather(table, path)
    assert core.reader_for(str(path)) == "feather" and "*.feather" in core.file_patterns()
    entry = core.DATASETS.get("feather")
    ds = entry.cls(entry.make_params({"path": str(path), "label_column": "species"})).load()
    np.testing.assert_array_equal(ds.X, [[0, 1], [1, 1.5], [2, 2], [3, 2.5]])
    assert ds.label_names == ("x", "y") and ds.y.tolist() == [0, 1, 0, 1] and ds.feature_names == ("a", "b")
    with pytest.raises(core.DataError, match="has no column 'kind'"):
        entry.cls(entry.make_params({"path": str(path), "label_column": "kind"})).load()
    (tmp_path / "bad.feather").write_bytes(b"not arrow")
    with pytest.raises(core.DataError, match="is not a Feather file"):
        entry.cls(entry.make_params({"path": str(tmp_path / "bad.feather")})).load()


def test_evaluation_recipe_runs_in_the_suite(tmp_path, registered):
    recipe(core.EVALUATIONS, "embedding_norm", '"embedding_norm"')
    registered.append((core.EVALUATIONS, "embedding_norm"))
    assert core.evaluation_names()[-1] == "embedding_norm"
    result = core.run_to_end(core.train(_experiment(tmp_path)))
    model = core.load_trained(result.run_dir)
    ev = core.run_to_end(core.evaluate(model, ("embedding_norm",), baselines=("raw",)))
    test = model.data.splits.test
    expected = np.linalg.norm(model.embed()[test], axis=1).mean()
    assert ev.learned.metrics["embedding_norm"].value == pytest.approx(expected, rel=1e-5)
    raw = np.linalg.norm(model.data.X[test].reshape(len(test), -1), axis=1).mean()
    assert ev.results["raw"].metrics["embedding_norm"].value == pytest.approx(raw, rel=1e-5)
