"""A headless install (no [gui] extra): core and the `replearn` command work when Qt cannot be imported."""
import json
import os
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow
def test_the_cli_trains_evaluates_and_exports_without_qt(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from importlib.abc import MetaPathFinder

        class NoQt(MetaPathFinder):  # what a machine without PySide6 / pyqtgraph / superqt looks like
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "superqt", "replearn_gui"):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NoQt())
        from core.cli import main
        runs = {str(tmp_path / "runs")!r}
        assert main(["list", "encoders"]) == 0
        assert main(["train", "digits-supervised", "--epochs", "1", "--out", runs, "--quiet",
                     "--set", "training.probe_every=0", "--set", "encoder.params.hidden=[16]"]) == 0
        import pathlib
        (run,) = pathlib.Path(runs).iterdir()
        assert main(["evaluate", str(run), "--evaluations", "linear_probe", "--no-baselines", "--json"]) == 0
        assert main(["export", str(run), "--format", "torchscript"]) == 0
        loaded = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "superqt", "replearn_gui")]
        assert not loaded, loaded
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    env.pop("QT_QPA_PLATFORM", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    start = done.stdout.index("{\n")
    record = json.loads(done.stdout[start:done.stdout.index("\n}\n", start) + 2])
    assert record["results"]["learned"]["metrics"]["probe_accuracy"]["value"] > 0.5
