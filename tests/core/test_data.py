"""Built-in data, splits and normalisation."""
import numpy as np
import pytest

import core
from core.data.splits import Normalizer, make_splits


def test_digits_dataset():
    ds = core.DATASETS.get("digits").cls(core.DATASETS.get("digits").make_params()).load()
    assert ds.kind == "image" and ds.X.shape == (1797, 1, 8, 8) and ds.X.dtype == np.float32
    assert ds.X.min() >= 0.0 and ds.X.max() <= 1.0 and ds.value_range == (0.0, 1.0)
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


@pytest.mark.parametrize("name", ["swiss_roll", "s_curve", "moons", "circles", "blobs"])
def test_manifolds_have_a_continuous_colour_or_labels(name):
    entry = core.DATASETS.get(name)
    ds = entry.cls(entry.make_params({"samples": 300})).load()
    assert ds.kind == "tabular" and len(ds.X) == 300
    if entry.info["labelled"]:
        assert ds.n_classes >= 2
    else:
        assert ds.y is None and np.ptp(ds.metadata["t"]) > 1
    again = entry.cls(entry.make_params({"samples": 300})).load()
    np.testing.assert_array_equal(ds.X, again.X)  # deterministic


def test_factors_record_their_generative_factors():
    from core.data.synthetic import draw_shapes

    entry = core.DATASETS.get("factors")
    ds = entry.cls(entry.make_params({"images": 200})).load()
    assert ds.X.shape == (200, 1, 32, 32) and set(ds.metadata) >= {"shape", "scale", "rotation_degrees", "x", "y", "brightness"}
    img = ds.X[:, 0]
    # the brightest pixel is the shape's brightness (the inside is flat), and its centre of mass is its position
    np.testing.assert_allclose(img.reshape(200, -1).max(axis=1), ds.metadata["brightness"], rtol=1e-5)
    circles = np.flatnonzero(ds.metadata["shape"] == "circle")
    coords = (np.arange(32) + 0.5) / 32
    mass = img[circles].sum(axis=(1, 2))
    cx = (img[circles] * coords[None, None, :]).sum(axis=(1, 2)) / mass
    cy = (img[circles] * coords[None, :, None]).sum(axis=(1, 2)) / mass
    np.testing.assert_allclose(cx, ds.metadata["x"][circles], atol=0.02)
    np.testing.assert_allclose(cy, ds.metadata["y"][circles], atol=0.02)
    # a bigger scale draws a bigger shape
    def one(scale):
        return draw_shapes(np.array([0]), np.array([scale]), np.zeros(1), np.full(1, .5), np.full(1, .5), np.ones(1), 32)

    assert one(1.0).sum() > 3 * one(0.5).sum()


def test_toy_language_words_have_categories():
    entry = core.DATASETS.get("toy_language")
    ds = entry.cls(entry.make_params({"sentences": 50})).load()
    cats = dict(zip(ds.vocab, ds.vocab_metadata["category"], strict=True))
    assert cats["owl"] == "animal:bird" and cats["swims"] == "verb:fish" and cats["red"] == "colour"
    # the label is the animal's class
    for i in range(50):
        assert ds.label_names[ds.y[i]] == cats[ds.metadata["animal"][i]].split(":")[1]


def test_previews_for_every_kind():
    from core.data.preview import preview, spectrogram

    def ds(name, **p):
        e = core.DATASETS.get(name)
        return e.cls(e.make_params(p)).load()

    img = preview(ds("digits"), 5)
    assert img.kind == "image" and img.image.dtype == np.uint8 and img.image.shape == (8, 8)
    assert img.title.startswith("#5 · ")
    tone = preview(ds("tones", clips=20), 0)
    assert tone.kind == "sparkline" and tone.values.shape == (512,) and tone.spectrogram.dtype == np.uint8
    text = preview(ds("toy_language", sentences=20), 0)
    assert text.kind == "text" and text.text.startswith(("the ", "a "))
    bars = preview(ds("wine"), 3)
    assert bars.kind == "bars" and bars.names[0] == "alcohol" and len(bars.values) == 13
    node = preview(ds("karate"), 0)
    assert node.text.startswith("node 0 · degree ")
    # a pure tone's spectrogram peaks at its frequency bin
    t = np.arange(512)
    spec = spectrogram(np.sin(2 * np.pi * 8 / 64 * t), n_fft=64, hop=16)
    assert np.argmax(spec.mean(axis=1)) == 8
