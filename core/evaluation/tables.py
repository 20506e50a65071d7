"""Evaluation results as table rows, from :meth:`Evaluation.to_record` dicts (the form a run stores with
:meth:`core.RunDirectory.write_evaluation`), so a fresh evaluation and a stored one are shown by the same code."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResultRow:
    metric: str
    value: float | None
    low: float | None
    high: float | None
    higher_is_better: bool
    baselines: dict[str, float | None]  # baseline name -> its value of this metric
    difference: float | None  # learned − the best baseline (positive = learning helped, whatever the direction)
    best_baseline: str | None


def result_rows(record: Mapping[str, Any]) -> list[ResultRow]:
    """One row per metric of the learned representation, with each baseline's value and the margin over the
    strongest baseline, signed so that a positive margin always means "better than every baseline"."""
    results = record["results"]
    learned = results["learned"]["metrics"]
    rows = []
    for name, m in learned.items():
        base = {b: r["metrics"].get(name, {}).get("value") for b, r in results.items() if b != "learned"}
        known = {b: v for b, v in base.items() if v is not None}
        diff = best = None
        if m["value"] is not None and known:
            sign = 1.0 if m["higher_is_better"] else -1.0
            best = max(known, key=lambda b: sign * known[b])
            diff = sign * (m["value"] - known[best])
        rows.append(ResultRow(name, m["value"], m.get("low"), m.get("high"), m["higher_is_better"], base, diff, best))
    return rows


def comparison_rows(records: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[tuple[str, list[dict | None]]]]:
    """(run names, [(metric, [that run's learned metric record or None, ...])]) over the union of metrics, in
    the order they first appear."""
    names = list(records)
    metrics: list[str] = []
    for rec in records.values():
        for m in rec["results"]["learned"]["metrics"]:
            if m not in metrics:
                metrics.append(m)
    return names, [(m, [records[n]["results"]["learned"]["metrics"].get(m) for n in names]) for m in metrics]
