"""The `replearn` command: exit codes, messages, progress output."""
import io
import subprocess
import sys

import pytest

import core
from core.cli import main


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def write_experiment(tmp_path, **training):
    exp = core.load_preset("digits-supervised").with_training(epochs=2, **training)
    path = tmp_path / "exp.toml"
    core.save_experiment(exp, path)
    return path


def test_train_prints_one_line_per_epoch_and_a_summary(tmp_path):
    path = write_experiment(tmp_path)
    code, out, err = run("train", str(path), "--out", str(tmp_path / "runs"), "--device", "cpu")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Training digits-supervised on cpu")
    assert [l.split()[1] for l in lines if l.startswith("epoch")] == ["1/2", "2/2"]
    assert "finished: 2 epoch(s)" in out and "test_accuracy" in out
    run_dir = out.strip().splitlines()[-1].removeprefix("run: ")
    assert core.RunDirectory.open(run_dir).read_status()["status"] == "finished"


def test_train_and_evaluate_print_the_same_linear_probe(tmp_path):
    path = write_experiment(tmp_path)
    code, out, err = run("train", str(path), "--out", str(tmp_path / "runs"), "--device", "cpu", "--quiet")
    assert code == 0, err
    trained = float(out.split("linear_probe_accuracy ")[1].split()[0])
    assert "C chosen on the validation split" in out  # the protocol is named
    run_dir = out.strip().splitlines()[-1].removeprefix("run: ")
    code, out, err = run("evaluate", run_dir, "--evaluations", "linear_probe", "--no-baselines")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("probe_accuracy "))
    assert float(row.split()[1]) == pytest.approx(round(trained, 3), abs=1e-9)
    assert "C chosen on the validation split" in out and "Wilson" in out
    stored = core.RunDirectory.open(run_dir).read_status()["test"]["linear_probe_accuracy"]
    import json

    record = json.loads((core.RunDirectory.open(run_dir).reports / "evaluation.json").read_text())
    assert record["results"]["learned"]["metrics"]["probe_accuracy"]["value"] == pytest.approx(stored, abs=1e-12)


def test_overrides_and_resume(tmp_path):
    path = write_experiment(tmp_path)
    code, out, _ = run("train", str(path), "--out", str(tmp_path / "runs"), "--epochs", "1", "--seed", "3", "--quiet")
    assert code == 0
    assert not any(l.startswith("epoch") for l in out.splitlines())
    run_dir = out.strip().splitlines()[-1].removeprefix("run: ")
    exp = core.RunDirectory.open(run_dir).read_config()
    assert exp.training.epochs == 1 and exp.training.seed == 3
    code, out, err = run("resume", run_dir, "--epochs", "2")
    assert code == 0, err
    assert out.startswith("Resuming digits-supervised") and "finished: 2 epoch(s)" in out


def test_train_a_preset_by_name(tmp_path, monkeypatch):
    """A preset's default output root is the runs folder the app shows (REPLEARN_RUNS / Preferences)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPLEARN_RUNS", str(tmp_path / "shared"))
    code, _out, err = run("train", "digits-autoencoder", "--epochs", "1", "--quiet")
    assert code == 0, err
    assert [p.name.split("-2")[0] for p in (tmp_path / "shared").iterdir()] == ["digits-autoencoder"]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["train", "missing.toml"], 2, "experiment file 'missing.toml' does not exist"),
        (["train", "not-a-preset"], 2, "neither an experiment file nor a preset"),
        (["describe", "vicrge"], 2, "unknown dataset, encoder, objective, augmentation or evaluation 'vicrge'"),
        (["list", "widgets"], 2, "invalid choice: 'widgets'"),
        (["resume", "/nonexistent/run"], 1, "is not a directory"),
        ([], 2, "required: COMMAND"),
        (["train"], 2, "required: EXPERIMENT"),
    ],
)
def test_errors_are_one_sentence_with_the_right_exit_code(argv, code, message):
    got, _out, err = run(*argv)
    assert got == code
    assert message in err
    assert "Traceback" not in err


def test_bad_value_in_file_names_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[training]\nlr = -1\n')
    code, _, err = run("train", str(path))
    assert code == 2
    assert err.strip() == f"replearn: error: {path}: training.lr: -1.0 is out of range (allowed: a number, 0 < value <= 10)"


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[training]\nlr = -1\n')
    code, _, err = run("--debug", "train", str(path))
    assert code == 2 and "Traceback" in err


def test_runtime_failure_exits_1(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    core.save_experiment(core.load_preset(), run_dir / "config.toml")
    code, _, err = run("resume", str(run_dir))
    assert code == 1 and "holds no checkpoint" in err


def test_list_and_describe_come_from_the_registry():
    code, out, _ = run("list", "objectives")
    assert code == 0
    assert [l.split()[0] for l in out.splitlines()] == core.OBJECTIVES.names()
    code, out, _ = run("list", "presets")
    assert {l.split()[0] for l in out.splitlines()} == set(core.preset_names())
    code, out, _ = run("describe", "mlp")
    assert code == 0
    for field in core.ENCODERS.get("mlp").fields:
        assert f"  {field.name} = " in out
    assert "allowed: 'none', 'batch', 'layer'" in out


def test_entry_point_and_help_everywhere():
    exe = [sys.executable, "-m", "core.cli"]
    for sub in ([], ["train"], ["resume"], ["list"], ["describe"]):
        proc = subprocess.run(exe + sub + ["--help"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "usage: replearn" in proc.stdout
    proc = subprocess.run(exe + ["list", "datasets"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "digits" in proc.stdout
