"""The adversarial pass: malformed inputs for every reader and for experiment files, fed to ``replearn train``.

Each case writes one bad file (or folder, or experiment) and an experiment that points at it; the CLI must answer
with exit code 2 and one line ``replearn: error: ...`` that names the file and the place (line, column, member,
key, ...), print no traceback, leave no run directory behind, and run nothing (the files that carry a pickle
would create a marker folder if they were ever unpickled).

    python bench/adversarial.py [--in-process] [--keep DIR]

``tests/core/test_adversarial_corpus.py`` runs every case in-process and a handful in real subprocesses.
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    name: str  # reader/what
    experiment: Path  # the experiment file handed to `replearn train`
    expect: tuple[str, ...]  # what the message must contain: the file's name and the place
    marker: Path | None = None  # a folder that appears only if code from the file ran


class Payload:
    """Unpickling this creates a folder: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


# ---- helpers that write files ------------------------------------------------------------------------------

def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, format="PNG")
    return buf.getvalue()


def _wav(path: Path, rate: int = 8000, frames: int = 800) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.zeros(frames, np.int16).tobytes())


def _idx(shape: tuple[int, ...], body: bytes | None = None, kind: int = 0x08) -> bytes:
    head = bytes([0, 0, kind, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)
    return head + (bytes(int(np.prod(shape))) if body is None else body)


def _truncated_parquet(folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": np.arange(100.0), "b": np.arange(100.0)}), folder / "t.parquet")
    data = (folder / "t.parquet").read_bytes()
    (folder / "t.parquet").write_bytes(data[: len(data) // 2])


def _base_toml(out: Path) -> str:
    return f"""schema_version = 1
name = "adversarial"

[data]
name = "digits"

[encoder]
name = "mlp"

[encoder.params]
hidden = [8]
out_dim = 4

[objective]
name = "supervised"

[training]
epochs = 1
batch_size = 16
device = "cpu"
diagnostics_every = 0
probe_every = 0
snapshot_every = 0

[output]
root = "{out}"
"""


class Corpus:
    """Builds the cases in a folder; ``out`` is where any run directory would appear."""

    def __init__(self, root: Path):
        self.root = root
        self.out = root / "runs"
        self.cases: list[Case] = []

    def _folder(self, name: str) -> Path:
        folder = self.root / name.replace("/", "_")
        folder.mkdir(parents=True)
        return folder

    def data(self, name: str, reader: str, files: Callable[[Path], dict], expect: tuple[str, ...],
             marker: bool = False) -> None:
        """A case: ``files(folder)`` writes the bad input and returns the reader's params (paths relative to the
        folder are fine: the experiment lives there too)."""
        folder = self._folder(name)
        mark = folder / "CODE-RAN" if marker else None
        params = files(folder) if not marker else files(folder, mark)
        lines = [f"{k} = {json.dumps(v)}" for k, v in params.items()]
        toml = _base_toml(self.out).replace('[data]\nname = "digits"\n',
                                            f'[data]\nname = "{reader}"\n\n[data.params]\n' + "\n".join(lines) + "\n")
        exp = folder / "experiment.toml"
        exp.write_text(toml)
        self.cases.append(Case(name, exp, expect, mark))

    def config(self, name: str, edit: Callable[[str], str | bytes], expect: tuple[str, ...]) -> None:
        folder = self._folder(name)
        exp = folder / "experiment.toml"
        text = edit(_base_toml(self.out))
        exp.write_bytes(text if isinstance(text, bytes) else text.encode())
        self.cases.append(Case(name, exp, ("experiment.toml", *expect)))


def build_corpus(root: Path) -> list[Case]:
    c = Corpus(root)

    def csv(text: str | bytes, **params):
        def write(folder: Path) -> dict:
            (folder / "t.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
            return {"path": "t.csv", **params}
        return write

    labelled = {"label_column": "label"}
    # ---- CSV -------------------------------------------------------------------------------------------
    c.data("csv/empty", "csv", csv(b""), ("t.csv", "is empty"))
    c.data("csv/blank-lines", "csv", csv("\n \n\n"), ("t.csv", "only blank lines"))
    c.data("csv/header-only", "csv", csv("a,b,label\n"), ("t.csv", "has a header but no data rows"))
    c.data("csv/ragged-after-blank-lines", "csv", csv("a,b,label\n1,2,x\n\n3,4\n", **labelled), ("t.csv", "line 4"))
    c.data("csv/text-in-feature", "csv", csv("a,b,label\n1,2,x\n3,abc,y\n", **labelled), ("t.csv", "'b'", "line 3"))
    c.data("csv/missing-value", "csv", csv("a,b,label\n1,2,x\n3,,y\n", **labelled), ("t.csv", "line 3", "column 'b'"))
    c.data("csv/infinity", "csv", csv("a,b,label\n1,2,x\n3,inf,y\n", **labelled), ("t.csv", "line 3", "column 'b'"))
    c.data("csv/nan-text", "csv", csv("a,b,label\n1,nan,x\n3,4,y\n", **labelled), ("t.csv", "line 2", "column 'b'"))
    c.data("csv/one-class", "csv", csv("a,b,label\n1,2,x\n3,4,x\n", **labelled), ("t.csv", "label column 'label'"))
    c.data("csv/no-label-column", "csv", csv("a,b,c\n1,2,3\n4,5,6\n", **labelled), ("t.csv", "no label column 'label'"))
    c.data("csv/missing-label", "csv", csv("a,b,label\n1,2,x\n3,4,\n", **labelled), ("t.csv", "line 3", "'label'"))
    c.data("csv/not-utf8", "csv", csv(b"a,b,label\n1,2,caf\xe9\n", encoding="utf-8", **labelled),
           ("t.csv", "not UTF-8", "byte"))
    c.data("csv/multi-line-cell", "csv", csv('a,b,label\n1,2,"x\ny"\n3,oops,y\n', **labelled), ("t.csv", "line 4"))
    c.data("csv/decimal-commas-wrong-delimiter", "csv", csv("a;b;label\n1,5;2,5;x\n3,5;4,5;y\n", delimiter=",",
                                                            **labelled), ("t.csv", "line 2", "delimited by ';'"))
    c.data("csv/all-rows-dropped", "csv", csv("a,b,label\n1,,x\n,4,y\n", missing="drop_rows", **labelled),
           ("t.csv", "no rows are left"))
    c.data("csv/only-label-and-metadata", "csv", csv("label,name\nx,a\ny,b\n", metadata_columns=["name"], **labelled),
           ("t.csv", "no feature columns"))
    c.data("csv/missing-file", "csv", lambda folder: {"path": "nowhere.csv"}, ("nowhere.csv", "no such file"))
    c.data("csv/a-folder", "csv", lambda folder: (folder / "d.csv").mkdir() or {"path": "d.csv"},
           ("d.csv", "is a folder"))
    c.data("csv/unknown-metadata-column", "csv", csv("a,b,label\n1,2,x\n3,4,y\n", metadata_columns=["nope"],
                                                     **labelled), ("t.csv", "no metadata column 'nope'"))

    # ---- NumPy -----------------------------------------------------------------------------------------
    def npfile(name: str, data: bytes | Callable[[Path], bytes], **params):
        def write(folder: Path, marker: Path | None = None) -> dict:
            blob = data(marker) if callable(data) else data
            (folder / name).write_bytes(blob)
            return {"path": name, **params}
        return write

    X = np.zeros((20, 3), np.float32)
    c.data("npy/not-numpy", "npy", npfile("x.npy", b"hello, I am text"), ("x.npy", "not a NumPy file"))
    c.data("npy/truncated", "npy", npfile("x.npy", _npy(X)[:90]), ("x.npy", "not a valid NumPy file"))
    c.data("npy/pickled-objects", "npy",
           npfile("x.npy", lambda m: _npy(np.array([Payload(str(m)), 1], dtype=object))),
           ("x.npy", "Python objects"), marker=True)
    c.data("npy/complex", "npy", npfile("x.npy", _npy(X.astype(np.complex64))), ("x.npy", "complex"))
    c.data("npy/structured", "npy", npfile("x.npy", _npy(np.zeros(5, dtype=[("a", "f4"), ("b", "i4")]))),
           ("x.npy", "structured array"))
    c.data("npy/one-dimensional", "npy", npfile("x.npy", _npy(np.zeros(10, np.float32))), ("x.npy", "1-D array"))
    c.data("npy/strings", "npy", npfile("x.npy", _npy(np.array([["a", "b"]] * 4))), ("x.npy", "not numbers"))
    c.data("npy/image-kind-2d", "npy", npfile("x.npy", _npy(X), kind="image"), ("x.npy", "must be 3-D"))

    def npz(members: dict[str, bytes], **params):
        def write(folder: Path, marker: Path | None = None) -> dict:
            with zipfile.ZipFile(folder / "a.npz", "w") as z:
                for name, blob in members.items():
                    z.writestr(name, blob(marker) if callable(blob) else blob)
            return {"path": "a.npz", **params}
        return write

    c.data("npz/no-arrays", "npy", npz({"readme.txt": b"hi"}), ("a.npz", "no arrays"))
    c.data("npz/member-not-npy", "npy", npz({"X.npy": _npy(X), "readme.txt": b"hi"}, array="readme.txt"),
           ("a.npz", "member 'readme.txt'", "not a NumPy array"))
    c.data("npz/path-climbs-out", "npy", npz({"../../X.npy": _npy(X)}), ("a.npz", "'../../X.npy'", "leaves the archive"))
    c.data("npz/absolute-member", "npy", npz({"/etc/X.npy": _npy(X)}), ("a.npz", "'/etc/X.npy'", "leaves the archive"))
    c.data("npz/missing-member", "npy", npz({"X.npy": _npy(X)}, array="Z"), ("a.npz", "no array 'Z'"))
    c.data("npz/pickled-member", "npy",
           npz({"X.npy": lambda m: _npy(np.array([Payload(str(m))], dtype=object))}),
           ("a.npz", "Python objects"), marker=True)
    c.data("npz/labels-wrong-length", "npy", npz({"X.npy": _npy(X), "y.npy": _npy(np.arange(7))}, labels_array="y"),
           ("a.npz", "labels of shape (7,)", "20 samples"))
    c.data("npz/damaged-zip", "npy", npfile("a.npz", b"PK\x03\x04" + b"\x00" * 40), ("a.npz", "not a valid .npz"))

    def with_labels(labels: bytes | Callable[[Path], bytes]):
        def write(folder: Path, marker: Path | None = None) -> dict:
            (folder / "x.npy").write_bytes(_npy(X))
            (folder / "y.npy").write_bytes(labels(marker) if callable(labels) else labels)
            return {"path": "x.npy", "labels_path": "y.npy"}
        return write

    c.data("npy/labels-pickled", "npy", with_labels(lambda m: _npy(np.array([Payload(str(m))], dtype=object))),
           ("y.npy", "Python objects"), marker=True)
    c.data("npy/labels-2d", "npy", with_labels(_npy(np.zeros((20, 2)))), ("y.npy", "labels of shape (20, 2)"))
    c.data("npy/labels-float", "npy", with_labels(_npy(np.linspace(0, 1, 20))), ("y.npy", "not class ids"))

    # ---- image folders ---------------------------------------------------------------------------------
    def images(layout: dict[str, bytes | None]):
        def write(folder: Path) -> dict:
            root = folder / "images"
            root.mkdir()
            for rel, blob in layout.items():
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if blob is not None:
                    target.write_bytes(blob)
            return {"path": "images", "size": 8}
        return write

    good = _png()
    c.data("images/no-class-folders", "image_folder", images({"a.png": good}), ("images", "no class folders"))
    c.data("images/empty-class", "image_folder", images({"cats/a.png": good, "dogs/notes.txt": b"x"}),
           ("dogs", "empty class folder"))
    c.data("images/not-an-image", "image_folder", images({"cats/a.png": good, "dogs/b.png": b"not a png"}),
           ("b.png",))
    c.data("images/truncated", "image_folder", images({"cats/a.png": good, "dogs/b.png": good[:40]}), ("b.png",))
    bomb = _png((12000, 12000))  # 144 megapixels, a few KB of PNG: over Pillow's decompression-bomb limit
    c.data("images/decompression-bomb", "image_folder", images({"cats/a.png": good, "dogs/bomb.png": bomb}),
           ("bomb.png",))
    c.data("images/a-file", "image_folder", lambda folder: (folder / "f").write_bytes(b"x") and {"path": "f"},
           ("f", "is a file, not a folder"))

    # ---- IDX -------------------------------------------------------------------------------------------
    def idx(blob: bytes, labels: bytes | None = None, name: str = "imgs-idx3-ubyte"):
        def write(folder: Path) -> dict:
            (folder / name).write_bytes(blob)
            params = {"path": name}
            if labels is not None:
                (folder / "labels-idx1-ubyte").write_bytes(labels)
                params["labels_path"] = "labels-idx1-ubyte"
            return params
        return write

    c.data("idx/bad-magic", "idx", idx(b"\x12\x34\x56\x78" + bytes(100)), ("imgs-idx3-ubyte", "bad magic number"))
    c.data("idx/truncated-header", "idx", idx(b"\x00\x00\x08\x03\x00\x00"), ("imgs-idx3-ubyte", "inside its header"))
    c.data("idx/truncated-body", "idx", idx(_idx((10, 4, 4))[:-30]), ("imgs-idx3-ubyte", "is truncated", "(10, 4, 4)"))
    c.data("idx/trailing-bytes", "idx", idx(_idx((10, 4, 4)) + b"extra"), ("imgs-idx3-ubyte", "trailing bytes"))
    c.data("idx/damaged-gzip", "idx", idx(b"\x1f\x8b\x08\x00" + bytes(30), name="imgs.gz"), ("imgs.gz", "damaged gzip"))
    c.data("idx/gzip-bomb", "idx", idx(gzip.compress(_idx((10, 4, 4)) + bytes(50_000_000)), name="imgs.gz"),
           ("imgs.gz", "trailing bytes", "(10, 4, 4)"))
    c.data("idx/huge-declared-size", "idx", idx(gzip.compress(_idx((2**31, 1000, 1000), bytes(100))), name="imgs.gz"),
           ("imgs.gz", "(2147483648, 1000, 1000)", "needs"))
    c.data("idx/two-dimensional", "idx", idx(_idx((10, 16))), ("imgs-idx3-ubyte", "2-D array"))
    c.data("idx/labels-count", "idx", idx(_idx((10, 4, 4)), labels=_idx((9,))), ("labels-idx1-ubyte", "for 10 images"))

    # ---- WAV folders -----------------------------------------------------------------------------------
    def wavs(layout: dict[str, Callable[[Path], None] | bytes | None]):
        def write(folder: Path) -> dict:
            root = folder / "audio"
            root.mkdir()
            for rel, make in layout.items():
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if callable(make):
                    make(target)
                elif make is not None:
                    target.write_bytes(make)
            return {"path": "audio"}
        return write

    def truncated_wav(path: Path) -> None:
        _wav(path)
        path.write_bytes(path.read_bytes()[:200])

    c.data("wav/no-class-folders", "wav_folder", wavs({"a.wav": _wav}), ("audio", "no class folders"))
    c.data("wav/empty-class", "wav_folder", wavs({"low/a.wav": _wav, "high/readme.txt": b"x"}),
           ("high", "empty class folder"))
    c.data("wav/not-a-wav", "wav_folder", wavs({"low/a.wav": _wav, "high/b.wav": b"RIFF....not really"}),
           ("b.wav", "not a PCM WAV file"))
    c.data("wav/truncated", "wav_folder", wavs({"low/a.wav": _wav, "high/b.wav": truncated_wav}),
           ("b.wav", "truncated"))
    c.data("wav/mixed-rates", "wav_folder",
           wavs({"low/a.wav": _wav, "high/b.wav": lambda p: _wav(p, rate=16000)}), ("audio", "mixes sample rates"))

    # ---- text ------------------------------------------------------------------------------------------
    def text(body: str, **params):
        def write(folder: Path) -> dict:
            (folder / "s.txt").write_text(body)
            return {"path": "s.txt", **params}
        return write

    c.data("text/no-sentences", "text", text("\n  \n\n"), ("s.txt", "no sentences"))
    c.data("text/no-tab", "text", text("a\tthe cat\nb\tthe dog\nthe bird\n", labelled=True), ("s.txt", "line 3", "TAB"))
    c.data("text/no-words", "text", text("the cat\n!!! ???\n"), ("s.txt", "line 2", "no words"))
    c.data("text/one-label", "text", text("a\tthe cat\na\tthe dog\n", labelled=True), ("s.txt", "same label"))

    # ---- edge lists ------------------------------------------------------------------------------------
    def edges(body: str, labels: str | None = None):
        def write(folder: Path) -> dict:
            (folder / "e.csv").write_text(body)
            params = {"path": "e.csv"}
            if labels is not None:
                (folder / "n.csv").write_text(labels)
                params["labels_path"] = "n.csv"
            return params
        return write

    c.data("edges/one-field", "edge_list", edges("a,b\nc\n"), ("e.csv", "line 2", "1 field"))
    c.data("edges/header-only", "edge_list", edges("source,target\n"), ("e.csv", "header but no"))
    c.data("edges/only-comments", "edge_list", edges("# nothing\n# here\n"), ("e.csv", "holds no edges"))
    c.data("edges/self-loops-only", "edge_list", edges("a,a\nb,b\n"), ("e.csv", "only self-loops"))
    c.data("edges/unlabelled-node", "edge_list", edges("a,b\nb,c\n", labels="a,x\nb,y\n"), ("n.csv", "'c'"))

    # ---- projector -------------------------------------------------------------------------------------
    def projector(vectors: str, metadata: str | None = None, **params):
        def write(folder: Path) -> dict:
            (folder / "vectors.tsv").write_text(vectors)
            out = {"path": "vectors.tsv", **params}
            if metadata is not None:
                (folder / "metadata.tsv").write_text(metadata)
                out["metadata_path"] = "metadata.tsv"
            return out
        return write

    c.data("projector/blank-vectors", "projector", projector("\n\n \n"), ("vectors.tsv", "no vectors"))
    c.data("projector/ragged", "projector", projector("1\t2\n3\t4\t5\n"), ("vectors.tsv", "line 2", "3 values"))
    c.data("projector/not-a-number", "projector", projector("1\t2\nx\t4\n"), ("vectors.tsv", "line 2", "'x'"))
    c.data("projector/metadata-count", "projector", projector("1\t2\n3\t4\n", "a\n"), ("metadata.tsv", "1 rows"))
    c.data("projector/blank-metadata", "projector", projector("1\t2\n3\t4\n", "\n\n"), ("metadata.tsv", "no metadata"))
    c.data("projector/missing-label-column", "projector", projector("1\t2\n3\t4\n", "k\tv\na\tb\nc\td\n",
                                                                  label_column="zz"), ("metadata.tsv", "'zz'"))

    # ---- Parquet ---------------------------------------------------------------------------------------
    def parquet(columns: dict | bytes, **params):
        def write(folder: Path) -> dict:
            if isinstance(columns, bytes):
                (folder / "t.parquet").write_bytes(columns)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table(columns), folder / "t.parquet")
            return {"path": "t.parquet", **params}
        return write

    c.data("parquet/not-parquet", "parquet", parquet(b"a,b\n1,2\n"), ("t.parquet", "not a Parquet file"))
    c.data("parquet/truncated", "parquet", lambda folder: _truncated_parquet(folder) or {"path": "t.parquet"},
           ("t.parquet", "not a Parquet file"))
    c.data("parquet/no-label-column", "parquet", parquet({"a": [1.0, 2.0], "b": [3.0, 4.0]}, label_column="label"),
           ("t.parquet", "no label column 'label'"))
    c.data("parquet/text-feature", "parquet", parquet({"a": [1.0, 2.0], "b": ["x", "y"]}, feature_columns=["a", "b"]),
           ("t.parquet", "feature column 'b'", "not numbers"))
    c.data("parquet/ragged-vectors", "parquet", parquet({"v": [[1.0, 2.0], [3.0]]}, vector_column="v"),
           ("t.parquet", "'v'", "different lengths"))
    c.data("parquet/missing-vector", "parquet", parquet({"v": [[1.0, 2.0], None]}, vector_column="v"),
           ("t.parquet", "row 2", "missing"))
    c.data("parquet/no-rows", "parquet", parquet({"a": np.zeros(0), "b": np.zeros(0)}), ("t.parquet", "no rows"))

    # ---- Hugging Face save_to_disk folders -------------------------------------------------------------
    def hf(layout: dict[str, bytes]):
        def write(folder: Path) -> dict:
            root = folder / "ds"
            root.mkdir()
            for rel, blob in layout.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(blob)
            return {"path": "ds"}
        return write

    c.data("hf/no-arrow-files", "hf_arrow", hf({"dataset_info.json": b"{}"}), ("ds", "no data-*.arrow files"))
    c.data("hf/garbage-arrow", "hf_arrow", hf({"data-00000-of-00001.arrow": b"not arrow at all"}),
           ("data-00000-of-00001.arrow", "not an Arrow file"))
    c.data("hf/bad-dataset-dict", "hf_arrow", hf({"dataset_dict.json": b"{not json"}),
           ("dataset_dict.json", "not readable JSON"))
    c.data("hf/unknown-split", "hf_arrow", hf({"dataset_dict.json": b'{"splits": ["shuffled"]}'}),
           ("dataset_dict.json", "'shuffled'"))
    c.data("hf/state-names-missing-file", "hf_arrow",
           hf({"state.json": b'{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}'}),
           ("data-00000-of-00001.arrow", "listed in state.json but missing"))

    # ---- experiment files ------------------------------------------------------------------------------
    c.config("toml/malformed", lambda t: t.replace("[training]", "[training"), ("not valid TOML", "line"))
    c.config("toml/not-utf8", lambda t: t.encode() + b"\n# \xff\xfe\n", ("not a UTF-8 text file",))
    c.config("toml/lr-out-of-range", lambda t: t.replace("epochs = 1", "epochs = 1\nlr = 0"), ("training.lr",))
    c.config("toml/typo", lambda t: t.replace("epochs = 1", "epocs = 1"), ("training.epocs", "did you mean 'epochs'"))
    c.config("toml/wrong-type", lambda t: t.replace("epochs = 1", 'epochs = "ten"'), ("training.epochs", "'ten'"))
    c.config("toml/newer-schema", lambda t: t.replace("schema_version = 1", "schema_version = 99"), ("schema_version",))
    c.config("toml/unknown-dataset", lambda t: t.replace('name = "digits"', 'name = "digitz"'), ("data.name", "'digitz'"))
    c.config("toml/batch-larger-than-data", lambda t: t.replace("batch_size = 16", "batch_size = 5000"),
             ("training.batch_size", "5000"))
    c.config("toml/unknown-section", lambda t: t + "\n[trainig]\nepochs = 2\n", ("trainig",))
    c.config("toml/negative-hidden", lambda t: t.replace("hidden = [8]", "hidden = [8, -3]"), ("encoder.params.hidden",))
    c.config("toml/incompatible-objective", lambda t: t.replace('name = "supervised"', 'name = "edge_prediction"'),
             ("edge_prediction",))
    return c.cases


# ---- running a case ------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    case: Case
    code: int
    stderr: str
    seconds: float
    problems: list[str] = dataclasses.field(default_factory=list)


def check(case: Case, code: int, stderr: str, out: Path, seconds: float) -> Outcome:
    o = Outcome(case, code, stderr, seconds)
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("replearn: note:")]
    if code != 2:
        o.problems.append(f"exit code {code}, not 2")
    if "Traceback" in stderr or "internal error" in stderr:
        o.problems.append("a traceback or an internal error")
    if len(lines) != 1 or not lines[0].startswith("replearn: error: "):
        o.problems.append(f"not one line 'replearn: error: ...' ({len(lines)} lines)")
    missing = [e for e in case.expect if e not in stderr]
    if missing:
        o.problems.append(f"the message lacks {missing}")
    if out.exists() and any(out.iterdir()):
        o.problems.append(f"left {[p.name for p in out.iterdir()]} in the runs folder")
    if case.marker is not None and case.marker.exists():
        o.problems.append("CODE FROM THE FILE RAN")
    return o


def run_in_process(case: Case, out: Path) -> Outcome:
    from core.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    t = time.perf_counter()
    code = main(["train", str(case.experiment), "--out", str(out)], out=stdout, err=stderr)
    return check(case, code, stderr.getvalue(), out, time.perf_counter() - t)


def run_in_subprocess(case: Case, out: Path) -> Outcome:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "core.cli", "train", str(case.experiment), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=case.experiment.parent)
    return check(case, proc.returncode, proc.stderr, out, time.perf_counter() - t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-process", action="store_true", help="call core.cli.main instead of a subprocess each")
    parser.add_argument("--keep", metavar="DIR", help="build the corpus here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        cases = build_corpus(root)
        readers: dict[str, list[Outcome]] = {}
        for case in cases:
            o = (run_in_process if args.in_process else run_in_subprocess)(case, root / "runs")
            readers.setdefault(case.name.split("/")[0], []).append(o)
            mark = "ok  " if not o.problems else "FAIL"
            first = o.stderr.strip().splitlines()[-1] if o.stderr.strip() else ""
            print(f"{mark} {case.name:<40} {o.seconds:5.1f}s  {first[:150]}")
            for p in o.problems:
                print(f"       {p}")
        total = sum(len(v) for v in readers.values())
        failed = sum(1 for v in readers.values() for o in v if o.problems)
        print(f"\n{total} malformed inputs, {total - failed} answered as required, {failed} not")
        print("  " + ", ".join(f"{k}: {len(v)}" for k, v in readers.items()))
        print(f"  pickled payloads: {sum(1 for c in cases if c.marker)}, run: "
              f"{sum(1 for c in cases if c.marker and c.marker.exists())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
