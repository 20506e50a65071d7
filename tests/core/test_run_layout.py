"""RunDirectory is the only keeper of the run layout: one listing of runs, one writer of evaluations, and the
checkpoint a model was loaded from travels with it."""
from __future__ import annotations

import ast
import json
import os
import time
from pathlib import Path

import pytest

import core

ROOT = Path(__file__).resolve().parents[2]
# a path is built from these (a whole string constant, or one that starts a relative path); sentences that
# mention them (help texts, error messages) are fine
NAMES = ("config.toml", "run.json", "metrics.jsonl", "evaluation.json", "subset.npy", "labels.npy")
PREFIXES = ("checkpoints/", "embeddings/", "snapshots/", "diagnostics/", "reports/")


def _builds_a_run_path(text: str) -> bool:
    return text in NAMES or text.startswith(PREFIXES)


def _code_strings(path: Path):
    """String constants of a module's code (docstrings left out: they may describe the layout)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_nobody_but_run_directory_spells_the_run_layout():
    found = []
    for top in ("core", "replearn_gui"):
        for path in (ROOT / top).rglob("*.py"):
            if path == ROOT / "core" / "training" / "rundir.py":
                continue
            for line, text in _code_strings(path):
                if _builds_a_run_path(text):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert not found, "\n".join(found)


def _fake_run(root: Path, name: str, mtime: float) -> Path:
    path = root / name
    path.mkdir()
    (path / "config.toml").write_text("")
    os.utime(path, (mtime, mtime))
    return path


def test_list_runs_newest_first_and_only_runs(tmp_path):
    now = time.time()
    old = _fake_run(tmp_path, "old", now - 100)
    new = _fake_run(tmp_path, "new", now)
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "file.txt").write_text("x")
    assert core.RunDirectory.list_runs(tmp_path) == [new, old]
    assert core.RunDirectory.list_runs(tmp_path / "missing") == [] and core.RunDirectory.list_runs(None) == []
    assert core.RunDirectory.is_run(new) and not core.RunDirectory.is_run(tmp_path / "not-a-run")


def test_listing_runs_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, core; core.RunDirectory.list_runs('.'); core.RunDirectory('.').read_evaluation(); "
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_one_writer_of_evaluations_cli_and_gui_store_the_same_form(tmp_path):
    exp = core.load_preset("digits-supervised").with_training(epochs=1, device="cpu", warmup_epochs=0)
    result = core.run_to_end(core.train(exp.with_output(root=str(tmp_path))))
    run = core.RunDirectory.open(result.run_dir)
    model = core.load_trained(result.run_dir)
    # the loaded checkpoint travels with the model: the newest, its hash as the manifest has it
    manifest = json.loads((run.checkpoints / "manifest.json").read_text())
    newest = max(manifest["checkpoints"], key=lambda e: e["step"])
    assert model.checkpoint.file == newest["file"] and model.checkpoint.sha256 == newest["sha256"]
    assert (model.checkpoint.epoch, model.checkpoint.step) == (newest["epoch"], newest["step"])
    assert core.initialised(exp, "cpu").checkpoint is None
    assert run.embedding_cache(model.checkpoint.path) == run.embeddings / (Path(newest["file"]).stem + ".npy")

    import io

    from core.cli import main as cli_main

    assert cli_main(["evaluate", result.run_dir, "--evaluations", "knn", "--no-baselines"], io.StringIO(),
                    io.StringIO()) == 0
    from_cli = run.read_evaluation()
    record = core.run_to_end(core.evaluate(model, ("knn",), baselines=())).to_record()
    run.write_evaluation(record)  # what the GUI's evaluation job does
    from_gui = run.read_evaluation()
    assert from_cli["schema_version"] == from_gui["schema_version"] == 1
    assert set(from_cli) == set(from_gui)
    assert from_cli["results"]["learned"]["metrics"] == from_gui["results"]["learned"]["metrics"]


def test_a_report_names_the_checkpoint_the_model_came_from(tmp_path):
    exp = core.load_preset("digits-supervised").with_training(epochs=1, device="cpu", warmup_epochs=0)
    result = core.run_to_end(core.train(exp.with_output(root=str(tmp_path))))
    data = core.run_to_end(core.build_report(result.run_dir, evaluations=("knn",), baselines=(), sections=()))
    model = core.load_trained(result.run_dir)
    assert data.provenance["checkpoint"] == {"file": model.checkpoint.file, "sha256": model.checkpoint.sha256,
                                             "epoch": model.checkpoint.epoch, "step": model.checkpoint.step,
                                             "why": model.checkpoint.why}
    assert str(model.checkpoint) == model.checkpoint.why == f"{model.checkpoint.file} (the newest checkpoint)"


@pytest.mark.parametrize(("kw", "name"), [({"epoch": 3}, "snapshots/epoch_003.npy"),
                                          ({"step": 42}, "snapshots/step_0000042.npy")])
def test_snapshot_names(kw, name):
    assert core.RunDirectory.snapshot_name(**kw) == name
