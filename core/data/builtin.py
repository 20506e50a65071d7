"""Built-in datasets that work offline (they come with scikit-learn)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.params import BaseParams, Params, param


@DATASETS.register("digits", kind="image")
class Digits(DatasetSource):
    """Handwritten digits: 1,797 grey 8×8 images of the digits 0-9 (scikit-learn's copy of the UCI set).

    Pixel values are scaled to [0, 1]. Small enough to train on in seconds, rich enough that a good
    representation separates the ten classes.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        n_classes: int = param(10, label="Classes", min=2, max=10, help="Keep the digits 0..n_classes-1.")

    def load(self) -> Dataset:
        from sklearn.datasets import load_digits

        bunch = load_digits(n_class=self.params.n_classes)
        X = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
        return Dataset(
            name="digits", kind="image", X=X, y=bunch.target.astype(np.int64),
            label_names=tuple(str(i) for i in range(self.params.n_classes)),
            value_range=(0.0, 1.0), recommended_normalization="none",
            description=(self.__doc__ or "").split("\n")[0], source="built-in (scikit-learn)",
        )


def _tabular(loader_name: str, name: str, doc: str):
    """Register a scikit-learn tabular toy dataset (features standardised on the training split)."""

    class Tabular(DatasetSource):
        __doc__ = doc

        @dataclass(frozen=True, kw_only=True)
        class Params(BaseParams):
            pass

        def load(self) -> Dataset:
            import sklearn.datasets

            bunch = getattr(sklearn.datasets, loader_name)()
            names = tuple(str(n) for n in bunch.target_names)
            return Dataset(
                name=name, kind="tabular", X=bunch.data.astype(np.float32), y=bunch.target.astype(np.int64),
                label_names=names, recommended_normalization="standardize", description=doc.split("\n")[0],
                feature_names=tuple(str(f) for f in bunch.feature_names), source="built-in (scikit-learn)",
            )

    Tabular.__name__ = Tabular.__qualname__ = name.title().replace("_", "")
    return DATASETS.register(name, kind="tabular")(Tabular)


_tabular("load_iris", "iris", "Iris flowers: 150 samples, 4 measurements, 3 species (Fisher, 1936).")
_tabular("load_wine", "wine", "Wine: 178 samples, 13 chemical measurements, 3 cultivars.")
_tabular("load_breast_cancer", "breast_cancer",
         "Breast cancer (Wisconsin diagnostic): 569 samples, 30 features, malignant vs benign.")


# ---- manifolds with a continuous colour ------------------------------------------------------------------


def _manifold(name: str, doc: str, make, *, labelled: bool, noise: bool = True, extra_fields: dict | None = None):
    """Register a scikit-learn point-cloud generator; ``make(params)`` returns (X, y, label names, metadata)."""

    fields: dict[str, tuple[type, Any]] = {"samples": (int, param(1500, label="Points", min=10, max=1_000_000))}
    if noise:
        fields["noise"] = (float, param(0.05, label="Noise", min=0.0, max=10.0))
    fields["seed"] = (int, param(0, label="Generator seed", min=0))
    fields.update(extra_fields or {})
    ParamsCls: Any = dataclass(frozen=True, kw_only=True)(type("Params", (Params,), {
        "__annotations__": {k: t for k, (t, _) in fields.items()}, **{k: f for k, (_, f) in fields.items()},
        "__qualname__": f"{name}.Params"}))

    class Manifold(DatasetSource):
        __doc__ = doc
        Params = ParamsCls

        def load(self) -> Dataset:
            X, y, label_names, metadata = make(self.params)
            d = X.shape[1]
            return Dataset(name=name, kind="tabular", X=X.astype(np.float32), y=y, label_names=label_names,
                           metadata=metadata, feature_names=("x", "y", "z")[:d] if d <= 3 else (),
                           recommended_normalization="standardize", description=doc.split("\n")[0],
                           source="built-in (scikit-learn)")

    Manifold.__name__ = Manifold.__qualname__ = name.title().replace("_", "")
    return DATASETS.register(name, kind="tabular", labelled=labelled)(Manifold)


def _swiss_roll(p):
    from sklearn.datasets import make_swiss_roll

    X, t = make_swiss_roll(p.samples, noise=p.noise, random_state=p.seed)
    return X, None, (), {"t": t, "height": X[:, 1].copy()}


def _s_curve(p):
    from sklearn.datasets import make_s_curve

    X, t = make_s_curve(p.samples, noise=p.noise, random_state=p.seed)
    return X, None, (), {"t": t, "height": X[:, 1].copy()}


def _moons(p):
    from sklearn.datasets import make_moons

    X, y = make_moons(p.samples, noise=p.noise, random_state=p.seed)
    return X, y, ("upper moon", "lower moon"), {"angle": np.arctan2(X[:, 1], X[:, 0])}


def _circles(p):
    from sklearn.datasets import make_circles

    X, y = make_circles(p.samples, noise=p.noise, factor=p.factor, random_state=p.seed)
    return X, y, ("outer circle", "inner circle"), {"radius": np.hypot(X[:, 0], X[:, 1])}


def _blobs(p):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(p.samples, n_features=p.dimensions, centers=p.centers, cluster_std=p.spread,
                      random_state=p.seed)
    return X, y, tuple(f"blob {i}" for i in range(p.centers)), {}


_manifold("swiss_roll", "Swiss roll: a 2-D sheet rolled up in 3-D; the colour t runs along the roll. No labels.",
          _swiss_roll, labelled=False)
_manifold("s_curve", "S-curve: a 2-D sheet bent into an S in 3-D; the colour t runs along the curve. No labels.",
          _s_curve, labelled=False)
_manifold("moons", "Two interleaving half circles in the plane; the label is the moon.", _moons, labelled=True)
_manifold("circles", "A small circle inside a large one; the label is the circle.", _circles, labelled=True,
          extra_fields={"factor": (float, param(0.5, label="Inner / outer radius", min=0.0, max=1.0, min_exclusive=True,
                                                 max_exclusive=True))})
_manifold("blobs", "Isotropic Gaussian blobs; the label is the blob.", _blobs, labelled=True, noise=False,
          extra_fields={"centers": (int, param(4, label="Blobs", min=1, max=1000)),
                        "dimensions": (int, param(2, label="Dimensions", min=1, max=10_000)),
                        "spread": (float, param(1.0, label="Blob std", min=0.0, max=100.0, min_exclusive=True))})
