"""docs/tutorial.ipynb runs from top to bottom (its code cells executed in order, without Jupyter)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"


@pytest.mark.slow
def test_the_tutorial_notebook_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it writes its runs and exports under the working directory
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert len(code) >= 6
    namespace: dict = {"__name__": "__tutorial__"}
    for i, cell in enumerate(code):
        source = "".join(cell["source"])
        exec(compile(source, f"tutorial cell {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "finished" in out and "probe accuracy" in out and "hand-designed (HOG + edges)" in out
    assert "share their query's digit" in out
    assert (tmp_path / "tutorial-embeddings.csv").is_file()
    assert os.listdir(tmp_path / "tutorial-projector")
