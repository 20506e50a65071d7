"""Messages that were wrong or missing (issue 19, items 8-10): odd .npz members, CSV line numbers and
decimal commas, blank projector files, graphs of self-loops."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import core


def load(name: str, **params) -> core.Dataset:
    return core.DATASETS.get(name).cls(core.DATASETS.get(name).cls.Params(**params)).load()


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_an_npz_member_that_is_not_npy_or_climbs_out_is_refused_by_name(tmp_path):
    X = np.zeros((4, 3), np.float32)
    mixed = tmp_path / "mixed.npz"
    with zipfile.ZipFile(mixed, "w") as z:
        z.writestr("X.npy", npy_bytes(X))
        z.writestr("readme.txt", "not an array")
    with pytest.raises(core.DataError, match=r"mixed.npz: member 'readme.txt' is not a NumPy array \(.npy\)\. Arrays: X"):
        load("npy", path=str(mixed), array="readme.txt")
    assert load("npy", path=str(mixed)).X.shape == (4, 3)  # the array member still loads
    only_text = tmp_path / "text.npz"
    with zipfile.ZipFile(only_text, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(core.DataError, match=r"text.npz: holds no arrays \(no .npy member\)"):
        load("npy", path=str(only_text))
    climbing = tmp_path / "climb.npz"
    with zipfile.ZipFile(climbing, "w") as z:
        z.writestr("../../evil.npy", npy_bytes(X))
    with pytest.raises(core.DataError, match=r"climb.npz: member '../../evil.npy' has a path that leaves the archive"):
        load("npy", path=str(climbing))


@pytest.mark.parametrize("text, line", [
    ("a,b,label\n1,2,x\n\n\n3,4,y\n\n5,oops,x\n", 7),  # blank lines count
    ('a,b,label\n1,2,"three\nline\ncell"\n3,4,y\n5,oops,x\n', 6),  # so do the lines of a quoted cell
    ("\n\na,b,label\r\n1,2,x\r\n3,oops,y\r\n", 5),
])
def test_csv_line_numbers_count_blank_lines_and_multi_line_cells(tmp_path, text, line):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    with pytest.raises(core.DataError, match=rf"non-numeric feature column\(s\) 'b' \(line {line}: 'oops'\)"):
        load("csv", path=str(path), label_column="label")


def test_csv_line_numbers_for_ragged_rows_and_missing_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n\n1,2,x\n\n3,4\n")
    with pytest.raises(core.DataError, match="line 5 has 2 fields, but the header has 3"):
        load("csv", path=str(path), label_column="label")
    path.write_text("a,b,label\n\n1,2,x\n\n3,,y\n")
    with pytest.raises(core.DataError, match="the first at line 5, column 'b'"):
        load("csv", path=str(path), label_column="label")


def test_a_semicolon_file_with_decimal_commas_is_read(tmp_path):
    path = tmp_path / "de.csv"
    path.write_text("a;b;label\n1,5;-2,25;x\n3,0;4,5;y\n5,1;6,2e-1;x\n0,5;1,5;y\n")
    ds = load("csv", path=str(path), label_column="label")
    np.testing.assert_allclose(ds.X, [[1.5, -2.25], [3.0, 4.5], [5.1, 0.62], [0.5, 1.5]], rtol=1e-6)
    assert ds.label_names == ("x", "y")
    assert any("decimal comma" in n for n in ds.notes)
    with pytest.raises(core.DataError, match=r"line 2 has 3 fields, but the header has 1 \(delimiter ','\)\. The file "
                                             r"seems to be delimited by ';': set delimiter \(its commas are decimal"):
        load("csv", path=str(path), label_column="label", delimiter=",")
    path.write_text("a;b;label\n1.5;2;x\n3.5;4;y\n")
    with pytest.raises(core.DataError, match=r"has no label column 'label'\. The file seems to be delimited by ';'"):
        load("csv", path=str(path), label_column="label", delimiter="|")


@pytest.mark.parametrize("which", ["vectors", "metadata"])
def test_a_blank_projector_file_is_named(tmp_path, which):
    vectors, metadata = tmp_path / "vectors.tsv", tmp_path / "metadata.tsv"
    vectors.write_text("1\t2\n3\t4\n" if which == "metadata" else "\n \n\n")
    metadata.write_text("\n\n" if which == "metadata" else "a\nb\n")
    target = metadata if which == "metadata" else vectors
    with pytest.raises(core.DataError, match=f"{target}: holds no {'metadata' if which == 'metadata' else 'vectors'}"):
        load("projector", path=str(vectors), metadata_path=str(metadata))


def test_a_graph_of_only_self_loops_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "loops.csv"
    path.write_text("source,target\na,a\nb,b\n")
    with pytest.raises(core.DataError, match=r"loops.csv: holds only self-loops \(2 edge\(s\)"):
        load("edge_list", path=str(path))


def test_an_idx_gzip_bomb_is_refused_before_it_is_inflated(tmp_path):
    import gzip
    import resource
    import time

    small = tmp_path / "small-header.gz"  # declares 10 images of 28x28, then inflates to 200 MB
    with gzip.open(small, "wb", compresslevel=9) as fh:
        fh.write(b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (10, 28, 28)))
        block = bytes(1 << 20)
        for _ in range(200):
            fh.write(block)
    assert small.stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(core.DataError, match=r"small-header.gz: has trailing bytes: its header announces \(10, 28, 28\)"):
        load("idx", path=str(small))
    assert time.perf_counter() - start < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: nothing like 200 MB
    huge = tmp_path / "huge-header.gz"  # declares 2**31 images of 1000x1000: refused from its header
    with gzip.open(huge, "wb") as fh:
        fh.write(b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (2**31, 1000, 1000)) + bytes(1000))
    with pytest.raises(core.DataError, match=r"huge-header.gz: loading the \(2147483648, 1000, 1000\) array its header "
                                             r"announces, as float32 needs"):
        load("idx", path=str(huge))
