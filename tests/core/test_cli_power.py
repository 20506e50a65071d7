"""The CLI a power user expects: --set overrides, --json output, shell completion, smoke runs of every preset."""
import io
import json

import pytest

import core
from core.cli import apply_overrides, main


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_set_overrides_are_typed_by_the_schema():
    exp = core.load_preset("digits-supervised")
    changed = apply_overrides(exp, ["training.lr=0.01", "encoder.params.hidden=[32, 16]", "training.drop_last=true",
                                    "output.run_name=2024", "data.split.mode=predefined", "training.device=cpu"])
    assert changed.training.lr == 0.01 and changed.encoder.params.hidden == (32, 16)
    assert changed.training.drop_last is True and changed.output.run_name == "2024"
    assert changed.data.split.mode == "predefined" and changed.training.device == "cpu"
    other = apply_overrides(exp, ["encoder.params.out_dim=8", "encoder.name=cnn2d"])  # name first, then params
    assert other.encoder.name == "cnn2d" and other.encoder.params.out_dim == 8


@pytest.mark.parametrize("pair, message", [
    ("training.lr=fast", "training.lr: expected a number, got 'fast'"),
    ("training.lrr=1", "training.lrr: unknown setting; did you mean 'lr'?"),
    ("training.lr", "--set: 'training.lr' is not KEY=VALUE"),
    ("training.lr.x=1", "training.lr: is a value, not a table of settings"),
    ("encoder.params.hidden=[0]", "encoder.params.hidden"),
    ("encoder.params.hidden=[64,oops]", "encoder.params.hidden[1]: expected an integer, got 'oops'"),
])
def test_bad_overrides_exit_2_naming_the_key(tmp_path, pair, message):
    code, _, err = run_cli("train", "digits-supervised", "--set", pair, "--out", str(tmp_path))
    assert code == 2 and message in err
    assert not list(tmp_path.iterdir())


def test_cross_field_errors_keep_the_training_prefix():
    with pytest.raises(core.ConfigError) as err:
        core.load_preset("digits-supervised").with_training(epochs=2, warmup_epochs=3)
    assert str(err.value).startswith("training.warmup_epochs: 3 must be shorter than the run")


def test_json_output_of_list_and_describe():
    code, out, _ = run_cli("list", "objectives", "--json")
    assert code == 0
    names = [e["name"] for e in json.loads(out)]
    assert names == core.OBJECTIVES.names()
    code, out, _ = run_cli("list", "presets", "--json")
    assert {p["name"] for p in json.loads(out)} == set(core.preset_names())
    code, out, _ = run_cli("describe", "vicreg", "--json")
    (entry,) = json.loads(out)
    params = {p["name"]: p for p in entry["parameters"]}
    assert entry["kind"] == "objective" and params[next(iter(params))]["allowed"]


def test_transfer_json(explored_run):
    code, out, err = run_cli("transfer", explored_run, "digits", "--budgets", "5", "--epochs", "1", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["budgets"] == [5] and set(record["accuracy"]) == {"frozen", "fine_tuned", "from_scratch"}
    assert record["split"]["evaluated_on"] == "test" and record["split"]["origin"] == "random"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion(shell):
    code, out, _ = run_cli("completion", shell)
    assert code == 0 and "replearn" in out and "export" in out and "--plugin" in out


@pytest.mark.parametrize("preset", core.preset_names())
def test_every_preset_runs_one_epoch(preset, tmp_path):
    """A smoke run of each preset: --epochs 1 works even where the preset's warm-up is longer (it is scaled)."""
    exp = core.load_preset(preset)
    smaller = ["--set", "data.params.clips=200"] if exp.data.name == "tones" else []  # seconds, not a quarter minute
    if exp.data.entry.info.get("file") and not getattr(exp.data.params, "path", "x"):  # a preset for the user's file
        corpus = tmp_path / "corpus.txt"
        lines = ["the cat sat", "a dog ran far", "the bird sang", "a cat ran", "the dog sat down"]
        corpus.write_text("\n".join(lines[i % 5] for i in range(400)) + "\n")
        smaller += ["--set", f"data.params.path={corpus}"]
    code, out, err = run_cli("train", preset, "--epochs", "1", "--out", str(tmp_path), "--device", "cpu",
                             "--set", "training.probe_every=0", "--set", "training.snapshot_every=0",
                             "--set", "training.diagnostics_every=0", *smaller)
    assert code == 0, err
    assert "finished: 1 epoch(s)" in out
    if exp.training.warmup_epochs >= 1:
        assert f"note: warm-up shortened from {exp.training.warmup_epochs:g} to" in out
