"""The evaluation suite: every evaluation on the learned representation and on three baselines.

``evaluate(model)`` is a generator (progress events; close it to cancel) that returns an :class:`Evaluation`.
Baselines, on the same splits: the raw input features, PCA-k of the raw features with k = min(representation
dimension, input dimension) (fitted on the training split; with k = the input dimension it is the raw features
rotated, and the notes say so), the same encoder at its random initialisation, and hand-designed features for
the data kind (:mod:`core.evaluation.handcrafted`; stored under a name that says which) — so every number says
whether learning helped, and whether it beat engineering. Probes follow :data:`~core.diagnostics.probes.PROBE_PROTOCOL` (fitted on the training split, C
chosen on the validation split) and are scored on the test split; :meth:`Evaluation.notes` says which split, on
how many samples, and what the intervals cover. The evaluations themselves are a registry (:mod:`core.evaluation.methods`), one file
each.

Memory: every representation is computed a batch of inputs at a time and the evaluations that read inputs
(robustness, invariance, reconstruction) stream the test split, so memory-mapped data is never loaded whole. When
three copies of the input features do not fit in the free memory, the raw-feature baseline (and the standardised
columns of tabular data) are left out with a note, and PCA-k is fitted on a uniform sample of the training split
(:data:`PCA_SAMPLE_BYTES`), which the note states.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Generator, Sequence

import numpy as np

from core.errors import ConfigError
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, evaluation_names
from core.evaluation.results import Evaluation, EvaluationProgress, RepresentationResult

BASELINES = ("raw", "pca", "random_init", "handcrafted")
BASELINE_HELP = {"raw": "the input features themselves",
                 "pca": "PCA of the inputs to the same dimension (all of them when the inputs are narrower)",
                 "random_init": "the same encoder before training",
                 "handcrafted": "engineered features for this kind of data (HOG + edges for images, log-mel + MFCC "
                                "for sound, TF-IDF for text, degree + clustering + spectral for graphs)"}


NOTES = logging.getLogger("replearn")
PCA_SAMPLE_BYTES = 128 << 20  # the PCA baseline of features that do not fit is fitted on a sample this large
WIDE_COPIES = 3  # copies of the input features that the raw-feature baselines may hold at once
EMBED_BATCH = 8192  # rows embedded at a time (a multiple of embed_inputs' own 2048: the same batches as before)


def embed_in_batches(embed, X, batch_size: int | None = None) -> np.ndarray:
    """``embed(X)`` computed on ``batch_size`` rows at a time (``X`` may be memory-mapped and normalised on read)."""
    batch_size = batch_size or EMBED_BATCH
    parts = [embed(np.asarray(X[start:start + batch_size])) for start in range(0, len(X), batch_size)]
    return np.concatenate(parts) if parts else embed(np.asarray(X[:0]))


def evaluate(model, evaluations: Sequence[str] | None = None, baselines: Sequence[str] = BASELINES,
             seed: int = 0) -> Generator[EvaluationProgress, None, Evaluation]:
    """Run ``evaluations`` (default: every registered one) on ``model`` (a :class:`core.ModelOnData`) and on
    ``baselines``. They run in the registry's order, whatever order they are given in."""
    evaluations = evaluation_names() if evaluations is None else tuple(evaluations)
    unknown = [e for e in evaluations if e not in EVALUATIONS]
    if unknown:
        raise ConfigError("evaluations", f"unknown evaluation(s) {', '.join(unknown)}",
                          allowed=", ".join(evaluation_names()))
    evaluations = tuple(e for e in evaluation_names() if e in evaluations)
    methods = {name: EVALUATIONS.get(name) for name in evaluations}
    started = time.perf_counter()
    data = model.data
    ds = data.dataset
    splits = data.splits
    test = splits.held_out()
    yield EvaluationProgress(0.0, "embedding the data")

    def flat(X: np.ndarray) -> np.ndarray:
        return X.reshape(len(X), -1).astype(np.float32)

    embedders = {"learned": model.embed_inputs}
    width = int(np.prod(data.X.shape[1:]))
    raw_bytes = ds.n * width * 4
    from core.data.files.common import available_memory, human

    free = available_memory()
    # the raw features, the standardised columns and PCA's fitting copies each take about the features' size
    too_big = free is not None and WIDE_COPIES * raw_bytes > free
    notes = {}
    if free is not None and too_big and ({"raw", "pca", "handcrafted"} & set(baselines)):
        # a representation as wide as the inputs is the inputs: it cannot be held; the learned one streams
        why = f"the {width} input features of {ds.n} samples ({human(raw_bytes)}) do not fit in the free memory " \
              f"({human(free)})"
        if "raw" in baselines:
            NOTES.info("the raw-feature baseline was left out: %s", why)
            notes["raw"] = f"left out: {why}"
        if "handcrafted" in baselines and ds.kind in ("tabular", "embeddings"):  # these are the raw columns
            from core.evaluation.handcrafted import NAMES

            notes[NAMES[ds.kind]] = f"left out: its standardised columns are as wide as the inputs, and {why}"
            baselines = tuple(b for b in baselines if b != "handcrafted")
        baselines = tuple(b for b in baselines if b != "raw")
    if "raw" in baselines:
        embedders["raw"] = flat
    learned_dim = model.embed(np.arange(min(2, ds.n))).shape[1]
    if "raw" in baselines:
        notes["raw"] = f"the {width} input features as the model sees them (normalised)"
    if "pca" in baselines and ds.kind not in ("graph", "tokens"):  # ids are not features to rotate
        from sklearn.decomposition import PCA

        k = min(learned_dim, width, len(splits.train))
        fit_rows, sampled = splits.train, ""
        if too_big:  # fitted on a uniform sample of the training rows that fits in PCA_SAMPLE_BYTES
            cap = max(k, min(len(splits.train), PCA_SAMPLE_BYTES // (width * 4)))
            fit_rows = np.sort(np.random.default_rng(seed).choice(splits.train, cap, replace=False))
            sampled = (f" — on a uniform random sample of {len(fit_rows):,} of the {len(splits.train):,} training "
                       f"samples, as the features ({human(raw_bytes)}) do not fit in the free memory; applied to every "
                       "sample a batch at a time")
        pca = PCA(n_components=k, random_state=seed).fit(flat(data.X[fit_rows]))
        embedders["pca"] = lambda X: pca.transform(flat(X)).astype(np.float32)
        notes["pca"] = (f"PCA-{k} of the input features (fitted on the training split{sampled})"
                        + (": all input dimensions kept, so it is the raw features rotated" if k == width
                           else f", k = the representation's {learned_dim} dimensions" if k == learned_dim
                           else f", k capped by the {len(splits.train)} training samples"))
    elif "pca" in baselines:
        notes["pca"] = f"not computed: {ds.kind} inputs are ids, not features to rotate"
    if "random_init" in baselines:
        notes["random_init"] = "the same encoder at its random initialisation (same seed), untrained"
        from core.training.inference import initialised

        embedders["random_init"] = initialised(model.experiment, device=str(model.device)).embed_inputs
    if "handcrafted" in baselines:
        from core.evaluation.handcrafted import handcrafted_baseline, sample_rate_of

        # a graph's held-out edges stay hidden from the hand-designed features too
        edges = getattr(model.model.data, "edges", None)
        hand = handcrafted_baseline(ds.kind, data.X, rows=splits.train, n_nodes=ds.n,
                                    edges=ds.edges if edges is None else edges, sample_rate=sample_rate_of(ds))
        embedders[hand.name] = hand.transform  # the name says which features they are
        notes[hand.name] = (f"{hand.name[len('hand-designed ('):-1]} computed from the inputs, standardised on the "
                            "training split (core.evaluation.handcrafted)")
    # every representation is computed a batch of inputs at a time: memory-mapped inputs are never loaded whole
    reps = {name: embed_in_batches(embed, data.X) for name, embed in embedders.items()}
    results: dict[str, RepresentationResult] = {}
    steps = len(reps) * len(evaluations)
    done = 0
    per_point = None
    for name, Z in reps.items():
        ctx = EvaluationContext(model=model, name=name, Z=Z, embed=embedders[name], result=RepresentationResult(name, Z.shape[1]),
                      evaluations=evaluations, seed=seed)
        results[name] = ctx.result
        for ev, entry in methods.items():
            yield EvaluationProgress(done / steps, f"{ev.replace('_', ' ')} on the {name.replace('_', ' ')} representation")
            done += 1
            if (ds.y is None and entry.info.get("needs_labels")) or (name != "learned" and entry.info.get("learned_only")):
                continue
            entry.cls().run(ctx)
        if name == "learned":
            per_point = ctx.per_point_faithfulness
    yield EvaluationProgress(1.0, "done")
    return Evaluation(model.experiment.name, ds.name, len(splits.train), len(test), ds.label_names, results,
                      time.perf_counter() - started, evaluations, per_point, split=splits.record(),
                      baseline_notes=notes)
