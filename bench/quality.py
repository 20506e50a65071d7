"""How good is each preset's representation? Linear-probe and kNN accuracy beside three baselines.

For every preset (or those named on the command line): train it, then evaluate it with the same code as
``replearn evaluate`` — the one linear-probe protocol (logistic regression on standardised features, fitted on
the training split, C chosen on the validation split from {0.01, 0.1, 1, 10, 100}) and the weighted kNN (cosine,
k = 20, T = 0.07), scored on the test split with Wilson 95% intervals. Baselines on the same splits: the raw
input features, PCA-k (k = min(representation dim, input dim); "= raw" when it keeps every input dimension) and
the same encoder at its random initialisation.

    python bench/quality.py [PRESET ...] [--epochs N] [--seeds N] [--views old|default]
    python bench/quality.py --signals [--views old] [--encoder old]  # SimCLR / VICReg / BYOL, generated signals
    python bench/quality.py --kind tabular|tokens [--seeds N]     # SimCLR / VICReg, default views

``--seeds N`` trains N seeds per preset and adds their spread (min–max of the test accuracy): the variation
between training runs, which the test-set intervals do not cover. ``--views old`` trains multi-view objectives
with the default views of before this round (``OLD_DEFAULT_VIEWS``), for the before / after comparison.

``--encoder old`` (with ``--signals``) uses the three-block 1-D CNN of before this round. The ``target`` column
says whether the learned probe and kNN accuracies both lie above the high end of the random-init encoder's
interval (a margin larger than the interval); ``clear``, stricter, whether the two intervals are disjoint.

Targets: digits supervised >= 0.97; every self-supervised preset's probe and kNN above its random-init encoder's
by more than the interval; on the generated signals the default contrastive run >= 0.10 above its random-init
encoder's probe, and its kNN above the raw features'.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time

import core

# the default views of each data kind before this round (the "before" of bench/README.md)
OLD_DEFAULT_VIEWS = {
    "image": (("random_resized_crop", {"scale_min": 0.5}), ("rotation", {"degrees": 15.0}),
              ("brightness_contrast", {}), ("gaussian_noise", {"sigma": 0.05})),
    "audio": (("time_shift", {}), ("amplitude_scale", {}), ("time_mask", {}), ("gaussian_noise", {"sigma": 0.05})),
    "sequence": (("time_shift", {}), ("amplitude_scale", {}), ("time_mask", {}), ("gaussian_noise", {"sigma": 0.05})),
    "tabular": (("feature_resample", {"p": 0.3}), ("gaussian_noise", {"sigma": 0.1})),
    "tokens": (("token_mask", {"p": 0.15}), ("token_dropout", {"p": 0.1})),
}
OLD_SIMCLR_TEMPERATURE = 0.5

# generated signals (made here, not a benchmark's data): five event shapes whose class is the shape over time —
# rising chirp, falling chirp, double pulse, damped ring, square burst — at a random onset and duration, with a
# random gain and base frequency, over background noise, a slow drift and an interfering tone of random pitch.
SIGNAL_CLASSES = ("rising chirp", "falling chirp", "double pulse", "damped ring", "square burst")
SIGNAL_CLIPS, SIGNAL_LENGTH, SIGNAL_EPOCHS = 2000, 256, 20


def make_signals(path: str, n: int = SIGNAL_CLIPS, length: int = SIGNAL_LENGTH, seed: int = 0) -> str:
    """Write the generated signal set as ``.npz`` (``X`` (n, length) float32, ``y``) and return its path."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(SIGNAL_CLASSES), n)
    t = np.arange(length)
    X = np.empty((n, length), dtype=np.float32)
    for i in range(n):
        dur = int(rng.uniform(0.3, 0.5) * length)  # nuisance: duration ...
        onset = rng.integers(0, length - dur)  # ... onset
        f0 = rng.uniform(0.04, 0.06)  # ... base frequency (cycles per sample)
        u = np.linspace(0, 1, dur)
        if y[i] == 0:
            phase = 2 * np.pi * np.cumsum(f0 * (0.5 + 1.5 * u))
            event = np.sin(phase)
        elif y[i] == 1:
            event = np.sin(2 * np.pi * np.cumsum(f0 * (2.0 - 1.5 * u)))
        elif y[i] == 2:
            event = np.sin(2 * np.pi * f0 * 1.5 * np.arange(dur)) * ((u < 0.3) | (u > 0.7))
        elif y[i] == 3:
            event = np.sin(2 * np.pi * f0 * 1.5 * np.arange(dur)) * np.exp(-5 * u)
        else:
            event = np.sign(np.sin(2 * np.pi * f0 * 0.5 * np.arange(dur))) * 0.7
        x = np.zeros(length)
        x[onset:onset + dur] = event * np.hanning(dur) ** 0.25 * rng.uniform(0.5, 1.5)  # ... gain
        x += 0.3 * rng.standard_normal(length)  # background noise
        x += rng.uniform(-0.5, 0.5) * np.sin(2 * np.pi * t / length * rng.uniform(0.5, 2) + rng.uniform(0, 6.3))  # drift
        x += rng.uniform(0, 0.6) * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 6.3))  # interferer
        X[i] = x
    np.savez(path, X=X, y=y)
    return path


def signal_experiments(root: str, old: bool = False) -> dict[str, core.Experiment]:
    """SimCLR / VICReg / BYOL with the 1-D CNN on the generated signals, with the default views (none named) and
    the ``cnn1d`` encoder's defaults; ``old``: the encoder of before this round (the tones preset's three
    blocks, 32-d)."""
    path = make_signals(f"{root}/signals.npz")
    base = core.load_preset("tones-vicreg-cnn1d")
    data = core.DataConfig(name="npy", params={"path": path, "labels_array": "y", "kind": "sequence"},
                           split=base.data.split)
    encoder = base.encoder if old else core.EncoderConfig(name="cnn1d")
    out = {}
    for objective in ("simclr", "vicreg", "byol"):
        obj = base.objective if objective == "vicreg" else core.ObjectiveConfig(name=objective)
        out[f"signals-{objective}"] = dataclasses.replace(
            base, name=f"signals-{objective}", data=data, encoder=encoder, objective=obj, views=()).with_training(
            epochs=SIGNAL_EPOCHS, diagnostics_every=SIGNAL_EPOCHS, probe_every=0)
    return out


# generated tabular data (scikit-learn's make_classification, made here): 3000 rows, 40 columns of which 8 are
# informative, 8 linear mixtures of them and 24 noise; two clusters per class, so no single line splits a class
TABULAR_ROWS, TABULAR_EPOCHS = 3000, 30
# the toy language (generated by core): 1500 sentences, the label is the animal class
TOKEN_SENTENCES, TOKEN_EPOCHS = 1500, 30


def make_tabular(path: str, n: int = TABULAR_ROWS, seed: int = 0) -> str:
    """Write the generated tabular set as ``.npz`` (``X`` (n, 40) float32, ``y`` of 4 classes)."""
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(n, n_features=40, n_informative=8, n_redundant=8, n_classes=4,
                               n_clusters_per_class=2, class_sep=1.5, random_state=seed)
    np.savez(path, X=X.astype(np.float32), y=y)
    return path


def kind_experiments(kind: str, root: str) -> dict[str, core.Experiment]:
    """SimCLR and VICReg with their default views (none named) and default heads on generated tabular data (the
    MLP encoder's defaults) or on the toy language (the transformer's defaults)."""
    split = core.load_preset("digits-simclr").data.split
    if kind == "tabular":
        data = core.DataConfig(name="npy", params={"path": make_tabular(f"{root}/tabular.npz"),
                                                   "labels_array": "y", "kind": "tabular"}, split=split)
        encoder, epochs = core.EncoderConfig(name="mlp"), TABULAR_EPOCHS
    else:
        data = core.DataConfig(name="toy_language", params={"sentences": TOKEN_SENTENCES}, split=split)
        encoder, epochs = core.EncoderConfig(name="transformer"), TOKEN_EPOCHS
    base = core.load_preset("digits-simclr")
    out = {}
    for objective in ("simclr", "vicreg"):
        out[f"{kind}-{objective}"] = dataclasses.replace(
            base, name=f"{kind}-{objective}", data=data, encoder=encoder, objective=core.ObjectiveConfig(name=objective),
            views=()).with_training(epochs=epochs, warmup_epochs=0.0, diagnostics_every=epochs, probe_every=0)
    return out


def with_old_views(exp: core.Experiment) -> core.Experiment:
    """The experiment with the pre-round default views (when it names none) and SimCLR temperature."""
    entry = core.OBJECTIVES.get(exp.objective.name)
    if not entry.cls.uses_views:
        return exp
    kind = getattr(exp.data.params, "kind", "auto")  # a file reader's kind, when it names one
    if kind == "auto":
        kind = core.DATASETS.get(exp.data.name).info.get("kind")
    if not exp.views and kind in OLD_DEFAULT_VIEWS:
        exp = dataclasses.replace(exp, views=tuple(core.AugmentationConfig(name=n, params=p) for n, p in OLD_DEFAULT_VIEWS[kind]))
    if exp.objective.name == "simclr":
        params = dataclasses.replace(exp.objective.params, temperature=OLD_SIMCLR_TEMPERATURE)
        exp = dataclasses.replace(exp, objective=dataclasses.replace(exp.objective, params=params))
    return exp


def evaluate(exp: core.Experiment, epochs: int | None, root: str, seed: int = 0) -> dict:
    from core.evaluation.suite import evaluate as suite

    exp = exp.with_training(device="cpu", checkpoint_every=0, snapshot_every=0, seed=seed)
    if epochs:
        exp = exp.with_training(epochs=epochs, warmup_epochs=min(exp.training.warmup_epochs, epochs - 1))
    start = time.perf_counter()
    result = core.run_to_end(core.train(exp, out=root))
    seconds = time.perf_counter() - start
    model = core.load_trained(result.run_dir)
    row = {"preset": exp.name, "seconds": seconds, "own": result.test.get("test_accuracy")}
    d = result.final_epoch.diagnostics if result.final_epoch is not None else None
    row["views"] = d.view_accuracy if d is not None else None
    if model.data.dataset.y is None:
        return row
    ev = core.run_to_end(suite(model, ("linear_probe", "knn")))
    row["notes"] = ev.notes()
    for rep, prefix in (("learned", ""), ("raw", "raw_"), ("pca", "pca_"), ("random_init", "random_")):
        r = ev.results.get(rep)
        if r is None:
            continue
        row[prefix + "dim"] = r.dim
        for metric, col in (("probe_accuracy", "probe"), ("knn_accuracy", "knn")):
            m = r.metrics.get(metric)
            if m is not None:
                row[prefix + col] = m.value
                row[prefix + col + "_ci"] = (m.low, m.high)
    if "pca_dim" in row:
        row["pca"] = f"{row['pca_dim']}" + ("=raw" if row["pca_dim"] == row.get("raw_dim") else "")
    if "random_probe" in row:
        row["margin"] = row["probe"] - row["random_probe"]  # what training added to the linear probe
        row["knn_margin"] = row["knn"] - row["random_knn"]
        # the target, "a margin larger than the interval": the learned accuracy above the random-init interval's
        # high end, on both probe and kNN; "clear", stricter: the two intervals do not overlap
        row["target"] = ("met" if row["probe"] > row["random_probe_ci"][1] and
                         row["knn"] > row["random_knn_ci"][1] else "missed")
        row["clear"] = ("yes" if row["probe_ci"][0] > row["random_probe_ci"][1] and
                        row["knn_ci"][0] > row["random_knn_ci"][1] else "no")
    return row


COLS = ["preset", "dim", "own", "probe", "knn", "raw_probe", "raw_knn", "pca", "pca_probe", "pca_knn",
        "random_probe", "random_knn", "margin", "knn_margin", "target", "clear", "views", "seconds"]


def fmt(c: str, v) -> str:
    if c == "preset":
        return str(v).ljust(34)
    if v is None:
        return "-".rjust(8)
    if c == "seconds":
        return f"{v:.1f}".rjust(8)
    if isinstance(v, float):
        return f"{v:+.3f}".rjust(8) if "margin" in c else f"{v:.3f}".rjust(8)
    if isinstance(v, tuple):  # (mean, low, high) over seeds
        return f"{v[0]:.3f}±{(v[2] - v[1]) / 2:.3f}".rjust(12)
    return str(v).rjust(8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="*", help="default: every preset")
    parser.add_argument("--epochs", type=int, help="override every preset's epochs (quick runs)")
    parser.add_argument("--seeds", type=int, default=1, help="train this many seeds per preset (their spread)")
    parser.add_argument("--views", choices=("default", "old"), default="default",
                        help="old: the default views (and SimCLR temperature) of before this round")
    parser.add_argument("--signals", action="store_true", help="SimCLR / VICReg / BYOL on the generated signals")
    parser.add_argument("--encoder", choices=("default", "old"), default="default",
                        help="--signals: old = the three-block 1-D CNN of tones-vicreg-cnn1d (32-d) used before")
    parser.add_argument("--kind", choices=("tabular", "tokens"),
                        help="SimCLR / VICReg with the default views on generated tabular data or the toy language")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        if args.signals:
            experiments = signal_experiments(root, old=args.encoder == "old")
            experiments = {k: v for k, v in experiments.items() if not args.presets or k in args.presets}
        elif args.kind:
            experiments = kind_experiments(args.kind, root)
            experiments = {k: v for k, v in experiments.items() if not args.presets or k in args.presets}
        else:
            experiments = {name: core.load_preset(name) for name in (args.presets or core.preset_names())}
        if args.views == "old":
            experiments = {k: with_old_views(v) for k, v in experiments.items()}
        print(f"test-split accuracy ({args.views} views); own = the objective's classifier; margin = probe − "
              "random-init probe; target = probe and kNN above the high end of random-init's interval; clear = both "
              "learned intervals above random-init's; views = contrastive accuracy "
              "of two views at the end")
        print(" | ".join(c.ljust(34) if c == "preset" else c.rjust(8) for c in COLS))
        notes = None
        for exp in experiments.values():
            rows = [evaluate(exp, args.epochs, root, seed) for seed in range(args.seeds)]
            row = dict(rows[0])
            if args.seeds > 1:  # mean and the seeds' range (min, max) of each accuracy
                for c in ("own", "probe", "knn", "random_probe", "random_knn", "margin", "knn_margin"):
                    vals = [r[c] for r in rows if r.get(c) is not None]
                    if vals:
                        row[c] = (statistics.mean(vals), min(vals), max(vals))
                row["seconds"] = sum(r["seconds"] for r in rows)
            notes = notes or row.get("notes")
            print(" | ".join(fmt(c, row.get(c)) for c in COLS), flush=True)
    for note in notes or []:
        print("  " + note)
    if args.seeds > 1:
        print(f"  ± = half the range over {args.seeds} training seeds (each seed's own test interval is not shown)")


if __name__ == "__main__":
    main()
