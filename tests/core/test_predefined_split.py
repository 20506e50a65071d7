"""A data set's own split: files laid out as public benchmarks ship them keep their official test set."""
import gzip
import io
import json

import numpy as np
import pytest

import core
from core.cli import main
from core.data.base import DATASETS
from core.data.splits import choose_splits, prepare_from_config
from core.errors import ConfigError, DataError


def load(name, **params):
    entry = DATASETS.get(name)
    return entry.cls(entry.make_params(params)).load()


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def keras_npz(path, n_train=60, n_test=20, side=6, seed=0):
    """Like keras' mnist.npz: x_train (n, H, W) uint8, y_train, x_test, y_test."""
    rng = np.random.default_rng(seed)
    y_train, y_test = np.arange(n_train) % 3, np.arange(n_test) % 3
    x_train = (rng.random((n_train, side, side)) * 80 + y_train[:, None, None] * 60).astype(np.uint8)
    x_test = (rng.random((n_test, side, side)) * 80 + y_test[:, None, None] * 60).astype(np.uint8)
    np.savez(path, x_train=x_train, y_train=y_train.astype(np.uint8), x_test=x_test, y_test=y_test.astype(np.uint8))
    return x_train, y_train, x_test, y_test


def test_a_keras_style_npz_keeps_its_official_test_split(tmp_path):
    _x_train, y_train, x_test, y_test = keras_npz(tmp_path / "mnist.npz")
    ds = load("npy", path=str(tmp_path / "mnist.npz"))
    assert ds.n == 80 and ds.kind == "image" and ds.sample_shape == (1, 6, 6)
    assert ds.has_split and (ds.split[:60] == 0).all() and (ds.split[60:] == 2).all()
    np.testing.assert_array_equal(ds.X[60:, 0], x_test.astype(np.float32))
    np.testing.assert_array_equal(ds.y, np.concatenate([y_train, y_test]))
    split = core.DataConfig(name="npy", params={"path": str(tmp_path / "mnist.npz")}).split
    assert split.mode == "auto"
    data = prepare_from_config(ds, split, seed=0)
    s = data.splits
    np.testing.assert_array_equal(s.test, np.arange(60, 80))  # exactly the official test samples
    assert s.origin == "predefined" and s.val_origin == "carved"
    assert len(s.val) == 6 and set(s.train) | set(s.val) == set(range(60)) and not set(s.train) & set(s.val)
    assert sorted(np.bincount(ds.y[s.val])) == [2, 2, 2]  # carved stratified
    assert s.record()["description"] == "official test split (20 samples)"
    # the normaliser is fitted on the (remaining) training split only
    random = choose_splits(ds, mode="random", val_fraction=0.1, test_fraction=0.2, seed=0)
    assert random.origin == "random" and not np.array_equal(random.test, np.arange(60, 80))


def test_members_named_in_the_config_and_a_validation_member(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", feats_a=rng.normal(size=(30, 4)), lab_a=np.arange(30) % 2,
             feats_b=rng.normal(size=(10, 4)), lab_b=np.arange(10) % 2, feats_c=rng.normal(size=(8, 4)),
             lab_c=np.arange(8) % 2)
    ds = load("npy", path=str(tmp_path / "d.npz"), array="feats_a", labels_array="lab_a", test_array="feats_b",
              test_labels_array="lab_b", val_array="feats_c", val_labels_array="lab_c")
    assert ds.n == 48 and list(np.bincount(ds.split)) == [30, 8, 10]
    s = choose_splits(ds, mode="predefined", val_fraction=0.1, test_fraction=0.2, seed=0)
    assert s.val_origin == "predefined" and list(s.val) == list(range(30, 38)) and list(s.test) == list(range(38, 48))


def test_split_looking_members_without_names_get_a_message_listing_them(tmp_path):
    np.savez(tmp_path / "odd.npz", features_train_v2=np.zeros((5, 3)), features_test_v2=np.zeros((2, 3)),
             classes_train_v2=np.arange(5))
    with pytest.raises(DataError) as err:
        load("npy", path=str(tmp_path / "odd.npz"))
    text = str(err.value)
    assert "odd.npz" in text and "look like a train / test split" in text
    assert "features_train_v2, features_test_v2, classes_train_v2" in text and "test_array" in text


def test_labels_array_is_suggested_when_labels_are_needed(tmp_path):
    np.savez(tmp_path / "xy.npz", X=np.random.default_rng(0).normal(size=(40, 5)), y=np.arange(40) % 2)
    exp = core.Experiment(name="needs-labels", data=core.DataConfig(name="npy", params={"path": str(tmp_path / "xy.npz")}),
                          objective=core.ObjectiveConfig(name="supervised"),
                          training=core.TrainingConfig(epochs=1, batch_size=8, device="cpu"),
                          output=core.OutputConfig(root=str(tmp_path / "runs")))
    core.save_experiment(exp, tmp_path / "exp.toml")
    code, _, err = run_cli("train", str(tmp_path / "exp.toml"))
    assert code == 2
    assert "needs labels" in err and 'labels_array = "y"' in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # no run directory left


def test_bad_split_members(tmp_path):
    np.savez(tmp_path / "a.npz", x_train=np.zeros((5, 3)), x_test=np.zeros((2, 4)))
    with pytest.raises(DataError, match=r"a\.npz: its splits hold samples of different shapes \(x_train \(3,\), x_test \(4,\)\)"):
        load("npy", path=str(tmp_path / "a.npz"))
    np.savez(tmp_path / "b.npz", x_train=np.zeros((5, 3)), y_train=np.arange(4), x_test=np.zeros((2, 3)),
             y_test=np.arange(2))
    with pytest.raises(DataError, match=r"b\.npz: member 'y_train' holds labels of shape \(4,\) for the 5 samples"):
        load("npy", path=str(tmp_path / "b.npz"))
    with pytest.raises(DataError, match="has no array 'x_tst'"):
        load("npy", path=str(tmp_path / "b.npz"), array="x_train", test_array="x_tst")


def test_a_class_missing_from_the_training_split_is_refused(tmp_path):
    np.savez(tmp_path / "c.npz", x_train=np.random.default_rng(0).normal(size=(10, 3)), y_train=np.arange(10) % 2,
             x_test=np.zeros((3, 3)), y_test=np.array([0, 1, 2]))
    ds = load("npy", path=str(tmp_path / "c.npz"))
    with pytest.raises(DataError, match="the test split has samples of class '2' but the training split has none"):
        choose_splits(ds, mode="auto", val_fraction=0.1, test_fraction=0.2, seed=0)


def test_predefined_mode_on_data_without_a_split_names_the_setting():
    ds = load("digits")
    with pytest.raises(ConfigError, match=r"data\.split\.mode: 'predefined', but .* ships no split"):
        choose_splits(ds, mode="predefined", val_fraction=0.1, test_fraction=0.2, seed=0)


def test_csv_split_column(tmp_path):
    rows = ["a,b,label,fold"] + [f"{i},{i % 3},{i % 2},{'test' if i >= 16 else ('validation' if i >= 13 else 'train')}"
                                 for i in range(20)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    ds = load("csv", path=str(tmp_path / "t.csv"), label_column="label", split_column="fold")
    assert ds.feature_names == ("a", "b") and list(np.bincount(ds.split)) == [13, 3, 4]
    s = choose_splits(ds, mode="auto", val_fraction=0.1, test_fraction=0.2, seed=0)
    assert list(s.test) == [16, 17, 18, 19] and s.val_origin == "predefined"
    (tmp_path / "u.csv").write_text("a,fold\n1,train\n2,holdout\n")
    with pytest.raises(DataError, match=r"u\.csv, column 'fold': row 2 has split 'holdout'"):
        load("csv", path=str(tmp_path / "u.csv"), split_column="fold")
    with pytest.raises(DataError, match="has no split column 'split'"):
        load("csv", path=str(tmp_path / "u.csv"), split_column="split")


def _png(path, value):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((5, 5), value, np.uint8)).save(path)


def test_imagenet_style_train_and_test_folders(tmp_path):
    root = tmp_path / "pets"
    for split, n in (("train", 4), ("test", 2)):
        for c, value in (("cat", 30), ("dog", 200)):
            for i in range(n):
                _png(root / split / c / f"{c}{i}.png", value + i)
    ds = load("image_folder", path=str(root), size=5)
    assert ds.label_names == ("cat", "dog") and ds.n == 12
    assert list(np.bincount(ds.split)) == [8, 0, 4]
    assert sorted(ds.metadata["file"][ds.split == 2])[0] == "test/cat/cat0.png"
    from core.data.files import reader_for

    assert reader_for(str(root)) == "image_folder"
    _png(root / "test" / "bird" / "b0.png", 90)
    with pytest.raises(DataError, match="the test split has samples of class 'bird' but the training split has none"):
        choose_splits(load("image_folder", path=str(root), size=5), mode="auto", val_fraction=0.1,
                      test_fraction=0.2, seed=0)


def test_wav_folders_with_train_and_test(tmp_path):
    import wave

    for split in ("train", "test"):
        for c in ("yes", "no"):
            for i in range(2):
                f = tmp_path / "speech" / split / c / f"{i}.wav"
                f.parent.mkdir(parents=True, exist_ok=True)
                with wave.open(str(f), "wb") as w:
                    w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
                    w.writeframes(np.zeros(40, np.int16).tobytes())
    from core.data.files import reader_for

    assert reader_for(str(tmp_path / "speech")) == "wav_folder"
    ds = load("wav_folder", path=str(tmp_path / "speech"))
    assert ds.label_names == ("no", "yes") and list(np.bincount(ds.split, minlength=3)) == [4, 0, 4]


def _idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_mnist_idx_train_and_t10k_files(tmp_path):
    rng = np.random.default_rng(0)
    _idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (12, 4, 4)))
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(12) % 3)
    _idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 255, (6, 4, 4)))
    _idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(6) % 3)
    ds = load("idx", path=str(tmp_path / "train-images-idx3-ubyte.gz"),
              labels_path=str(tmp_path / "train-labels-idx1-ubyte.gz"))
    assert ds.n == 18 and list(np.bincount(ds.split, minlength=3)) == [12, 0, 6]
    assert list(ds.y[12:]) == [0, 1, 2, 0, 1, 2]
    _idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(5) % 3)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: holds labels of shape \(5,\) for 6 images"):
        load("idx", path=str(tmp_path / "train-images-idx3-ubyte.gz"),
             labels_path=str(tmp_path / "train-labels-idx1-ubyte.gz"))


def test_training_and_evaluation_use_the_official_test_split_and_say_so(tmp_path):
    keras_npz(tmp_path / "mnist.npz", n_train=60, n_test=24)
    exp = core.Experiment(
        name="official", data=core.DataConfig(name="npy", params={"path": str(tmp_path / "mnist.npz")}),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 4}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=1, batch_size=16, device="cpu", snapshot_points=20, eval_points=16,
                                     probe_every=0, diagnostics_every=0),
        output=core.OutputConfig(root=str(tmp_path / "runs")))
    result = core.run_to_end(core.train(exp))
    status = core.RunDirectory.open(result.run_dir).read_status()
    assert status["split"]["origin"] == "predefined" and status["split"]["n_test"] == 24
    code, out, err = run_cli("evaluate", result.run_dir, "--evaluations", "linear_probe", "--no-baselines")
    assert code == 0, err
    assert "official test split (24 samples)" in out
    record = json.loads((core.RunDirectory.open(result.run_dir).reports / "evaluation.json").read_text())
    assert record["split"]["origin"] == "predefined" and record["split"]["n_test"] == 24 and record["n_test"] == 24


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_column_named_label_is_suggested_when_labels_are_needed(tmp_path, suffix):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    table = pa.table({"a": rng.normal(size=40), "b": rng.normal(size=40), "label": np.arange(40) % 2})
    path = tmp_path / f"t.{suffix}"
    pq.write_table(table, path) if suffix == "parquet" else pacsv.write_csv(table, path)
    exp = core.Experiment(name="needs-labels", data=core.DataConfig(name=suffix, params={"path": str(path)}),
                          objective=core.ObjectiveConfig(name="supervised"),
                          training=core.TrainingConfig(epochs=1, batch_size=8, device="cpu"),
                          output=core.OutputConfig(root=str(tmp_path / "runs")))
    core.save_experiment(exp, tmp_path / "exp.toml")
    code, _, err = run_cli("train", str(tmp_path / "exp.toml"))
    assert code == 2
    assert "needs labels" in err and "column named 'label'" in err and 'data.params.label_column = "label"' in err


def test_split_hint_uses_the_files_own_members_and_a_wrong_member_gets_the_closest(tmp_path):
    np.savez(tmp_path / "odd.npz", features_train_v2=np.zeros((5, 3)), features_test_v2=np.zeros((2, 3)),
             classes_train_v2=np.arange(5))
    with pytest.raises(DataError) as err:
        load("npy", path=str(tmp_path / "odd.npz"))
    assert 'array = "features_train_v2", test_array = "features_test_v2"' in str(err.value)
    with pytest.raises(DataError) as err:
        load("npy", path=str(tmp_path / "odd.npz"), array="features_trian_v2")
    assert "has no array 'features_trian_v2'" in str(err.value) and "Did you mean 'features_train_v2'?" in str(err.value)


def test_one_epoch_is_said_in_the_singular(tmp_path):
    exp = core.Experiment(name="one", data=core.DataConfig(name="blobs", params={}),
                          training=core.TrainingConfig(epochs=1, batch_size=64, device="cpu"),
                          output=core.OutputConfig(root=str(tmp_path / "runs")))
    core.save_experiment(exp, tmp_path / "exp.toml")
    code, out, err = run_cli("train", str(tmp_path / "exp.toml"))
    assert code == 0, err
    assert " 1 epoch x " in out and "1 epochs" not in out
