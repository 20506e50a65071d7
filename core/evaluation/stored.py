"""Stored evaluations reused: a record saved in ``reports/evaluation.json`` carries a *stamp* (the checkpoint it
measured, a fingerprint of the run's configuration, the baselines asked for). A later consumer (the report, the
Evaluation tab) takes from it what is still valid and recomputes only what is missing or stale:

- stale: the record was made for another checkpoint or another configuration, or without a stamp (then
  nothing in it is used);
- missing: evaluations (or baselines) the record does not hold. Evaluations that are computed together are
  recomputed together (the property card sums up the probe and the invariance measures of its own pass).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import RunDirectoryError
from core.evaluation import metrics as M
from core.evaluation.methods.base import evaluation_names
from core.evaluation.results import Evaluation, RepresentationResult
from core.evaluation.similarity import Similarity

#: evaluations that must be computed in the same pass as others
NEEDS = {"properties": ("linear_probe", "invariance")}  # the card sums up what these found in the same pass


def _config_digest(run) -> str:
    from core.config.io import experiment_to_dict

    config = experiment_to_dict(run.read_config())
    config.pop("output", None)  # where the run lives does not change what it measures
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def evaluation_stamp(run_dir: str | Path, checkpoint: str | None = None,
                     baselines: Sequence[str] = ()) -> dict[str, Any]:
    """What an evaluation of ``run_dir`` at ``checkpoint`` (default: the one ``load_trained`` loads, the best
    when training kept one, else the newest) depends on."""
    from core.training import checkpoint as ckpt
    from core.training.rundir import RunDirectory

    run = RunDirectory.open(run_dir)
    loaded = ckpt.load_checkpoint(run.checkpoints, ckpt.describe_choice(run.checkpoints, checkpoint)[0])
    entry = next(e for e in ckpt.read_manifest(run.checkpoints)["checkpoints"] if e["file"] == loaded.path.name)
    return {"checkpoint": {"file": entry["file"], "sha256": entry["sha256"], "epoch": entry.get("epoch")},
            "config": _config_digest(run), "baselines": list(baselines)}


def stored_staleness(run_dir: str | Path, record: Mapping[str, Any]) -> str:
    """"" when a stored record still describes the run's default checkpoint (the best one when training kept
    one, else the newest) and its configuration, else why not, in
    one sentence. Cheap (the manifest and config.toml, no weights read): for showing a stored record at once."""
    from core.training import checkpoint as ckpt
    from core.training.rundir import RunDirectory

    old = record.get("stamp")
    if not old:
        return "It does not say which checkpoint it measured."
    run = RunDirectory.open(run_dir)
    entries = ckpt.read_manifest(run.checkpoints)["checkpoints"]
    best = ckpt.best_checkpoint(run.checkpoints)
    which = "best" if best is not None else "newest"
    if best is not None:
        current = next((e for e in entries if e["file"] == best["file"]), None)
    else:
        current = max(entries, key=lambda e: e["step"]) if entries else None
    if current is not None and (old.get("checkpoint") or {}).get("sha256") != current.get("sha256"):
        return (f"It is of {_epoch(old)}; the run's {which} checkpoint is {current['file']}"
                + (f" (epoch {current['epoch']})." if current.get("epoch") is not None else "."))
    if old.get("config") != _config_digest(run):
        return "It was made with another configuration."
    return ""


RECORD_SCHEMA = 1


def stamped(record: Mapping[str, Any], stamp: Mapping[str, Any]) -> dict[str, Any]:
    return {"schema_version": RECORD_SCHEMA, **record, "stamp": dict(stamp)}


@dataclass(frozen=True)
class StoredCheck:
    """What a stored record can give: ``reused`` evaluations are taken from it, ``missing`` ones must be
    computed; ``reason`` says why, in one sentence a person can read."""

    reused: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str

    @property
    def stale(self) -> bool:
        return not self.reused and bool(self.missing)

    def summary(self) -> str:
        def names(seq):
            return ", ".join(s.replace("_", " ") for s in seq)

        if not self.missing:
            return f"Used the stored evaluation ({names(self.reused)}); nothing was recomputed."
        if not self.reused:
            return f"Evaluated {names(self.missing)}: {self.reason}."
        return f"Used the stored evaluation for {names(self.reused)}; computed {names(self.missing)} ({self.reason})."


def _epoch(stamp: Mapping[str, Any]) -> str:
    c = stamp.get("checkpoint") or {}
    return f"{c.get('file', '?')}" + (f" (epoch {c['epoch']})" if c.get("epoch") is not None else "")


def check_stored(record: Mapping[str, Any] | None, stamp: Mapping[str, Any], evaluations: Sequence[str],
                 baselines: Sequence[str]) -> StoredCheck:
    wanted = tuple(e for e in evaluation_names() if e in evaluations)
    if record is None:
        return StoredCheck((), wanted, "no stored evaluation")
    old = record.get("stamp")
    if not old:
        return StoredCheck((), wanted, "the stored evaluation does not say which checkpoint it measured")
    if (old.get("checkpoint") or {}).get("sha256") != stamp["checkpoint"]["sha256"]:
        return StoredCheck((), wanted, f"the stored evaluation is of {_epoch(old)}, this one of {_epoch(stamp)}")
    if old.get("config") != stamp["config"]:
        return StoredCheck((), wanted, "the stored evaluation was made with another configuration")
    lacking = [b for b in baselines if b not in (old.get("baselines") or [])]
    if lacking:
        return StoredCheck((), wanted, "the stored evaluation lacks the baseline(s) " + ", ".join(lacking))
    have = set(record.get("evaluations") or ())
    missing = {e for e in wanted if e not in have}
    grown = True
    while grown:  # evaluations computed together are recomputed together
        extra = {n for e in missing for n in NEEDS.get(e, ()) if n in wanted}
        grown = not extra <= missing
        missing |= extra
    reused = tuple(e for e in wanted if e not in missing)
    missing_t = tuple(e for e in wanted if e in missing)
    reason = "" if not missing_t else ("not in the stored evaluation" if reused else "none of it was stored")
    return StoredCheck(reused, missing_t, reason)


_PARTS = ("layerwise", "confusion", "robustness", "invariance", "factors", "property_card", "reliability",
          "similarity")


def merge_records(stored: Mapping[str, Any], fresh: Mapping[str, Any] | None) -> dict[str, Any]:
    """``stored`` with what ``fresh`` computed laid over it (fresh wins where both have a part)."""
    if fresh is None:
        return dict(stored)
    merged = {**stored, **{k: v for k, v in fresh.items() if k not in ("results", "evaluations", "baseline_notes")}}
    merged["baseline_notes"] = {**(stored.get("baseline_notes") or {}), **(fresh.get("baseline_notes") or {})}
    merged["evaluations"] = [e for e in evaluation_names() if e in set(stored.get("evaluations") or ())
                             | set(fresh.get("evaluations") or ())]
    merged["seconds"] = float(stored.get("seconds") or 0.0) + float(fresh.get("seconds") or 0.0)
    results = {}
    for name in dict.fromkeys([*stored["results"], *fresh["results"]]):
        old, new = stored["results"].get(name, {}), fresh["results"].get(name, {})
        r = {"dim": new.get("dim", old.get("dim")), "metrics": {**old.get("metrics", {}), **new.get("metrics", {})}}
        for part in _PARTS:
            r[part] = new.get(part) or old.get(part)
        results[name] = r
    merged["results"] = results
    return merged


def _metric(m: Mapping[str, Any]) -> M.Metric:
    return M.Metric(m["name"], m["value"], m.get("low"), m.get("high"), m.get("higher_is_better", True),
                    m.get("note", ""))


def evaluation_from_record(record: Mapping[str, Any]) -> Evaluation:
    """The :class:`Evaluation` a record was made from (less the per-point faithfulness, which is not stored)."""
    results = {}
    for name, r in record["results"].items():
        rel = r.get("reliability")
        results[name] = RepresentationResult(
            name, int(r.get("dim") or 0),
            metrics={k: _metric({"name": k, **m}) for k, m in (r.get("metrics") or {}).items()},
            reliability=None if not rel else M.Reliability(*(np.asarray(rel[k], dtype=float) for k in
                                                              ("confidence", "accuracy", "share"))),
            confusion=None if r.get("confusion") is None else np.asarray(r["confusion"], dtype=np.int64),
            layerwise=[(l["layer"], _metric({"name": f"probe_accuracy[{l['layer']}]", **l}))
                       for l in r.get("layerwise") or []],
            robustness={k: [tuple(p) for p in v] for k, v in (r.get("robustness") or {}).items()},
            invariance=dict(r.get("invariance") or {}), factors=dict(r.get("factors") or {}),
            card=dict(r.get("property_card") or {}),
            similarity=None if not r.get("similarity") else Similarity.from_record(r["similarity"]))
    return Evaluation(record.get("experiment", ""), record.get("dataset", ""), int(record.get("n_train") or 0),
                      int(record.get("n_test") or 0), tuple(record.get("label_names") or ()), results,
                      float(record.get("seconds") or 0.0), tuple(record.get("evaluations") or ()),
                      split=dict(record.get("split") or {}), baseline_notes=dict(record.get("baseline_notes") or {}))


def evaluate_run(run_dir: str | Path, evaluations: Sequence[str] | None = None, baselines: Sequence[str] | None = None,
                 *, checkpoint: str | None = None, reuse: bool = True, model: Any = None, seed: int = 0,
                 store: bool | None = None):
    """Evaluate a run (a generator of progress, cancellable), reusing its stored evaluation where it is still
    valid when ``reuse``; returns ``(record, check)``: the stamped record and what was reused or computed.
    What was computed is stored back in ``reports/evaluation.json`` when ``store`` (default: for the default
    checkpoint only, so that a look at an old checkpoint does not replace the current one's results)."""
    from core.evaluation.results import EvaluationProgress
    from core.evaluation.suite import BASELINES, evaluate
    from core.evaluation.tables import load_evaluation, save_evaluation
    from core.training.inference import load_trained
    from core.training.rundir import RunDirectory

    baselines = BASELINES if baselines is None else tuple(baselines)
    evaluations = evaluation_names() if evaluations is None else tuple(evaluations)
    run = RunDirectory.open(run_dir)
    stamp = evaluation_stamp(run_dir, checkpoint, baselines)
    stored = load_evaluation(run.reports) if reuse else None
    check = check_stored(stored, stamp, evaluations, baselines)
    if not reuse:
        check = StoredCheck((), check.missing, "evaluated again on request")
    fresh = None
    if check.missing or not check.reused:
        if model is None:
            yield EvaluationProgress(0.0, "loading the trained model")
            model = load_trained(run_dir, checkpoint=checkpoint)
        fresh = (yield from evaluate(model, check.missing, baselines, seed=seed)).to_record()
    if check.reused:
        assert stored is not None  # reused means there was a stored record to reuse
        record = stamped(merge_records(stored, fresh), stamp)
    else:
        assert fresh is not None  # nothing reused: everything was just computed
        record = stamped(fresh, stamp)
    if (checkpoint is None if store is None else store) and fresh is not None:
        # a read-only run (someone else's, on a share): the store is a cache, the result stands
        with contextlib.suppress(OSError, RunDirectoryError):
            save_evaluation(record, run.reports)
    return record, check
