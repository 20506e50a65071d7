"""TF Embedding Projector files both ways: our export read back by our reader gives the same vectors, labels and
metadata; a single metadata column has no header (the Projector's rule); formula cells are defused."""
import numpy as np
import pytest

import core
from core.data.base import DATASETS
from core.data.files import reader_for
from core.report.export import write_projector


def load(**params):
    entry = DATASETS.get("projector")
    return entry.cls(entry.make_params(params)).load()


def dataset(labelled, metadata):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2]) if labelled else None
    return core.Dataset(name="d", kind="embeddings", X=X, y=y, label_names=("7", "cat", "-1") if labelled else (),
                        metadata=metadata)


@pytest.mark.parametrize("labelled", [True, False])
def test_export_then_read_gives_the_same_vectors_labels_and_metadata(tmp_path, labelled):
    meta = {"word": np.array(["=HYPERLINK(x)", "plain", "+1 more", "@home", "tab\there", "ok"]),
            "count": np.array([3, 1, 4, 1, 5, 9])}
    ds = dataset(labelled, meta)
    Z = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    files = write_projector(tmp_path, ds, np.arange(6), Z)
    lines = files["metadata"].read_text().splitlines()
    assert lines[0].split("\t") == (["label", "word", "count"] if labelled else ["word", "count"])
    assert all(not cell.startswith(("=", "+", "@")) for line in lines[1:] for cell in line.split("\t"))
    assert reader_for(str(files["tensor"])) == "projector"
    back = load(path=str(files["tensor"]))  # metadata.tsv beside tensor.tsv is found by itself
    np.testing.assert_allclose(back.X, Z, rtol=1e-5)
    if labelled:
        assert back.label_names == ("-1", "7", "cat")  # the original strings, not "7.0"
        assert [back.label_names[k] for k in back.y] == [ds.label_names[k] for k in ds.y]
    else:
        assert back.y is None
    assert back.metadata["word"].tolist() == ["=HYPERLINK(x)", "plain", "+1 more", "@home", "tab here", "ok"]
    assert back.metadata["count"].dtype == np.int64 and back.metadata["count"].tolist() == [3, 1, 4, 1, 5, 9]
    part = write_projector(tmp_path / "part", ds, np.array([5, 3]), Z[[5, 3]])  # a subset keeps its row numbers
    assert load(path=str(part["tensor"])).metadata["index"].tolist() == [5, 3]


def test_one_metadata_column_has_no_header_and_reads_back_as_labels(tmp_path):
    ds = core.Dataset(name="d", kind="embeddings", X=np.eye(6, 3, dtype=np.float32), y=np.array([1, 0, 1, 0, 1, 0]),
                      label_names=("0", "1"))
    files = write_projector(tmp_path, ds, np.arange(6), ds.X)
    assert files["metadata"].read_text().splitlines() == ["1", "0", "1", "0", "1", "0"]  # no header line
    back = load(path=str(files["tensor"]))
    assert back.label_names == ("0", "1") and back.y.tolist() == [1, 0, 1, 0, 1, 0]


def test_unlabelled_data_without_metadata_writes_no_metadata_file(tmp_path):
    ds = dataset(False, {})
    files = write_projector(tmp_path, ds, np.arange(6), ds.X)
    assert "metadata" not in files and not (tmp_path / "metadata.tsv").exists()
    assert "metadata_path" not in files["pbtxt"].read_text()
    back = load(path=str(files["tensor"]))
    assert back.y is None and not back.metadata


def test_embeddings_made_elsewhere_open_as_a_space_with_their_layout(tmp_path):
    from core.exploration import file_space
    from core.report.export import write_embeddings_file

    Z = np.random.default_rng(2).normal(size=(8, 5)).astype(np.float32)
    xy = np.random.default_rng(3).normal(size=(8, 2)).astype(np.float32)
    cols = {"index": np.arange(8), "label": ["a", "b"] * 4, "title": [f"t{i}" for i in range(8)]}
    write_embeddings_file(tmp_path / "e.parquet", cols, Z, xy)
    space = file_space(tmp_path / "e.parquet")
    np.testing.assert_array_equal(space.embeddings, Z)
    np.testing.assert_array_equal(space.layout, xy)
    assert space.dataset.label_names == ("a", "b") and space.dataset.metadata["title"][2] == "t2"
    write_embeddings_file(tmp_path / "e.csv", cols, Z, xy)
    space = file_space(tmp_path / "e.csv")
    np.testing.assert_allclose(space.embeddings, Z, rtol=1e-6)
    np.testing.assert_allclose(space.layout, xy, rtol=1e-6)
    files = write_projector(tmp_path / "p", dataset(True, {}), np.arange(6), Z[:6])
    space = file_space(files["tensor"])
    assert space.layout is None and space.n == 6 and space.labels.tolist() == [1, 2, 0, 1, 2, 0]
    np.save(tmp_path / "z.npy", Z)
    assert file_space(tmp_path / "z.npy").embeddings.shape == (8, 5)
    with pytest.raises(core.DataError, match="not an embeddings file"):
        file_space(tmp_path / "notes.txt")
