"""Evaluation results as table rows, from :meth:`Evaluation.to_record` dicts (the form a run stores with
:meth:`core.RunDirectory.write_evaluation`), so a fresh evaluation and a stored one are shown by the same code."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.fileio import atomic_write_text, json_ready


@dataclass(frozen=True)
class ResultRow:
    metric: str
    value: float | None
    low: float | None
    high: float | None
    higher_is_better: bool | None  # None: no better direction (invariance / equivariance)
    baselines: dict[str, float | None]  # baseline name -> its value of this metric
    difference: float | None  # learned − the best baseline (positive = learning helped, whatever the direction)
    best_baseline: str | None


def measures(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A representation's metrics, then its invariance and equivariance per transform as rows of their own
    (``invariance[rotation_degrees]``: relative movement of z, 0 = unmoved; ``equivariance_r2[...]``: R² of the
    transform's parameter read from the movement). These two have no better direction: whether a
    representation should ignore or follow a transform is the user's call, so they get no margin."""
    out = dict(result.get("metrics") or {})
    for transform, v in (result.get("invariance") or {}).items():
        out[f"invariance[{transform}]"] = {"value": v.get("invariance"), "low": None, "high": None,
                                           "higher_is_better": None, "note": "relative movement of z, 0 = unmoved"}
        out[f"equivariance_r2[{transform}]"] = {"value": v.get("equivariance_r2"), "low": None, "high": None,
                                                "higher_is_better": None,
                                                "note": "R² of the parameter read from z(Tx) − z(x)"}
    return out


def result_rows(record: Mapping[str, Any]) -> list[ResultRow]:
    """One row per metric of the learned representation, with each baseline's value and the margin over the
    strongest baseline, signed so that a positive margin always means "better than every baseline"."""
    results = record["results"]
    learned = measures(results["learned"])
    rows = []
    for name, m in learned.items():
        base = {b: measures(r).get(name, {}).get("value") for b, r in results.items() if b != "learned"}
        known = {b: v for b, v in base.items() if v is not None}
        diff = best = None
        if m["value"] is not None and known and m["higher_is_better"] is not None:
            sign = 1.0 if m["higher_is_better"] else -1.0
            best = max(known, key=lambda b: sign * known[b])
            diff = sign * (m["value"] - known[best])
        rows.append(ResultRow(name, m["value"], m.get("low"), m.get("high"), m["higher_is_better"], base, diff, best))
    return rows


def comparison_rows(records: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[tuple[str, list[dict | None]]]]:
    """(run names, [(metric, [that run's learned metric record or None, ...])]) over the union of metrics, in
    the order they first appear."""
    names = list(records)
    learned = {n: measures(rec["results"]["learned"]) for n, rec in records.items()}
    metrics: list[str] = []
    for ms in learned.values():
        for m in ms:
            if m not in metrics:
                metrics.append(m)
    return names, [(m, [learned[n].get(m) for n in names]) for m in metrics]


def save_evaluation(record: Mapping[str, Any], reports_dir: str | Path) -> Path:
    """Store an evaluation in a run's reports folder through the run directory's one writer."""
    from core.training.rundir import RunDirectory

    return RunDirectory.write_evaluation_file(dict(record), RunDirectory.evaluation_file(reports_dir))


def load_evaluation(reports_dir: str | Path) -> dict[str, Any] | None:
    """The run's last evaluation, or None when there is none (or it cannot be read: it is then evaluated again)."""
    from core.training.rundir import RunDirectory

    return RunDirectory.read_evaluation_file(RunDirectory.evaluation_file(reports_dir))


TRANSFER_FILE = "transfer.json"


def save_transfer(result: Any, reports_dir: str | Path) -> Path:
    """A :class:`core.TransferResult` next to the run's evaluation, so comparing runs shows every run's curve."""
    path = Path(reports_dir) / TRANSFER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"source_run": result.source_run, "target": result.target, "budgets": list(result.budgets),
              "accuracy": {m: list(v) for m, v in result.accuracy.items()}, "n_test": result.n_test,
              "split": dict(result.split)}
    atomic_write_text(path, json.dumps(json_ready(record), indent=2, allow_nan=False) + "\n")
    return path


def load_transfer(reports_dir: str | Path) -> Any:
    """The run's last transfer result (a :class:`core.TransferResult`), or None."""
    from core.evaluation.transfer import TransferResult

    try:
        r = json.loads((Path(reports_dir) / TRANSFER_FILE).read_text(encoding="utf-8"))
        return TransferResult(r["source_run"], r["target"], list(r["budgets"]),
                              {m: [float("nan") if a is None else float(a) for a in v] for m, v in r["accuracy"].items()},
                              int(r["n_test"]), dict(r.get("split") or {}))
    except (OSError, ValueError, KeyError, TypeError):
        return None
