"""A graph from an edge list (CSV: source, target), with optional node labels."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import existing_file, fail
from core.data.files.csv_table import decode, sniff_delimiter
from core.params import BaseParams, param


def read_pairs(path, what: str) -> list[tuple[str, str]]:
    text, _ = decode(path.read_bytes(), "auto", path)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise fail(path, f"holds no {what}")
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=sniff_delimiter(lines), skipinitialspace=True))
    pairs = []
    for i, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise fail(path, f"line {i} has {len(row)} field(s); each line needs two: {what}")
        pairs.append((row[0].strip(), row[1].strip()))
    header = {pairs[0][0].lower(), pairs[0][1].lower()}
    if header & {"source", "target", "node", "label", "from", "to", "src", "dst", "id"}:
        pairs = pairs[1:]
    if not pairs:
        raise fail(path, f"has a header but no {what}")
    return pairs


@DATASETS.register("edge_list", kind="graph", file=True)
class EdgeList(DatasetSource):
    """A graph from an edge list: a CSV whose lines are ``source,target`` node names (a header and ``#``
    comments are skipped). Optional node labels come from a second CSV of ``node,label`` lines."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="Edge list", help="CSV with two columns: source, target.")
        labels_path: str | None = param(None, label="Node labels", help="CSV with two columns: node, label.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        pairs = read_pairs(path, "edges (source, target)")
        nodes: dict[str, int] = {}
        for a, b in pairs:
            nodes.setdefault(a, len(nodes))
            nodes.setdefault(b, len(nodes))
        edges = {tuple(sorted((nodes[a], nodes[b]))) for a, b in pairs if a != b}
        loops = sum(a == b for a, b in pairs)
        if not edges:
            raise fail(path, f"holds only self-loops ({loops} edge(s) from a node to itself), which are ignored, "
                       "so no edge is left", "A graph needs edges between two different nodes")
        notes = [f"{loops} self-loop(s) were ignored"] if loops else []
        if len(edges) < len(pairs) - loops:
            notes.append(f"{len(pairs) - loops - len(edges)} duplicate edge(s) were merged")
        y: np.ndarray | None = None
        names: tuple[str, ...] = ()
        if p.labels_path:
            lp = existing_file(p.labels_path, "labels file")
            node_labels = dict(read_pairs(lp, "node labels (node, label)"))
            missing = [n for n in nodes if n not in node_labels]
            if missing:
                raise fail(lp, f"has no label for {len(missing)} node(s), e.g. {missing[0]!r}")
            names = tuple(sorted(set(node_labels[n] for n in nodes)))
            y = np.array([names.index(node_labels[n]) for n in nodes], dtype=np.int64)
        n = len(nodes)
        edge_array = np.array(sorted(edges), dtype=np.int64).reshape(-1, 2)
        degree = np.bincount(edge_array.ravel(), minlength=n)
        return Dataset(name=path.stem, kind="graph", X=np.arange(n, dtype=np.float32)[:, None], y=y, label_names=names,
                       vocab=tuple(nodes), edges=edge_array, metadata={"degree": degree, "node": np.array(list(nodes))},
                       recommended_normalization="none", source=str(path), notes=tuple(notes),
                       description=f"{n} nodes and {len(edge_array)} edges from {path.name}")
