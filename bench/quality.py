"""How good is each preset's representation? Linear-probe and kNN accuracy beside three baselines.

For every preset (or those named on the command line): train it, then fit a linear probe (logistic regression
on standardised features) and a weighted kNN (cosine, k = 20, T = 0.07) on the training split's embeddings and
score them on the held-out test split. Baselines on the same splits: the raw input features, PCA of the raw
features to the representation's dimension, and the same encoder at its random initialisation.

    python bench/quality.py [PRESET ...] [--epochs N]

Targets on digits: supervised >= 0.97; every self-supervised objective's linear probe above its random-init
encoder's and within 0.05 of the raw-pixel baseline, or better.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import core


def scores(train_z, y_train, test_z, y_test, seed=0) -> tuple[float, float]:
    lin = core.LinearProbe(random_state=seed).fit(train_z, y_train).score(test_z, y_test)
    knn = core.KNNProbe().fit(train_z, y_train).score(test_z, y_test)
    return lin, knn


def evaluate(preset: str, epochs: int | None, root: str) -> dict:
    exp = core.load_preset(preset).with_training(device="cpu", checkpoint_every=0, snapshot_every=0)
    if epochs:
        exp = exp.with_training(epochs=epochs, warmup_epochs=min(exp.training.warmup_epochs, epochs - 1))
    start = time.perf_counter()
    result = core.run_to_end(core.train(exp, out=root))
    seconds = time.perf_counter() - start
    trained = core.load_trained(result.run_dir)
    data = trained.data
    y = data.dataset.y
    if y is None:
        return {"preset": preset, "seconds": seconds}
    tr, te = data.splits.train, data.splits.test if len(data.splits.test) else data.splits.val
    z = trained.embed()
    row = {"preset": preset, "objective": exp.objective.name, "dataset": exp.data.name, "dim": z.shape[1],
           "seconds": seconds}
    row["own"] = result.test.get("test_accuracy")  # the objective's own classifier, when it has one
    row["probe"], row["knn"] = scores(z[tr], y[tr], z[te], y[te])
    raw = data.X.reshape(len(data.X), -1)
    row["raw_probe"], row["raw_knn"] = scores(raw[tr], y[tr], raw[te], y[te])
    if data.dataset.kind not in ("graph", "tokens") and z.shape[1] < raw.shape[1]:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=z.shape[1], random_state=0).fit(raw[tr])
        row["pca_probe"], row["pca_knn"] = scores(pca.transform(raw[tr]), y[tr], pca.transform(raw[te]), y[te])
    rand = core.initialised(exp, device="cpu").embed()
    row["random_probe"], row["random_knn"] = scores(rand[tr], y[tr], rand[te], y[te])
    return row


def fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("  -  " if v is None else str(v))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="*", help="default: every preset")
    parser.add_argument("--epochs", type=int, help="override every preset's epochs (quick runs)")
    args = parser.parse_args()
    names = args.presets or core.preset_names()
    cols = ["preset", "dim", "own", "probe", "knn", "raw_probe", "raw_knn", "pca_probe", "pca_knn", "random_probe",
            "random_knn", "seconds"]
    print("test-split accuracy; own = the objective's classifier, probe = linear probe, knn = weighted kNN (k=20, T=0.07)")
    print(" | ".join(c.rjust(8) if c != "preset" else c.ljust(34) for c in cols))
    with tempfile.TemporaryDirectory() as root:
        for name in names:
            row = evaluate(name, args.epochs, root)
            cells = []
            for c in cols:
                v = row.get(c)
                cells.append(str(v).ljust(34) if c == "preset" else (f"{v:.1f}" if c == "seconds" else fmt(v)).rjust(8))
            print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
