"""Report figures (matplotlib, Agg): integer ticks where counts are, categories on categorical axes, one unit
per axis, plain tick labels, user strings as escaped text, and a raster for the PDF."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np

from core.report import figures as F


def tick_labels(svg: str, axis: str) -> list[str]:
    """The tick labels matplotlib wrote for ``axis`` ("x" or "y"): each text element carries its string as a comment."""
    blocks = re.split(rf'<g id="{axis}tick_\d+">', svg)[1:]
    return [re.search(r"<!-- (.*?) -->", b).group(1) for b in blocks if re.search(r"<!-- (.*?) -->", b)]


def test_epochs_get_integer_ticks_even_for_one_epoch():
    for epochs in ([1, 2, 3], [3], list(range(1, 31))):
        svg = F.line_chart("Loss", {"train": (epochs, np.linspace(1, 0, len(epochs)))}, "epoch", "loss")
        labels = tick_labels(svg, "x")
        assert labels and all(re.fullmatch(r"−?\d+", t) for t in labels), labels


def test_log_axis_has_plain_rounded_tick_labels():
    svg = F.line_chart("Spectrum", {"σ": (np.arange(1, 65), np.logspace(1, -2, 64))}, "index", "singular value",
                       log_y=True)
    labels = tick_labels(svg, "y")
    assert "mathdefault" not in svg and {"0.01", "0.1", "1", "10"} <= set(labels)
    assert all(re.fullmatch(r"\d+", t) for t in tick_labels(svg, "x"))


def test_bar_chart_is_categorical_with_values_and_intervals():
    svg = F.bar_chart("Probe", ["learned", "raw", "pca"], [0.9, 0.8, None], "accuracy",
                      errors=[(0.85, 0.95), (0.75, 0.85), None])
    assert tick_labels(svg, "x") == ["learned", "raw", "pca"]
    assert "<!-- 0.9 -->" in svg and "<!-- n/a -->" in svg and "<!-- accuracy -->" in svg


def test_robustness_panels_have_one_unit_each_and_a_legend():
    panels = {"noise": {"learned": ([0, 0.1, 0.2], [0.9, 0.8, 0.5]), "raw": ([0, 0.1, 0.2], [0.9, 0.6, 0.3])},
              "shift": {"learned": ([0, 1, 2], [0.9, 0.7, 0.4]), "raw": ([0, 1, 2], [0.9, 0.5, 0.2])}}
    svg = F.small_multiples("Robustness", panels, {"noise": "noise std", "shift": "shift (pixels)"}, "accuracy")
    for text in ("noise std", "shift (pixels)", "learned", "raw", "Robustness"):
        assert f"<!-- {text} -->" in svg


def test_user_strings_are_escaped_text_not_mathtext_and_the_chart_rasters():
    svg = F.scatter("Map", np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 2,
                    ["<script>alert(1)</script>", "$5 & up"])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<!-- $5 &amp; up -->" in svg
    assert svg.startswith("<svg") and "<?xml" not in svg
    assert svg.png(dpi=50).startswith(b"\x89PNG")


def test_heatmap_labels_rows_and_columns():
    m = np.array([[5, 1], [0, 7]])
    svg = F.heatmap("Confusion", m, ["cat", "dog"], ["cat", "dog"], value_label="samples", integer_values=True)
    assert tick_labels(svg, "x")[:2] == ["cat", "dog"] and "<!-- 7 -->" in svg and "<!-- samples -->" in svg


def test_figures_use_no_gui_backend():
    code = ("import sys; from core.report import figures as F; F.line_chart('t', {'a': ([1, 2], [1, 2])}, 'x', 'y');"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'matplotlib.pyplot', 'matplotlib.backends.backend_qt'))];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
