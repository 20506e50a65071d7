"""Parquet files and saved Hugging Face datasets folders (written here by hand with pyarrow, in save_to_disk's
layout), and embeddings exported as Parquet."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data.base import DATASETS
from core.data.files import reader_for
from core.errors import DataError


def load(name, **params):
    entry = DATASETS.get(name)
    return entry.cls(entry.make_params(params)).load()


def test_feature_columns_label_metadata_and_split(tmp_path):
    rng = np.random.default_rng(0)
    n = 50
    table = pa.table({"f0": rng.normal(size=n), "f1": rng.integers(0, 9, n), "species": np.array(["a", "b"])[np.arange(n) % 2],
                      "note": [f"s{i}" for i in range(n)], "split": ["test" if i >= 40 else "train" for i in range(n)]})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=7)
    assert reader_for(str(tmp_path / "t.parquet")) == "parquet"
    ds = load("parquet", path=str(tmp_path / "t.parquet"), label_column="species", metadata_columns=("note",),
              split_column="split")
    assert ds.feature_names == ("f0", "f1") and ds.X.shape == (50, 2)
    np.testing.assert_allclose(ds.X[:, 0], table.column("f0").to_numpy().astype(np.float32))
    assert ds.label_names == ("a", "b") and list(ds.y[:4]) == [0, 1, 0, 1]
    assert ds.metadata["note"][3] == "s3" and list(np.bincount(ds.split, minlength=3)) == [40, 0, 10]


@pytest.mark.parametrize("fixed", [True, False])
def test_a_vector_column_read_by_row_groups_into_a_memory_map(tmp_path, monkeypatch, fixed):
    monkeypatch.setenv("REPLEARN_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(33, 4)).astype(np.float32)
    vectors = (pa.FixedSizeListArray.from_arrays(pa.array(Z.reshape(-1)), 4) if fixed
               else pa.array([list(map(float, row)) for row in Z], type=pa.list_(pa.float32())))
    pq.write_table(pa.table({"id": np.arange(33), "embedding": vectors}), tmp_path / "v.parquet", row_group_size=5)
    ds = load("parquet", path=str(tmp_path / "v.parquet"), vector_column="embedding", metadata_columns=("id",),
              kind="embeddings", memory_map="always")
    assert isinstance(ds.X, np.memmap) and ds.X.shape == (33, 4) and ds.kind == "embeddings"
    np.testing.assert_array_equal(np.asarray(ds.X), Z)
    assert not list((tmp_path / "cache").rglob("*.part"))
    auto = load("parquet", path=str(tmp_path / "v.parquet"))  # the one list column is found by itself
    np.testing.assert_array_equal(auto.X, Z)


def test_bad_parquet_input(tmp_path):
    pq.write_table(pa.table({"v": pa.array([[1.0, 2.0], [3.0, 4.0], [5.0]])}), tmp_path / "ragged.parquet")
    with pytest.raises(DataError, match=r"ragged\.parquet: column 'v' holds lists of different lengths \(row 1 has 2 values, row 3 has 1\)"):
        load("parquet", path=str(tmp_path / "ragged.parquet"), vector_column="v")
    pq.write_table(pa.table({"x": [1.0, 2.0], "label": [0, 1]}), tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"t\.parquet: has no label column 'lable'. Did you mean 'label'\?"):
        load("parquet", path=str(tmp_path / "t.parquet"), label_column="lable")
    with pytest.raises(DataError, match="column 'x' holds double, not a list of numbers"):
        load("parquet", path=str(tmp_path / "t.parquet"), vector_column="x")
    pq.write_table(pa.table({"x": [1.0, None, 3.0]}), tmp_path / "null.parquet")
    with pytest.raises(DataError, match="row 2, column 'x': the value is missing"):
        load("parquet", path=str(tmp_path / "null.parquet"))
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"fake\.parquet: is not a Parquet file"):
        load("parquet", path=str(tmp_path / "fake.parquet"))


def _save_to_disk(folder, table, features):
    """What datasets' Dataset.save_to_disk writes: Arrow *stream* files, state.json, dataset_info.json."""
    folder.mkdir(parents=True)
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, \
            pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=4):
            writer.write_batch(batch)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}],
                                                   "_fingerprint": "abc", "_format_type": None, "_split": folder.name}))
    (folder / "dataset_info.json").write_text(json.dumps({"features": features, "citation": "", "description": ""}))


def test_a_saved_hugging_face_dataset_dict_with_its_splits(tmp_path):
    rng = np.random.default_rng(2)
    features = {"vector": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "Sequence"},
                "label": {"names": ["neg", "pos"], "_type": "ClassLabel"}, "text": {"dtype": "string", "_type": "Value"}}
    parts = {}
    for split, n in (("train", 10), ("test", 6)):
        Z = rng.normal(size=(n, 3)).astype(np.float32)
        parts[split] = Z
        table = pa.table({"vector": pa.array([list(map(float, r)) for r in Z], type=pa.list_(pa.float32())),
                          "label": pa.array(np.arange(n) % 2, type=pa.int64()), "text": [f"{split}{i}" for i in range(n)]})
        _save_to_disk(tmp_path / "imdb" / split, table, features)
    (tmp_path / "imdb" / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    ds = load("hf_arrow", path=str(tmp_path / "imdb"), metadata_columns=("text",), kind="embeddings")
    assert ds.X.shape == (16, 3) and ds.label_names == ("neg", "pos")
    np.testing.assert_array_equal(ds.X, np.concatenate([parts["train"], parts["test"]]))
    assert list(ds.split) == [0] * 10 + [2] * 6 and ds.metadata["text"][10] == "test0"
    assert reader_for(str(tmp_path / "imdb" / "train")) == "hf_arrow"
    (tmp_path / "imdb" / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "unsupervised"]}))
    with pytest.raises(DataError, match="names split\\(s\\) 'unsupervised'"):
        load("hf_arrow", path=str(tmp_path / "imdb"))


def test_embeddings_parquet_has_a_vector_column_and_the_2d_layout(tmp_path):
    from core.report.export import write_embeddings_parquet

    Z = np.random.default_rng(3).normal(size=(7, 5)).astype(np.float32)
    coords = np.random.default_rng(4).normal(size=(7, 2)).astype(np.float32)
    write_embeddings_parquet(tmp_path / "e.parquet", {"index": np.arange(7), "label": list("aabbccd")}, Z, coords)
    table = pq.read_table(tmp_path / "e.parquet")  # what pandas.read_parquet reads (pandas is not installed here)
    assert table.column_names == ["index", "label", "embedding", "x", "y"]
    np.testing.assert_array_equal(np.array(table.column("embedding").to_pylist(), np.float32), Z)
    np.testing.assert_array_equal(np.stack([table.column("x").to_numpy(), table.column("y").to_numpy()], 1), coords)
    assert pq.read_schema(tmp_path / "e.parquet").field("embedding").type == pa.list_(pa.float32(), 5)
    back = load("parquet", path=str(tmp_path / "e.parquet"), vector_column="embedding", label_column="label",
                metadata_columns=("x", "y"), kind="embeddings")
    np.testing.assert_array_equal(back.X, Z)
