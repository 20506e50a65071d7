"""A plain text file, one sentence per line, turned into token ids."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from core.data.base import DATASETS, PAD_ID, Dataset, DatasetSource
from core.data.files.common import existing_file, fail
from core.data.files.csv_table import decode
from core.params import BaseParams, param

WORD = re.compile(r"[\w']+", re.UNICODE)
UNKNOWN = "<unk>"


@DATASETS.register("text", kind="tokens", file=True, patterns=("*.txt",))
class TextLines(DatasetSource):
    """A text file with one sentence per line (optionally ``label<TAB>sentence``): lower-cased words become
    token ids; rare words share one ``<unk>`` id; sentences are cut to a maximum length."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="File", help="A UTF-8 or Latin-1 text file, one sentence per line.")
        labelled: bool = param(False, label="Lines start with a label", help="Format: label<TAB>sentence.")
        max_length: int = param(32, label="Longest sentence (words)", min=1, max=4096)
        min_count: int = param(1, label="Rarest word kept", min=1, help="Words seen fewer times become <unk>.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        text, encoding = decode(path.read_bytes(), "auto", path)
        labels, sentences = [], []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if p.labelled:
                if "\t" not in line:
                    raise fail(path, f"line {line_no} has no TAB between its label and its sentence")
                label, line = line.split("\t", 1)
                labels.append(label.strip())
            words = WORD.findall(line.lower())
            if not words:
                raise fail(path, f"line {line_no} has no words")
            sentences.append(words)
        if not sentences:
            raise fail(path, "holds no sentences")
        counts = Counter(w for s in sentences for w in s)
        vocab = [UNKNOWN] + sorted(w for w, c in counts.items() if c >= p.min_count)
        index = {w: i for i, w in enumerate(vocab)}
        X = np.full((len(sentences), p.max_length), PAD_ID, dtype=np.float32)
        cut = 0
        for i, words in enumerate(sentences):
            cut += len(words) > p.max_length
            ids = [index.get(w, 0) for w in words[: p.max_length]]
            X[i, : len(ids)] = ids
        y: np.ndarray | None = None
        names: tuple[str, ...] = ()
        if p.labelled:
            names = tuple(sorted(set(labels)))
            if len(names) < 2:
                raise fail(path, f"every line has the same label ({names[0]!r})", "A classifier needs two or more classes")
            y = np.array([names.index(label) for label in labels], dtype=np.int64)
        notes = [f"{cut} sentence(s) longer than {p.max_length} words were cut"] if cut else []
        if encoding == "latin-1":
            notes.append("the file is not UTF-8; it was read as Latin-1")
        return Dataset(name=path.stem, kind="tokens", X=X, y=y, label_names=names, vocab=tuple(vocab),
                       metadata={"length": np.array([len(s) for s in sentences])},
                       vocab_metadata={"count": np.array([counts.get(w, 0) for w in vocab])},
                       recommended_normalization="none", source=str(path), notes=tuple(notes),
                       description=f"{len(sentences)} sentences, {len(vocab)} words, from {path.name}")
