"""Generators for superqt workers: evaluating runs, building and writing reports, transfer experiments.

Each one is core's own generator re-expressed as (fraction, message) progress; closing it (the worker's quit)
cancels at the next report. The report files come from core's ``build_report`` / ``write_report`` — the same
code path as ``replearn report``.
"""
from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import core


def evaluate_runs_job(run_dirs: Sequence[str], evaluations: Sequence[str],
                      baselines: Sequence[str]) -> Generator[tuple[float, str], None, dict[str, dict]]:
    """Evaluate each run (its newest valid checkpoint); returns {run_dir: record} and stores each record in the
    run's reports folder, so reopening the run shows it again."""
    records: dict[str, dict] = {}
    for i, run_dir in enumerate(run_dirs):
        name = Path(run_dir).name
        yield i / len(run_dirs), f"{name}: loading the trained model"
        # evaluated again (that is what the button asks for), stamped with its checkpoint and stored
        gen = core.evaluate_run(run_dir, evaluations, baselines, reuse=False)
        try:
            while True:
                p = next(gen)
                yield (i + p.fraction) / len(run_dirs), f"{name}: {p.message}"
        except StopIteration as stop:
            records[run_dir] = stop.value[0]
    return records


def build_report_job(run_dir: str, evaluations: Sequence[str], sections: Sequence[str],
                     baselines: Sequence[str] | None = None):
    """(ReportData, the report's HTML as the HTML writer writes it) — the HTML feeds the dialog's preview. The
    run's stored evaluation is reused where still valid (``ReportData.reuse`` says what was recomputed)."""
    import tempfile

    gen = core.build_report(run_dir, evaluations=evaluations, sections=sections,
                            baselines=core.BASELINES if baselines is None else baselines)
    try:
        while True:
            p = next(gen)
            yield p.fraction * 0.95, p.message
    except StopIteration as stop:
        data = stop.value
    yield 0.97, "preparing the preview"
    with tempfile.TemporaryDirectory() as tmp:
        html = core.write_report(data, tmp, ["html"])["html"].read_text(encoding="utf-8")
    return data, html


def write_report_job(data: Any, directory: str, formats: Sequence[str]):
    """One format at a time, so the dialog's progress bar moves and a cancel stops between files."""
    paths: dict[str, Path] = {}
    for i, fmt in enumerate(formats):
        yield i / len(formats), f"writing {fmt.upper()}"
        paths.update(core.write_report(data, directory, [fmt]))
    return paths


def transfer_job(run_dir: str, target: str, budgets: Sequence[int | None], epochs: int):
    """core.transfer, its result stored with the run (the Evaluation tab shows each compared run's curve)."""
    gen = core.transfer(run_dir, target, budgets=budgets, epochs=epochs)
    try:
        while True:
            p = next(gen)
            yield p.fraction, p.message
    except StopIteration as stop:
        result = stop.value
    core.save_transfer(result, core.RunDirectory.open(run_dir).reports)
    return result


def similarity_job(run_a: str, run_b: str):
    """Linear CKA of run A's layers against run B's (both load their default checkpoint)."""
    return core.compare_runs(run_a, run_b)
