"""Probe reports: every format is written, parses back, and treats user strings as data."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import core
from core.cli import main as cli_main
from core.report.build import build_report, write_report

EVALS = ("linear_probe", "knn", "calibration", "robustness", "invariance", "properties", "layerwise")



@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A tiny run on a CSV whose labels and column names try to be HTML, Markdown or spreadsheet formulas."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    labels = ["<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "a|b"]
    rows = ["f1,f2,f3,label"] + [f"{a:.3f},{b:.3f},{c:.3f},{labels[i % 3]}" for i, (a, b, c) in
                                 enumerate(rng.normal(size=(90, 3)) + np.repeat(np.eye(3) * 3, 30, axis=0))]
    (root / "t.csv").write_text("\n".join(rows))
    exp = core.Experiment(name="hostile", data=core.DataConfig(name="csv", params={"path": str(root / "t.csv"),
                                                                                     "label_column": "label"}),
                          encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 4}),
                          training=core.TrainingConfig(epochs=3, batch_size=16, device="cpu"),
                          output=core.OutputConfig(root=str(root / "runs")))
    return core.run_to_end(core.train(exp)).run_dir


def test_every_format_parses_and_escapes_user_strings(hostile_run, tmp_path):
    data = core.run_to_end(build_report(hostile_run, evaluations=EVALS))
    paths = write_report(data, tmp_path)
    assert set(paths) == {"html", "pdf", "json", "md", "csv"}
    record = json.loads(paths["json"].read_text())
    assert record["schema_version"] == 1 and record["provenance"]["seed"] == 0
    assert len(record["provenance"]["checkpoint"]["sha256"]) == 64
    assert "probe_accuracy" in record["evaluation"]["results"]["learned"]["metrics"]
    # the PCA baseline never vanishes: 4-d representation, 3 features → PCA-3, said to be the raw features rotated
    assert set(record["evaluation"]["results"]) == {"learned", "raw", "pca", "random_init",
                                                    "hand-designed (standardised columns)"}
    assert record["evaluation"]["results"]["pca"]["dim"] == 3
    assert "raw features rotated" in record["evaluation"]["baseline_notes"]["pca"]
    notes = " ".join(record["evaluation"]["notes"])
    assert "test split" in notes and "Wilson" in notes and "not the variation between training seeds" in notes
    html = paths["html"].read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<svg" in html  # figures are embedded, nothing is loaded from elsewhere
    assert "src=\"http" not in html and "href=\"http" not in html
    md = paths["md"].read_text()
    assert "<script>" not in md
    cells = [row for row in csv.reader(io.StringIO(paths["csv"].read_text()))]
    assert cells[0] == ["representation", "metric", "value", "ci_low", "ci_high"]
    assert all(not c.startswith(("=", "+", "@")) for row in cells for c in row)
    assert paths["pdf"].read_bytes().startswith(b"%PDF")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_first_page_renders(hostile_run, tmp_path):
    data = core.run_to_end(build_report(hostile_run, evaluations=("linear_probe",)))
    pdf = write_report(data, tmp_path, ("pdf",))["pdf"]
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))


def test_cli_report_and_bad_format(hostile_run, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["report", hostile_run, "--formats", "json,md", "--evaluations", "linear_probe,knn",
                     "--out", str(tmp_path)], out, err)
    assert code == 0, err.getvalue()
    assert (tmp_path / "report.json").is_file() and (tmp_path / "report.md").is_file()
    code = cli_main(["report", hostile_run, "--formats", "docx"], io.StringIO(), err)
    assert code == 2 and "unknown format(s) docx" in err.getvalue()


def test_factors_data_gets_a_compositionality_score(tmp_path):
    exp = core.Experiment(name="f", data=core.DataConfig(name="factors", params={"images": 400, "size": 16}),
                          encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
                          training=core.TrainingConfig(epochs=2, batch_size=64, device="cpu"),
                          output=core.OutputConfig(root=str(tmp_path)))
    result = core.run_to_end(core.train(exp))
    from core.evaluation.suite import evaluate

    ev = core.run_to_end(evaluate(core.load_trained(result.run_dir), ("linear_probe", "invariance", "properties"), ()))
    learned = ev.learned
    assert {"decode_scale", "decode_x", "decode_brightness", "compositionality_r2"} <= set(learned.factors)
    assert learned.card["compositionality"]["score"] is not None
    assert set(learned.invariance) == {"rotation_degrees", "shift", "brightness"}
    assert all(v <= 1 for v in learned.factors.values())
    assert learned.factors["decode_brightness"] > 0  # better than guessing the mean brightness


def test_figure_titles_name_the_split_in_words(hostile_run):
    data = core.run_to_end(build_report(hostile_run, evaluations=("linear_probe",)))
    titles = " ".join(re.findall(r"<!-- (.*?) -->", "".join(data.figures.values())))
    assert data.evaluation.split["description"] in titles and "{" not in titles  # no dict in a title
