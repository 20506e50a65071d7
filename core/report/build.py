"""The probe report: one set of data (provenance, diagnostics history, evaluations with baselines, figures) and
writers for HTML, PDF, JSON, Markdown and CSV. The CLI's ``replearn report`` and the app export the same files."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.config.io import experiment_to_dict
from core.evaluation.results import Evaluation, EvaluationProgress
from core.evaluation.suite import BASELINES
from core.fileio import json_ready
from core.report import figures
from core.report.figures import svg_size

SCHEMA_VERSION = 1
FORMATS = ("html", "pdf", "json", "md", "csv")
SECTIONS = ("provenance", "history", "evaluation", "properties", "figures")


@dataclass
class ReportData:
    title: str
    created: str
    provenance: dict[str, Any]
    history: dict[str, list[float]]
    evaluation: Evaluation
    figures: dict[str, str] = field(default_factory=dict)  # name -> SVG
    sections: tuple[str, ...] = SECTIONS
    reuse: Any = None  # a core.evaluation.stored.StoredCheck: what came from the stored evaluation

    def to_record(self) -> dict[str, Any]:
        return json_ready({"schema_version": SCHEMA_VERSION, "title": self.title, "created": self.created,
                       "sections": list(self.sections), "provenance": self.provenance, "history": self.history,
                       "evaluation": self.evaluation.to_record()})


def _history(run) -> dict[str, list[float]]:
    from core.training.events import EpochEnded

    h: dict[str, list[Any]] = {k: [] for k in ("epoch", "train_loss", "val_loss", "effective_rank",
                                                 "probe_accuracy", "uniformity")}
    for e in run.read_events():
        if not isinstance(e, EpochEnded):
            continue
        d = e.diagnostics
        h["epoch"].append(e.epoch)
        h["train_loss"].append(e.train_loss)
        h["val_loss"].append(e.val_loss)
        h["effective_rank"].append(d.effective_rank if d else None)
        h["probe_accuracy"].append(d.probe_accuracy if d else None)
        h["uniformity"].append(None if d is None or not np.isfinite(d.uniformity) else d.uniformity)
    return h


def build_report(run_dir: str | Path, *, evaluations: Sequence[str] | None = None,
                 baselines: Sequence[str] = BASELINES, sections: Sequence[str] = SECTIONS,
                 checkpoint: str | None = None, reuse: bool = True) -> Generator[EvaluationProgress, None, ReportData]:
    """Evaluate a run and gather everything its report shows (a generator: progress, cancellable). With
    ``reuse``, the run's stored evaluation (``reports/evaluation.json``, e.g. the Evaluation tab's) is used
    where it is still valid and only what is missing or stale is computed: ``ReportData.reuse`` says which."""
    from core._version import __version__
    from core.training.inference import load_trained
    from core.training.rundir import RunDirectory

    run = RunDirectory.open(run_dir)
    requested = checkpoint  # None: the default one, whose evaluation the Evaluation tab stores
    model = load_trained(run_dir, checkpoint=checkpoint)  # the best checkpoint when training kept one
    used = model.checkpoint
    assert used is not None  # load_trained always says which checkpoint it loaded
    X = np.ascontiguousarray(model.data.dataset.X)
    status = run.read_status()
    provenance = {
        "run_dir": str(run.path), "experiment": experiment_to_dict(model.experiment), "seed": model.experiment.training.seed,
        "status": status.get("status"), "run_id": status.get("run_id"),
        "versions": {**status.get("versions", {}), "report": __version__},
        "data_fingerprint": hashlib.sha256(X.tobytes()).hexdigest()[:16] + f" ({X.shape[0]} samples)",
        "checkpoint": {"file": used.file, "sha256": used.sha256, "epoch": used.epoch, "step": used.step,
                       "why": used.why},
    }
    from core.evaluation.stored import evaluate_run, evaluation_from_record

    record, check = yield from evaluate_run(run_dir, evaluations, baselines, checkpoint=requested, reuse=reuse,
                                            model=model)
    result = evaluation_from_record(record)
    data = ReportData(title=f"Probe report — {model.experiment.name}",
                      created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                      provenance=provenance, history=_history(run), evaluation=result, sections=tuple(sections),
                      reuse=check)
    if "figures" in sections:
        data.figures = _figures(data, model)
    return data


def _figures(data: ReportData, model) -> dict[str, str]:
    from core.evaluation.properties import CORRUPTION_UNITS

    out: dict[str, str] = {}
    ev = data.evaluation
    h = data.history
    gaps = lambda values: [np.nan if v is None else v for v in values]  # noqa: E731
    if h["epoch"]:
        series = {"training loss": (h["epoch"], h["train_loss"])}
        if any(v is not None for v in h["val_loss"]):
            series["validation loss"] = (h["epoch"], gaps(h["val_loss"]))
        out["loss"] = figures.line_chart("Loss per epoch", series, "epoch", "loss (objective's units)",
                                         integer_x=True)
        if any(v is not None for v in h["probe_accuracy"]):
            out["online_probe"] = figures.line_chart(
                "Online linear probe per epoch (validation subset)",
                {"online probe": (h["epoch"], gaps(h["probe_accuracy"]))}, "epoch", "accuracy", integer_x=True)
        if any(v is not None for v in h["effective_rank"]):
            out["rank"] = figures.line_chart("Effective rank (RankMe) per epoch",
                                             {"RankMe": (h["epoch"], gaps(h["effective_rank"]))}, "epoch",
                                             "effective rank (dimensions)", integer_x=True)
    learned = ev.learned
    where = ev.split.get("description") or f"test split, {ev.n_test} samples"  # e.g. "random test split (359 samples)"
    accuracy = {name: m for name, r in ev.results.items() if (m := r.metrics.get("probe_accuracy")) is not None}
    if accuracy:
        names = list(accuracy)
        out["baselines"] = figures.bar_chart(
            f"Linear probe: learned vs baselines ({where})", [n.replace("_", " ") for n in names],
            [accuracy[n].value for n in names], "accuracy", xlabel="representation",
            errors=[(accuracy[n].low, accuracy[n].high) if accuracy[n].low is not None else None for n in names])
    Z = model.embed()
    sv = np.linalg.svd(Z - Z.mean(0), compute_uv=False)
    out["spectrum"] = figures.line_chart("Singular values of the centred representation (all samples)",
                                         {"σ": (np.arange(1, len(sv) + 1), np.maximum(sv, 1e-12))}, "index",
                                         "singular value (log scale)", integer_x=True, log_y=True)
    if learned.confusion is not None and len(ev.label_names) <= 30:
        out["confusion"] = figures.heatmap(f"Confusion matrix of the linear probe ({where})",
                                           learned.confusion, ev.label_names, ev.label_names, value_label="samples",
                                           xlabel="predicted class", ylabel="true class", cmap="Blues",
                                           integer_values=True)
    if learned.reliability is not None:
        rel = learned.reliability
        out["reliability"] = figures.reliability_diagram(rel.confidence, rel.accuracy, rel.share)
    if learned.robustness:
        panels = {name.replace("_", " "): {"learned": ([p[0] for p in c], [p[1] for p in c])}
                  for name, c in learned.robustness.items()}
        for base, r in ev.results.items():
            if base != "learned":
                for name, c in r.robustness.items():
                    panels[name.replace("_", " ")][base.replace("_", " ")] = ([p[0] for p in c], [p[1] for p in c])
        units = {name.replace("_", " "): CORRUPTION_UNITS.get(name, "level") for name in learned.robustness}
        out["robustness"] = figures.small_multiples("Robustness: linear-probe accuracy under corruption", panels,
                                                    units, "accuracy", (0, 1.02))
    if learned.layerwise:
        out["layerwise"] = figures.bar_chart(
            "Linear probe per layer", [layer for layer, _ in learned.layerwise],
            [m.value for _, m in learned.layerwise], "accuracy", xlabel="layer (input → output)",
            errors=[(m.low, m.high) if m.low is not None else None for _, m in learned.layerwise])
    if learned.similarity is not None:
        s = learned.similarity
        out["similarity"] = figures.heatmap(
            f"Linear CKA between layers ({s.n_samples} test samples)", s.matrix, s.rows, s.columns,
            value_label="linear CKA (1 = the same geometry)", vmin=0.0, vmax=1.0, xlabel=s.column_label,
            ylabel=s.row_label)
    if learned.card:
        names = list(learned.card)
        out["properties"] = figures.bar_chart("Property card", names, [learned.card[n]["score"] for n in names],
                                              "score (0 = worst, 1 = best)", xlabel="property")
    from core.projection.methods import PCA

    coords = PCA().fit_transform(Z)
    ds = model.data.dataset
    out["projection"] = figures.scatter("2-D PCA of the representation", coords, ds.y, ds.label_names,
                                        xlabel="principal component 1", ylabel="principal component 2")
    return out


# ---- writers ---------------------------------------------------------------------------------------------


def _rows(data: ReportData) -> list[tuple[str, str, float | None, float | None, float | None]]:
    rows: list[tuple[str, str, float | None, float | None, float | None]] = []
    for rep, r in data.evaluation.results.items():
        for name, m in r.metrics.items():
            rows.append((rep, name, m.value, m.low, m.high))
        for layer, m in r.layerwise:
            rows.append((rep, f"probe_accuracy[{layer}]", m.value, m.low, m.high))
    return rows


def write_json(data: ReportData, path: Path) -> Path:
    from core.fileio import atomic_write_text

    atomic_write_text(path, json.dumps(data.to_record(), indent=1, allow_nan=False) + "\n")
    return path


def write_csv_table(data: ReportData, path: Path) -> Path:
    from core.report.export import write_csv

    rows = _rows(data)

    def col(i: int) -> list:
        return ["" if r[i] is None else r[i] for r in rows]  # an empty cell, not the word "None"

    return write_csv(path, {"representation": col(0), "metric": col(1), "value": col(2), "ci_low": col(3),
                            "ci_high": col(4)})


def _cell(m) -> str:
    if m is None:
        return "–"
    return f"{m.value:.3f}" + (f" [{m.low:.3f}, {m.high:.3f}]" if m.low is not None else "")


def metric_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    reps = list(data.evaluation.results)
    names = list(dict.fromkeys(n for r in data.evaluation.results.values() for n in r.metrics))
    body = [[n] + [_cell(data.evaluation.results[rep].metrics.get(n)) for rep in reps] for n in names]
    return ["metric"] + reps, body


def write_markdown(data: ReportData, path: Path) -> Path:
    from core.fileio import atomic_write_text

    def esc(s: Any) -> str:  # Markdown: neutralise table pipes and HTML
        return str(s).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    p = data.provenance
    lines = [f"# {esc(data.title)}", "", f"Created {data.created}.", ""]
    if "provenance" in data.sections:
        lines += ["## Provenance", "", "| | |", "|---|---|"]
        lines += [f"| run | {esc(p['run_dir'])} |", f"| seed | {p['seed']} |", f"| data | {esc(p['data_fingerprint'])} |",
                  f"| checkpoint | {esc(p['checkpoint']['why'])}, epoch {p['checkpoint']['epoch']} (sha256 {p['checkpoint']['sha256'][:16]}…) |",
                  f"| versions | {esc(', '.join(f'{k} {v}' for k, v in p['versions'].items()))} |", ""]
    if "evaluation" in data.sections:
        header, body = metric_table(data)
        lines += ["## Evaluation", ""] + [f"- {esc(n)}" for n in data.evaluation.notes()] + ["",
                  "| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(map(esc, row)) + " |" for row in body]
        lines.append("")
    if "properties" in data.sections and data.evaluation.learned.card:
        lines += ["## Property card", "", "| property | score | how it was measured |", "|---|---|---|"]
        for name, v in data.evaluation.learned.card.items():
            score = "–" if v["score"] is None else f"{v['score']:.3f}"
            lines.append(f"| {name} | {score} | {esc(v['how'])} |")
        lines.append("")
    if "figures" in data.sections and data.figures:
        fig_dir = path.parent / "figures"
        fig_dir.mkdir(exist_ok=True)
        lines += ["## Figures", ""]
        for name, svg in data.figures.items():
            atomic_write_text(fig_dir / f"{name}.svg", svg)
            lines.append(f"![{name}](figures/{name}.svg)")
        lines.append("")
    atomic_write_text(path, "\n".join(lines))
    return path


def write_html(data: ReportData, path: Path) -> Path:
    from html import escape

    from core.fileio import atomic_write_text

    p = data.provenance
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        # nothing in the report may load or run anything: no scripts, no remote content
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(data.title)}</title><style>body{{font-family:Helvetica,Arial,sans-serif;max-width:1000px;"
        "margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        ".figs{display:flex;flex-wrap:wrap;gap:10px}.figs svg{width:calc(50% - 10px);height:auto}"
        "ul.notes{font-size:90%;color:#444}</style></head><body>",
        f"<h1>{escape(data.title)}</h1><p>Created {escape(data.created)}.</p>",
    ]
    if "provenance" in data.sections:
        parts.append("<h2>Provenance</h2><table>")
        for k, v in (("run", p["run_dir"]), ("experiment", p["experiment"]["name"]), ("seed", p["seed"]),
                     ("data fingerprint", p["data_fingerprint"]),
                     ("checkpoint", f"{p['checkpoint']['why']}, epoch {p['checkpoint']['epoch']} (sha256 {p['checkpoint']['sha256']})"),
                     ("versions", ", ".join(f"{a} {b}" for a, b in p["versions"].items()))):
            parts.append(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>")
        parts.append("</table>")
    if "evaluation" in data.sections:
        header, body = metric_table(data)
        parts.append("<h2>Evaluation</h2><ul class='notes'>"
                     + "".join(f"<li>{escape(n)}</li>" for n in data.evaluation.notes()) + "</ul><table><tr>")
        parts += [f"<th>{escape(h)}</th>" for h in header]
        parts.append("</tr>")
        for row in body:
            parts.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
        labels = data.evaluation.label_names
        if labels:
            parts.append("<p>Classes: " + escape(", ".join(labels)) + "</p>")
    if "properties" in data.sections and data.evaluation.learned.card:
        parts.append("<h2>Property card</h2><table><tr><th>property</th><th>score</th><th>how</th></tr>")
        for name, v in data.evaluation.learned.card.items():
            score = "–" if v["score"] is None else f"{v['score']:.3f}"
            parts.append(f"<tr><td>{escape(name)}</td><td>{score}</td><td>{escape(v['how'])}</td></tr>")
        parts.append("</table>")
    if "figures" in data.sections and data.figures:
        parts.append("<h2>Figures</h2><div class='figs'>" + "".join(data.figures.values()) + "</div>")
    parts.append("</body></html>")
    atomic_write_text(path, "\n".join(parts))
    return path


def _latin1(text: str) -> str:
    for a, b in (("—", "-"), ("–", "-"), ("√", "sqrt"), ("≥", ">="), ("≤", "<="), ("×", "x"), ("σ", "sigma"),
                 ("…", "..."), ("−", "-"), ("‖", "|"), ("²", "^2")):
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


def write_pdf(data: ReportData, path: Path) -> Path:
    import io
    import tempfile

    from fpdf import FPDF

    from core.fileio import atomic_write_bytes

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, _latin1(data.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, _latin1(f"Created {data.created}"), new_x="LMARGIN", new_y="NEXT")
    p = data.provenance
    if "provenance" in data.sections:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "Provenance", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        for k, v in (("run", p["run_dir"]), ("seed", p["seed"]), ("data", p["data_fingerprint"]),
                     ("checkpoint", f"{p['checkpoint']['why']}, epoch {p['checkpoint']['epoch']}, sha256 {p['checkpoint']['sha256'][:32]}"),
                     ("versions", ", ".join(f"{a} {b}" for a, b in p["versions"].items()))):
            pdf.multi_cell(0, 4.5, _latin1(f"{k}: {v}"), new_x="LMARGIN", new_y="NEXT")
    if "evaluation" in data.sections:
        header, body = metric_table(data)
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "Evaluation", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 7.5)
        for note in data.evaluation.notes():
            pdf.multi_cell(0, 3.8, _latin1(f"- {note}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        pdf.set_font("Helvetica", "", 7)
        widths = [46] + [(190 - 46) / (len(header) - 1)] * (len(header) - 1)
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=4) as table:
            for row in [header] + body:
                r = table.row()
                for c in row:
                    r.cell(_latin1(str(c)))
    if "properties" in data.sections and data.evaluation.learned.card:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "Property card", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        for name, v in data.evaluation.learned.card.items():
            score = "-" if v["score"] is None else f"{v['score']:.3f}"
            pdf.multi_cell(0, 4.5, _latin1(f"{name}: {score} - {v['how']}"), new_x="LMARGIN", new_y="NEXT")
    if "figures" in data.sections and data.figures:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "Figures", new_x="LMARGIN", new_y="NEXT")
        with tempfile.TemporaryDirectory() as tmp:
            for name, svg in data.figures.items():
                w_pt, h_pt = svg_size(svg)
                width = min(170.0, w_pt * 25.4 / 72 * 1.15)  # mm; about the size the HTML shows
                height = width * h_pt / w_pt
                if pdf.get_y() + height > pdf.h - pdf.b_margin:
                    pdf.add_page()
                png = svg.png() if hasattr(svg, "png") else None
                if png is not None:  # matplotlib's own raster: fpdf2 cannot draw every SVG feature
                    pdf.image(io.BytesIO(png), x=(pdf.w - width) / 2, w=width, h=height)
                else:  # an SVG that came without its figure (e.g. read back from elsewhere)
                    f = Path(tmp) / f"{name}.svg"
                    f.write_text(_latin1(svg), encoding="latin-1")  # the PDF core fonts are Latin-1
                    pdf.image(str(f), x=(pdf.w - width) / 2, w=width, h=height)
                pdf.ln(4)
    buf = io.BytesIO()
    pdf.output(buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


WRITERS = {"html": (write_html, "report.html"), "pdf": (write_pdf, "report.pdf"), "json": (write_json, "report.json"),
           "md": (write_markdown, "report.md"), "csv": (write_csv_table, "report.csv")}


def write_report(data: ReportData, directory: str | Path, formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    from core.errors import ConfigError

    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise ConfigError("formats", f"unknown report format(s) {', '.join(unknown)}", allowed=", ".join(FORMATS))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return {fmt: WRITERS[fmt][0](data, directory / WRITERS[fmt][1]) for fmt in formats}
