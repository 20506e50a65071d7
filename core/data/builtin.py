"""Built-in datasets that work offline (they come with scikit-learn)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config.params import Params, param
from core.data.base import DATASETS, Dataset, DatasetSource


@DATASETS.register("digits", kind="image")
class Digits(DatasetSource):
    """Handwritten digits: 1,797 grey 8×8 images of the digits 0-9 (scikit-learn's copy of the UCI set).

    Pixel values are scaled to [0, 1]. Small enough to train on in seconds, rich enough that a good
    representation separates the ten classes.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        n_classes: int = param(10, label="Classes", min=2, max=10, help="Keep the digits 0..n_classes-1.")

    def load(self) -> Dataset:
        from sklearn.datasets import load_digits

        bunch = load_digits(n_class=self.params.n_classes)
        X = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
        return Dataset(
            name="digits", kind="image", X=X, y=bunch.target.astype(np.int64),
            label_names=tuple(str(i) for i in range(self.params.n_classes)),
            value_range=(0.0, 1.0), recommended_normalization="none",
            description=self.__doc__.split("\n")[0],
        )


def _tabular(loader_name: str, name: str, doc: str):
    """Register a scikit-learn tabular toy dataset (features standardised on the training split)."""

    class Tabular(DatasetSource):
        __doc__ = doc

        @dataclass(frozen=True, kw_only=True)
        class Params(Params):
            pass

        def load(self) -> Dataset:
            import sklearn.datasets

            bunch = getattr(sklearn.datasets, loader_name)()
            names = tuple(str(n) for n in bunch.target_names)
            return Dataset(
                name=name, kind="tabular", X=bunch.data.astype(np.float32), y=bunch.target.astype(np.int64),
                label_names=names, recommended_normalization="standardize", description=doc.split("\n")[0],
                metadata={},
            )

    Tabular.__name__ = Tabular.__qualname__ = name.title().replace("_", "")
    return DATASETS.register(name, kind="tabular")(Tabular)


_tabular("load_iris", "iris", "Iris flowers: 150 samples, 4 measurements, 3 species (Fisher, 1936).")
_tabular("load_wine", "wine", "Wine: 178 samples, 13 chemical measurements, 3 cultivars.")
_tabular("load_breast_cancer", "breast_cancer",
         "Breast cancer (Wisconsin diagnostic): 569 samples, 30 features, malignant vs benign.")
