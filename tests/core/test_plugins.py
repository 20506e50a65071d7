"""Plugins: a module written by the test registers an encoder that train, evaluate (in a fresh process) and
the registry find; entry points are listed and offered, loaded only when named; bad plugins exit 2."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import core
from core.cli import main

PLUGIN = '''
from dataclasses import dataclass
from torch import nn
from core import ENCODERS, Encoder, Params, param

@ENCODERS.register("{name}", data_kinds=("tabular", "image"))
class Linear(Encoder):
    """A linear map (a plugin written by the test)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        out_dim: int = param(6, label="Dimension", min=1)

    def __init__(self, params, data):
        super().__init__(params, data)
        self.linear = nn.Linear(data.n_features, params.out_dim)
        self.out_dim = params.out_dim

    def layer_outputs(self, x):
        return {{"representation": self.linear(x.flatten(1))}}
'''


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def experiment_toml(tmp_path, encoder, plugins):
    exp = core.Experiment(name="plugged", encoder=core.EncoderConfig(name="mlp"),
                          training=core.TrainingConfig(epochs=1, batch_size=64, device="cpu", snapshot_points=50,
                                                       eval_points=32, probe_every=0),
                          output=core.OutputConfig(root=str(tmp_path / "runs")))
    text = core.dumps_experiment(exp).replace('name = "mlp"', f'name = "{encoder}"')
    text = text.replace("[encoder.params]\nhidden = [\n    256,\n    128,\n]\nout_dim = 64\nactivation = \"relu\"\nnorm = \"none\"\ndropout = 0.0\n", "")
    text = f"plugins = {json.dumps(plugins)}\n" + text
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def test_a_plugin_module_named_in_the_experiment_is_found_by_train_and_by_evaluate_in_a_new_process(tmp_path, monkeypatch):
    (tmp_path / "plug" ).mkdir()
    (tmp_path / "plug" / "tiny_plugin_a.py").write_text(PLUGIN.format(name="plugin_linear_a"))
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    path = experiment_toml(tmp_path, "plugin_linear_a", ["tiny_plugin_a"])
    code, out, err = run_cli("train", str(path), "--quiet")
    assert code == 0, err
    run_dir = out.strip().splitlines()[-1].removeprefix("run: ")
    assert core.RunDirectory.open(run_dir).read_config().plugins == ("tiny_plugin_a",)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "plug"), os.getcwd()]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "core.cli", "evaluate", run_dir, "--evaluations", "linear_probe",
                           "--no-baselines", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["results"]["learned"]["dim"] == 6  # the plugin's encoder, rebuilt from the run's config


def test_a_plugin_file_next_to_the_experiment_and_the_docs_example(tmp_path):
    (tmp_path / "linear_file_plugin.py").write_text(PLUGIN.format(name="plugin_linear_file"))
    path = experiment_toml(tmp_path, "plugin_linear_file", ["./linear_file_plugin.py"])
    exp = core.load_experiment(path)
    assert exp.encoder.name == "plugin_linear_file" and exp.plugins == (str(tmp_path / "linear_file_plugin.py"),)
    from pathlib import Path

    example = Path(__file__).parents[2] / "docs" / "examples" / "my_encoder_plugin.py"
    code, out, err = run_cli("describe", "linear_projection", "--plugin", str(example))
    assert code == 0, err
    assert "linear_projection (encoder)" in out and "out_dim = 16" in out


def test_plugins_that_do_not_exist_or_raise(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "broken_plugin_b.py").write_text("x = 1\nraise RuntimeError('no GPU driver found')\n")
    path = experiment_toml(tmp_path, "mlp", ["broken_plugin_b"])
    code, _, err = run_cli("train", str(path))
    assert code == 2
    assert "exp.toml: plugins: plugin 'broken_plugin_b' failed while being imported: RuntimeError: no GPU driver found" in err
    assert "broken_plugin_b.py, line 2" in err
    assert not (tmp_path / "runs").exists()
    code, _, err = run_cli("list", "encoders", "--plugin", "no_such_plugin_c")
    assert code == 2 and "--plugin: plugin 'no_such_plugin_c': no module named 'no_such_plugin_c'" in err
    path = experiment_toml(tmp_path, "mlp", ["missing_plugin_d"])
    code, _, err = run_cli("train", str(path))
    assert code == 2 and "no module named 'missing_plugin_d'" in err


def test_entry_points_are_listed_offered_and_loaded_only_when_named(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "ep_plugin_pkg").mkdir(parents=True)
    (site / "ep_plugin_pkg" / "__init__.py").write_text(PLUGIN.format(name="ep_linear"))
    dist = site / "ep_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[replearn.encoders]\nep_linear = ep_plugin_pkg\n")
    monkeypatch.syspath_prepend(str(site))
    code, out, err = run_cli("plugins", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert {"group": "replearn.encoders", "name": "ep_linear", "value": "ep_plugin_pkg"} in listed["entry_points"]
    assert "ep_plugin_pkg" not in sys.modules  # listed, not loaded
    path = experiment_toml(tmp_path, "ep_linear", [])
    code, _, err = run_cli("train", str(path))
    assert code == 2 and "unknown encoder 'ep_linear'" in err
    assert 'The installed plugin \'ep_plugin_pkg\' provides it: add plugins = ["ep_linear"]' in err
    code, out, err = run_cli("train", str(path), "--plugin", "ep_linear", "--quiet")
    assert code == 0, err
    from core import plugins

    assert any(p.name == "ep_linear" and p.source == "entry point replearn.encoders" for p in plugins.loaded())


@pytest.fixture(autouse=True)
def _forget_test_plugins():
    yield
    from core import plugins

    for name in [n for n in plugins._LOADED if "plugin" in n or n.startswith("ep_")]:
        plugins._LOADED.pop(name, None)


def test_a_plugin_evaluation_runs_in_evaluate(explored_run, tmp_path):
    (tmp_path / "norm_eval_plugin.py").write_text(
        "import numpy as np\n"
        "from core.evaluation.methods.base import EVALUATIONS, EvaluationMethod\n"
        "from core.evaluation.metrics import Metric\n\n"
        "@EVALUATIONS.register('plugin_mean_norm', label='Mean norm', help='mean length of the test embeddings',\n"
        "                      order=999, direction='higher', learned_only=True)\n"
        "class MeanNorm(EvaluationMethod):\n"
        "    '''The mean Euclidean norm of the test embeddings (a plugin written by the test).'''\n"
        "    def run(self, ctx):\n"
        "        ctx.result.metrics['mean_norm'] = Metric('mean_norm', float(np.linalg.norm(ctx.Z[ctx.test], axis=1).mean()))\n")
    code, out, err = run_cli("evaluate", explored_run, "--evaluations", "plugin_mean_norm", "--no-baselines", "--json",
                             "--plugin", str(tmp_path / "norm_eval_plugin.py"))
    assert code == 0, err
    record = json.loads(out)
    model = core.load_trained(explored_run)
    Z = model.embed(model.data.splits.test)
    assert record["results"]["learned"]["metrics"]["mean_norm"]["value"] == pytest.approx(
        float(np.linalg.norm(Z, axis=1).mean()), rel=1e-5)


def test_plugins_given_with_the_plugin_flag_are_saved_with_the_run(tmp_path, monkeypatch):
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "tiny_plugin_c.py").write_text(PLUGIN.format(name="plugin_linear_c"))
    (tmp_path / "file_plugin_d.py").write_text(PLUGIN.format(name="plugin_linear_d"))
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    monkeypatch.chdir(tmp_path)
    path = experiment_toml(tmp_path, "plugin_linear_c", [])
    code, out, err = run_cli("train", str(path), "--quiet", "--plugin", "tiny_plugin_c", "--plugin", "./file_plugin_d.py")
    assert code == 0, err
    run_dir = out.strip().splitlines()[-1].removeprefix("run: ")
    saved = core.RunDirectory.open(run_dir).read_config().plugins
    assert saved == ("tiny_plugin_c", str((tmp_path / "file_plugin_d.py").resolve()))


def test_an_unknown_encoder_suggests_loading_a_plugin(tmp_path):
    path = experiment_toml(tmp_path, "no_such_plugin_encoder", [])
    code, _, err = run_cli("train", str(path), "--quiet")
    assert code == 2 and "unknown encoder 'no_such_plugin_encoder'" in err
    assert "--plugin MODULE" in err and 'plugins = ["MODULE"]' in err
