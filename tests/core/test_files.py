"""The user's own files: every reader round-trips data the tests create, and bad input gets a clear message."""
from __future__ import annotations

import gzip
import io
import os
import wave

import numpy as np
import pytest

import core
from core.cli import main as cli_main


def load(name: str, **params) -> core.Dataset:
    entry = core.DATASETS.get(name)
    return entry.cls(entry.make_params(params)).load()


def error(name: str, **params) -> str:
    with pytest.raises(core.DataError) as info:
        load(name, **params)
    return str(info.value)


# ---- CSV ------------------------------------------------------------------------------------------------------


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_csv_round_trip_with_header_labels_and_metadata(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)).round(4)
    species = np.array(["setosa", "virginica", "versicolor"])[np.arange(30) % 3]
    lines = ["a,b,c,species,city"] + [f"{x[0]},{x[1]},{x[2]},{s},town{i}" for i, (x, s) in enumerate(zip(X, species, strict=True))]
    ds = load("csv", path=write(tmp_path / "t.csv", "\n".join(lines)), label_column="species", metadata_columns=["city"])
    np.testing.assert_allclose(ds.X, X, rtol=1e-6)
    assert ds.feature_names == ("a", "b", "c")
    assert ds.label_names == ("setosa", "versicolor", "virginica")
    assert [ds.label_names[k] for k in ds.y] == list(species)
    assert ds.metadata["city"][4] == "town4" and ds.kind == "tabular" and ds.notes == ()


@pytest.mark.parametrize("delim, sep", [(";", ";"), ("tab", "\t"), ("|", "|")])
def test_csv_delimiter_is_sniffed(tmp_path, delim, sep):
    text = "\n".join(sep.join(str(v) for v in row) for row in [[1, 2, 0], [3, 4, 1], [5, 6, 0], [7, 8, 1]])
    ds = load("csv", path=write(tmp_path / "t.tsv", text), label_column="2")
    assert ds.X.shape == (4, 2) and ds.feature_names == ("0", "1") and list(ds.y) == [0, 1, 0, 1]
    ds2 = load("csv", path=str(tmp_path / "t.tsv"), delimiter=delim, header="no")
    assert ds2.X.shape == (4, 3)


def test_csv_bom_and_latin1(tmp_path):
    ds = load("csv", path=str(tmp_path / "b.csv") if write(tmp_path / "b.csv", "\ufeffx,y\n1,2\n3,4\n") else "")
    assert ds.feature_names == ("x", "y")
    latin = write(tmp_path / "l.csv", "höhe,breite,stadt\n1,2,Köln\n3,4,Zürich\n", encoding="latin-1")
    ds = load("csv", path=latin, metadata_columns=["stadt"])
    assert ds.feature_names == ("höhe", "breite") and ds.metadata["stadt"][0] == "Köln"
    assert any("Latin-1" in n for n in ds.notes)
    assert "not UTF-8" in error("csv", path=latin, encoding="utf-8")


@pytest.mark.parametrize("text, params, message", [
    ("", {}, "is empty"),
    ("\n\n  \n", {}, "only blank lines"),
    ("a,b,c\n", {}, "has a header but no data rows"),
    ("a,b,c\n1,2,3\n4,5\n", {}, "line 3 has 2 fields, but the header has 3"),
    ("a,b,c\n1,2,3\n4,five,6\n", {}, "non-numeric feature column(s) 'b' (line 3: 'five')"),
    ("a,b\n1,2\n,4\n", {}, "1 missing value(s), the first at line 3, column 'a'"),
    ("a,b\n1,2\ninf,4\n", {}, "line 3, column 'a': 'inf' is not a finite number"),
    ("a,b,y\n1,2,x\n3,4,x\n", {"label_column": "y"}, "holds one class only ('x')"),
    ("a,b,y\n1,2,x\n3,4,z\n", {"label_column": "label"}, "has no label column 'label'"),
    ("a,b,y\n1,2,x\n3,4,\n", {"label_column": "y"}, "line 3: the label ('y') is missing"),
    ("a;b;c\n1;2;3\n4;5;6\n", {"delimiter": ","}, "is the delimiter right?"),
])
def test_csv_bad_input_messages(tmp_path, text, params, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    msg = error("csv", path=str(path), **params)
    assert msg.startswith(str(path)) and message in msg


def test_csv_missing_value_policies_and_constant_column_note(tmp_path):
    path = write(tmp_path / "m.csv", "a,b,c\n1,2,7\n,4,7\n5,NA,7\n3,6,7\n")
    dropped = load("csv", path=path, missing="drop_rows")
    np.testing.assert_allclose(dropped.X, [[1, 2, 7], [3, 6, 7]])
    assert any("2 row(s)" in n for n in dropped.notes)
    imputed = load("csv", path=path, missing="impute_mean")
    np.testing.assert_allclose(imputed.X[1], [3, 4, 7])  # mean of 1, 5, 3
    np.testing.assert_allclose(imputed.X[2], [5, 4, 7])  # mean of 2, 4, 6
    assert any("constant column(s) 'c'" in n for n in imputed.notes)


def test_csv_class_with_one_sample_is_noted_and_training_still_works(tmp_path):
    rows = ["f1,f2,label"] + [f"{i},{i % 7},{'rare' if i == 0 else ('a' if i % 2 else 'b')}" for i in range(60)]
    path = write(tmp_path / "r.csv", "\n".join(rows))
    ds = load("csv", path=path, label_column="label")
    assert any("single sample" in n and "'rare'" in n for n in ds.notes)
    exp = core.Experiment(name="r", data=core.DataConfig(name="csv", params={"path": path, "label_column": "label"}),
                          encoder=core.EncoderConfig(name="mlp", params={"hidden": [8], "out_dim": 4}),
                          training=core.TrainingConfig(epochs=1, batch_size=16, device="cpu"),
                          output=core.OutputConfig(root=str(tmp_path / "runs")))
    assert core.run_to_end(core.train(exp)).status == "finished"


def test_dataset_smaller_than_the_batch_size(tmp_path):
    path = write(tmp_path / "s.csv", "a,b,y\n" + "\n".join(f"{i},{i*2},{i%2}" for i in range(10)))
    exp = core.Experiment(name="s", data=core.DataConfig(name="csv", params={"path": path, "label_column": "y"}),
                          encoder=core.EncoderConfig(name="mlp", params={"hidden": [8], "out_dim": 4}),
                          training=core.TrainingConfig(epochs=1, batch_size=64, device="cpu"),
                          output=core.OutputConfig(root=str(tmp_path / "runs")))
    with pytest.raises(core.ConfigError, match=r"training.batch_size: 64 is larger than the \d+ training samples"):
        core.run_to_end(core.train(exp))


def test_missing_file_and_folder_messages(tmp_path):
    assert "no such file" in error("csv", path=str(tmp_path / "nope.csv"))
    assert "is a folder, not a file" in error("csv", path=str(tmp_path))
    assert "no file given" in error("csv", path="")


def test_file_larger_than_free_memory_is_refused_before_loading(tmp_path, monkeypatch):
    from core.data.files import common

    path = write(tmp_path / "big.csv", "a,b\n" + "1,2\n" * 1000)
    monkeypatch.setattr(common, "available_memory", lambda: 1000)
    msg = error("csv", path=path)
    assert "needs" in msg and "only 1000 bytes of memory is free" in msg


# ---- NumPy ----------------------------------------------------------------------------------------------------


def test_npy_2d_is_memory_mapped_and_labels_load(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", np.array(["cat", "dog"] * 25))
    ds = load("npy", path=str(tmp_path / "x.npy"), labels_path=str(tmp_path / "y.npy"))
    assert isinstance(ds.X, np.memmap)  # not copied into memory
    np.testing.assert_array_equal(ds.X, X)
    assert ds.label_names == ("cat", "dog") and ds.y[:4].tolist() == [0, 1, 0, 1]


def test_npy_images_channels_last_and_npz_members(tmp_path):
    imgs = np.random.default_rng(0).random((10, 12, 12, 3))
    np.savez(tmp_path / "d.npz", images=imgs, labels=np.arange(10) % 2)
    ds = load("npy", path=str(tmp_path / "d.npz"), labels_array="labels")
    assert ds.kind == "image" and ds.X.shape == (10, 3, 12, 12) and ds.value_range == (0.0, 1.0)
    np.testing.assert_allclose(ds.X[3, 1], imgs[3, :, :, 1], rtol=1e-6)
    grey = np.random.default_rng(1).random((5, 8, 8)).astype(np.float32)
    np.save(tmp_path / "g.npy", grey)
    assert load("npy", path=str(tmp_path / "g.npy")).X.shape == (5, 1, 8, 8)


def test_npy_holding_python_objects_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = Payload(), Payload()
    np.save(tmp_path / "evil.npy", arr, allow_pickle=True)
    assert not marker.exists()
    msg = error("npy", path=str(tmp_path / "evil.npy"))
    assert "holds Python objects; refused" in msg
    assert not marker.exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(np.lib.format.magic(1, 0) + b"\x10\x00{'descr': '<f4', "), "is not a valid NumPy file"),
    (lambda p: p.write_text("this is not numpy"), "is not a NumPy file (no .npy or .npz signature)"),
    (lambda p: np.save(p, np.ones((3, 2), dtype=np.complex64)), "holds complex numbers"),
    (lambda p: np.save(p, np.zeros(3, dtype=[("a", "f4"), ("b", "i4")])), "holds a structured array"),
    (lambda p: np.save(p, np.ones(5)), "holds a 1-D array"),
])
def test_npy_bad_files(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    assert message in error("npy", path=str(path))


def test_truncated_npy(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.ones((100, 10), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    assert "is not a valid NumPy file" in error("npy", path=str(path))


def test_labels_of_the_wrong_length(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((10, 2), dtype=np.float32))
    np.save(tmp_path / "y.npy", np.zeros(9, dtype=int))
    assert "labels of shape (9,) do not match the 10 samples" in error(
        "npy", path=str(tmp_path / "x.npy"), labels_path=str(tmp_path / "y.npy"))


# ---- image folders --------------------------------------------------------------------------------------------


def make_image_folder(root, modes=("L", "L")):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, mode in zip(("cats", "dogs"), modes, strict=True):
        (root / cls).mkdir(parents=True)
        for i, ext in enumerate((".png", ".jpg", ".bmp")):
            shape = (20, 16) if mode == "L" else (20, 16, 3)
            arr = (rng.random(shape) * 255).astype(np.uint8)
            Image.fromarray(arr, mode=mode).save(root / cls / f"img{i}{ext}")
    return str(root)


def test_image_folder_round_trip(tmp_path):
    ds = load("image_folder", path=make_image_folder(tmp_path / "imgs"), size=8)
    assert ds.X.shape == (6, 1, 8, 8) and ds.label_names == ("cats", "dogs") and list(ds.y) == [0, 0, 0, 1, 1, 1]
    assert ds.X.min() >= 0 and ds.X.max() <= 1 and ds.metadata["file"][0] == "cats/img0.png"


def test_image_folder_decoded_by_threads_into_a_memory_mapped_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLEARN_CACHE_DIR", str(tmp_path / "cache"))
    folder = make_image_folder(tmp_path / "imgs", modes=("L", "RGB"))
    in_memory = load("image_folder", path=folder, size=8, workers=1, memory_map="never")
    mapped = load("image_folder", path=folder, size=8, workers=4, memory_map="always")
    assert isinstance(mapped.X, np.memmap) and not isinstance(in_memory.X, np.memmap)
    np.testing.assert_array_equal(mapped.X, in_memory.X)  # several threads decode the same images
    assert any("memory-mapped cache" in n for n in mapped.notes)
    (cached,) = (tmp_path / "cache" / "image-folders").glob("*.npy")
    stamp = cached.stat().st_mtime_ns
    again = load("image_folder", path=folder, size=8, memory_map="always")
    assert cached.stat().st_mtime_ns == stamp and np.array_equal(again.X, mapped.X)  # decoded once
    load("image_folder", path=folder, size=12, memory_map="always")  # another size: another entry
    assert len(list(cached.parent.glob("*.npy"))) == 2 and not list(cached.parent.glob("*.part"))


def test_image_folder_mixed_modes_become_rgb(tmp_path):
    ds = load("image_folder", path=make_image_folder(tmp_path / "imgs", modes=("L", "RGB")), size=8)
    assert ds.X.shape == (6, 3, 8, 8) and any("mix modes" in n for n in ds.notes)


def test_image_folder_errors(tmp_path, monkeypatch):
    from PIL import Image

    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("L", (4, 4)).save(flat / "a.png")
    assert "has no class folders (it holds 1 loose image(s))" in error("image_folder", path=str(flat))
    root = tmp_path / "imgs"
    make_image_folder(root)
    (root / "birds").mkdir()
    assert "birds: is an empty class folder" in error("image_folder", path=str(root))
    (root / "birds").rmdir()
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert "broken.png: " in error("image_folder", path=str(root))
    (root / "cats" / "broken.png").unlink()
    good = root / "cats" / "img0.png"
    data = good.read_bytes()
    (root / "cats" / "cut.png").write_bytes(data[: len(data) // 2])
    assert "cut.png: cannot be decoded" in error("image_folder", path=str(root))
    (root / "cats" / "cut.png").unlink()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the same check a real decompression bomb trips
    assert "too large to decode safely" in error("image_folder", path=str(root))


# ---- IDX ------------------------------------------------------------------------------------------------------


def idx_bytes(a: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C}[a.dtype.type]
    header = bytes([0, 0, code, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


def test_idx_round_trip_plain_and_gz(tmp_path):
    images = (np.random.default_rng(0).random((7, 5, 4)) * 255).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2], dtype=np.uint8)
    (tmp_path / "img-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "lab-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    ds = load("idx", path=str(tmp_path / "img-idx3-ubyte"), labels_path=str(tmp_path / "lab-idx1-ubyte.gz"))
    np.testing.assert_allclose(ds.X[:, 0], images / 255.0, rtol=1e-6)
    assert [ds.label_names[k] for k in ds.y] == [str(v) for v in labels]


def test_idx_errors(tmp_path):
    images = np.zeros((4, 3, 3), dtype=np.uint8)
    (tmp_path / "cut").write_bytes(idx_bytes(images)[:-5])
    assert "is truncated" in error("idx", path=str(tmp_path / "cut"))
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04" + bytes(20))
    assert "bad magic number" in error("idx", path=str(tmp_path / "bad"))
    (tmp_path / "img").write_bytes(idx_bytes(images))
    (tmp_path / "lab").write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8)))
    assert "labels of shape (3,) for 4 images" in error("idx", path=str(tmp_path / "img"), labels_path=str(tmp_path / "lab"))


# ---- WAV ------------------------------------------------------------------------------------------------------


def write_wav(path, samples: np.ndarray, rate=8000, width=2, channels=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    if width == 2:
        data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    else:
        data = ((np.clip(samples, -1, 1) * 127) + 128).astype(np.uint8)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def test_wav_folder_round_trip_mono_stereo_8_and_16_bit(tmp_path):
    t = np.arange(400) / 8000
    write_wav(tmp_path / "w" / "low" / "a.wav", 0.5 * np.sin(2 * np.pi * 200 * t))
    write_wav(tmp_path / "w" / "low" / "b.wav", np.repeat(0.5 * np.sin(2 * np.pi * 210 * t[:300]), 2), channels=2)
    write_wav(tmp_path / "w" / "high" / "c.wav", 0.5 * np.sin(2 * np.pi * 900 * t), width=1)
    ds = load("wav_folder", path=str(tmp_path / "w"))
    assert ds.kind == "audio" and ds.X.shape == (3, 1, 400) and ds.label_names == ("high", "low")
    np.testing.assert_allclose(ds.X[1, 0], 0.5 * np.sin(2 * np.pi * 200 * t), atol=1e-3)
    assert np.all(ds.X[2, 0, 300:] == 0)  # the shorter stereo clip is padded
    assert ds.metadata["duration_s"][2] == pytest.approx(300 / 8000)


def test_wav_folder_errors(tmp_path):
    write_wav(tmp_path / "w" / "a" / "x.wav", np.zeros(100), rate=8000)
    write_wav(tmp_path / "w" / "b" / "y.wav", np.zeros(100), rate=16000)
    assert "mixes sample rates (8000 Hz in x.wav, 16000 Hz in y.wav)" in error("wav_folder", path=str(tmp_path / "w"))
    (tmp_path / "v" / "a").mkdir(parents=True)
    (tmp_path / "v" / "a" / "z.wav").write_bytes(b"RIFF0000WAVEjunk")
    assert "z.wav: is not a PCM WAV file" in error("wav_folder", path=str(tmp_path / "v"))


# ---- text, graphs, projector files ------------------------------------------------------------------------------


def test_text_file_round_trip_labelled(tmp_path):
    path = write(tmp_path / "s.txt", "pos\tThe cat sat.\nneg\tA dog ran away!\n\npos\tthe cat ran\n")
    ds = load("text", path=path, labelled=True, max_length=4)
    assert ds.kind == "tokens" and ds.X.shape == (3, 4) and ds.label_names == ("neg", "pos")
    from core.data.preview import tokens_text

    words = [tokens_text(ds.X[i], ds.vocab) for i in range(3)]
    assert words == ["the cat sat", "a dog ran away", "the cat ran"]
    assert "line 1 has no TAB" in error("text", path=write(tmp_path / "u.txt", "just words\n"), labelled=True)


def test_edge_list_round_trip_and_label_errors(tmp_path):
    path = write(tmp_path / "e.csv", "source,target\nann,bob\nbob,cid\ncid,ann\ndan,eve\nann,ann\nbob,ann\n")
    labels = write(tmp_path / "l.csv", "node,label\nann,x\nbob,x\ncid,x\ndan,y\neve,y\n")
    ds = load("edge_list", path=path, labels_path=labels)
    assert ds.vocab == ("ann", "bob", "cid", "dan", "eve") and ds.kind == "graph"
    assert sorted(map(tuple, ds.edges.tolist())) == [(0, 1), (0, 2), (1, 2), (3, 4)]
    assert [ds.label_names[k] for k in ds.y] == ["x", "x", "x", "y", "y"]
    assert any("self-loop" in n for n in ds.notes) and any("duplicate" in n for n in ds.notes)
    short = write(tmp_path / "l2.csv", "ann,x\nbob,x\n")
    assert "has no label for 3 node(s), e.g. 'cid'" in error("edge_list", path=path, labels_path=short)


def test_projector_files(tmp_path):
    vec = write(tmp_path / "vectors.tsv", "0.1\t0.2\n0.3\t0.4\n0.5\t0.6\n")
    single = write(tmp_path / "m1.tsv", "a\nb\na\n")
    ds = load("projector", path=vec, metadata_path=single)
    assert ds.kind == "embeddings" and ds.X.shape == (3, 2) and ds.label_names == ("a", "b")
    multi = write(tmp_path / "m2.tsv", "word\tcount\nx\t1\ny\t2\nz\t3\n")
    ds = load("projector", path=vec, metadata_path=multi, label_column="word")
    assert ds.metadata["count"].tolist() == [1, 2, 3] and ds.n_classes == 3
    assert "has 2 rows for 3 vectors" in error("projector", path=vec, metadata_path=write(tmp_path / "m3.tsv", "a\nb\n"))
    assert "line 2: 'x' is not a number" in error("projector", path=write(tmp_path / "v2.tsv", "1\t2\nx\t3\n"))


# ---- the CLI trains from every kind of file ---------------------------------------------------------------------


def files_for_cli(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "data"
    d.mkdir()
    lines = ["f1,f2,f3,label"] + [f"{a:.3f},{b:.3f},{c:.3f},{int(a > 0)}" for a, b, c in rng.normal(size=(60, 3))]
    (d / "t.csv").write_text("\n".join(lines))
    np.save(d / "x.npy", rng.random((60, 8, 8)).astype(np.float32))
    np.save(d / "y.npy", np.arange(60) % 3)
    make_image_folder(d / "imgs")
    (d / "img-idx").write_bytes(idx_bytes((rng.random((40, 6, 6)) * 255).astype(np.uint8)))
    for k in range(8):
        write_wav(d / "wavs" / ("low" if k % 2 else "high") / f"{k}.wav", np.sin(np.arange(200) * (0.1 + 0.3 * (k % 2))))
    (d / "s.txt").write_text("\n".join(f"{'a' if i % 2 else 'b'}\tword{i % 5} and word{i % 3}" for i in range(40)))
    (d / "e.csv").write_text("\n".join(f"n{i},n{(i + 1) % 30}" for i in range(30)))
    (d / "vectors.tsv").write_text("\n".join("\t".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(40, 4))))
    return {
        "csv": {"path": "data/t.csv", "label_column": "label"},
        "npy": {"path": "data/x.npy", "labels_path": "data/y.npy"},
        "image_folder": {"path": "data/imgs", "size": 8},
        "idx": {"path": "data/img-idx"},
        "wav_folder": {"path": "data/wavs"},
        "text": {"path": "data/s.txt", "labelled": True},
        "edge_list": {"path": "data/e.csv"},
        "projector": {"path": "data/vectors.tsv"},
    }


def test_the_cli_trains_from_every_kind_of_file(tmp_path, monkeypatch):
    specs = files_for_cli(tmp_path)
    objective = {"edge_list": "edge_prediction"}
    encoder = {"edge_list": ("embedding", {"dim": 4}), "text": ("embedding", {"dim": 4})}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative data paths are taken from the experiment file's folder
    for name, params in specs.items():
        enc, enc_params = encoder.get(name, ("mlp", {"hidden": [8], "out_dim": 4}))
        obj = objective.get(name, "autoencoder" if name in ("idx", "projector") else "supervised")
        exp = core.Experiment(name=f"file-{name}", data=core.DataConfig(name=name, params=params),
                              encoder=core.EncoderConfig(name=enc, params=enc_params),
                              objective=core.ObjectiveConfig(name=obj),
                              training=core.TrainingConfig(epochs=1, batch_size=4, device="cpu"))
        core.save_experiment(exp, tmp_path / f"{name}.toml")  # with paths relative to tmp_path
        out, err = io.StringIO(), io.StringIO()
        code = cli_main(["train", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / "runs"), "--quiet"], out, err)
        assert code == 0, f"{name}: {err.getvalue()}"
        run_dir = out.getvalue().strip().splitlines()[-1].removeprefix("run: ")
        saved = core.RunDirectory.open(run_dir).read_config()
        assert os.path.isabs(saved.data.params.path)  # the run's config finds the data from anywhere


def test_csv_spaces_after_delimiters_are_dropped_like_csv_reader_does(tmp_path):
    plain = write(tmp_path / "p.csv", "x, y, site, label\n1, 2, north, a\n3, 4, south, b\n5, 6, north, a\n")
    quoted = write(tmp_path / "q.csv", 'x, y, site, label\n1, 2, "north", a\n3, 4, "south", b\n5, 6, "north", a\n')
    for path in (plain, quoted):  # the fast split and csv.reader read the same table
        ds = load("csv", path=path, label_column="label", metadata_columns=["site"])
        assert ds.metadata["site"].tolist() == ["north", "south", "north"] and ds.label_names == ("a", "b")
        np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])


CSV_TABLES = [
    ("x,y,label\n1,2,a\n3,4,b\n5,6,a\n", {"label_column": "label"}),
    ("1;2;0\n3;4;1\n5;6;1\n7;8;0\n", {"label_column": "2"}),
    ("\ufeffa\tb\tc\tcity\n1.5\t2\t7\tKöln\n3\t-4e3\t7\tBonn\n\n5\t6\t7\tKöln\n", {"metadata_columns": ["city"]}),
    ("f1,f2,y\n0.1,0.2,10\n0.3,0.4,2\n0.5,0.6,1\n0.7,0.8,10\n", {"label_column": "y", "kind": "sequence"}),
    ("a,b\n1,2\n3,4\n", {}),
    ("a,b,y\n1,2,01\n3,4,1\n5,6,01\n", {"label_column": "y"}),  # labels keep their text: '01' is not '1'
]


@pytest.mark.parametrize("text, params", CSV_TABLES)
def test_csv_arrow_fast_path_reads_the_same_dataset_as_the_cell_by_cell_reader(tmp_path, monkeypatch, text, params):
    from core.data.files import csv_table

    path = write(tmp_path / "t.csv", text)
    fast = load("csv", path=path, **params)
    assert csv_table._arrow_table(csv_table.existing_file(path), fast_params := _csv_params(path, params)) is not None
    monkeypatch.setattr(csv_table, "_arrow_table", lambda path, p: None)
    slow = load("csv", path=path, **params)
    np.testing.assert_array_equal(fast.X, slow.X)
    assert fast.X.dtype == slow.X.dtype == np.float32
    assert (fast.y is None) == (slow.y is None)
    if fast.y is not None:
        np.testing.assert_array_equal(fast.y, slow.y)
    assert fast.label_names == slow.label_names and fast.feature_names == slow.feature_names
    assert fast.metadata.keys() == slow.metadata.keys()
    for key in fast.metadata:
        np.testing.assert_array_equal(fast.metadata[key], slow.metadata[key])
    assert fast.notes == slow.notes and fast.kind == slow.kind and fast_params.path == path


def _csv_params(path, params):
    return core.DATASETS.get("csv").cls.Params(path=path, **params)


@pytest.mark.parametrize("text", ["a,b\n1,2\n3,\n", "a,b\n1,2\n3,x\n", "a,b\n1,2\n3,4,5\n", 'a,b\n1,"2"\n3,4\n',
                                  "a,b\n1,2\n3,inf\n"])
def test_csv_arrow_fast_path_leaves_unusual_tables_to_the_cell_by_cell_reader(tmp_path, text):
    from core.data.files import csv_table

    path = write(tmp_path / "u.csv", text)
    assert csv_table._arrow_table(csv_table.existing_file(path), _csv_params(path, {})) is None
