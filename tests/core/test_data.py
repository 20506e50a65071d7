"""Built-in data, splits and normalisation."""
import numpy as np
import pytest

import core
from core.data.splits import Normalizer, make_splits


def test_digits_dataset():
    ds = core.DATASETS.get("digits").cls(core.DATASETS.get("digits").make_params()).load()
    assert ds.kind == "image" and ds.X.shape == (1797, 1, 8, 8) and ds.X.dtype == np.float32
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0 and ds.value_range == (0.0, 1.0)
    assert ds.n_classes == 10 and ds.label_names[3] == "3"


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_tabular_datasets(name):
    entry = core.DATASETS.get(name)
    ds = entry.cls(entry.make_params()).load()
    assert ds.kind == "tabular" and ds.X.ndim == 2 and ds.has_labels and ds.n_classes >= 2


def test_splits_are_disjoint_seeded_and_stratified():
    y = np.repeat(np.arange(5), [100, 50, 30, 10, 10])
    a = make_splits(len(y), y, val_fraction=0.1, test_fraction=0.2, seed=3)
    b = make_splits(len(y), y, val_fraction=0.1, test_fraction=0.2, seed=3)
    c = make_splits(len(y), y, val_fraction=0.1, test_fraction=0.2, seed=4)
    assert a.stratified
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)
    everything = np.concatenate([a.train, a.val, a.test])
    assert sorted(everything) == list(range(len(y)))
    assert len(a.test) == 40 and len(a.val) == 20
    # class proportions preserved within one sample
    np.testing.assert_allclose(np.bincount(y[a.test], minlength=5) / 40, np.bincount(y) / len(y), atol=0.03)


def test_split_falls_back_when_a_class_is_too_small():
    y = np.array([0] * 20 + [1])
    s = make_splits(len(y), y, val_fraction=0.2, test_fraction=0.2, seed=0)
    assert not s.stratified and len(s.train) + len(s.val) + len(s.test) == 21


def test_split_refuses_to_leave_no_training_data():
    with pytest.raises(core.DataError, match="training sample"):
        make_splits(3, None, val_fraction=0.4, test_fraction=0.4, seed=0)


def test_normalizer_uses_training_statistics_only():
    train = np.array([[0.0, 5.0], [2.0, 5.0]], dtype=np.float32)
    other = np.array([[100.0, 7.0]], dtype=np.float32)
    norm = Normalizer.fit("standardize", train)
    np.testing.assert_allclose(norm.apply(train), [[-1, 0], [1, 0]])
    np.testing.assert_allclose(norm.apply(other), [[99, 2]])  # constant feature: shift only
    mm = Normalizer.fit("minmax", train)
    np.testing.assert_allclose(mm.apply(train)[:, 0], [0, 1])


def test_dataset_rejects_bad_arrays():
    with pytest.raises(core.DataError, match="NaN"):
        core.Dataset(name="x", kind="tabular", X=np.array([[1.0, np.nan]]))
    with pytest.raises(core.DataError, match="labels of shape"):
        core.Dataset(name="x", kind="tabular", X=np.zeros((3, 2)), y=np.zeros(2, dtype=int))
    with pytest.raises(core.DataError, match="unknown kind"):
        core.Dataset(name="x", kind="video", X=np.zeros((3, 2)))
