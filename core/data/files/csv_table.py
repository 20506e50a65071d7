"""CSV / TSV tables: one sample per row, a label column, metadata columns, and an explicit missing-value policy."""
from __future__ import annotations

import csv
import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource, split_codes
from core.data.files.arrow import load_arrow
from core.data.files.common import check_fits_in_memory, existing_file, fail
from core.params import BaseParams, param

MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
DELIMITERS = {"auto": None, ",": ",", ";": ";", "tab": "\t", "|": "|", "space": " "}
_SHOWN = {"\t": "tab", " ": "space"}


def decode(raw: bytes, encoding: str, path) -> tuple[str, str]:
    """Text and the encoding used: a UTF-8 BOM is dropped; ``auto`` falls back to Latin-1 for non-UTF-8 bytes."""
    if encoding in ("auto", "utf-8"):
        try:
            return raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as err:
            if encoding == "utf-8":
                raise fail(path, f"is not UTF-8 text (byte {err.start})", "Set encoding = \"latin-1\"") from None
    return raw.decode("latin-1"), "latin-1"


DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")  # 1,5 / -0,25 / 3,1e-2


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits every sampled line (the header included) into the same number of fields;
    among several, csv.Sniffer's choice. A file of ``1,5;2,25`` rows (decimal commas) is ';'-delimited."""
    sample = [line for line in lines[:50] if '"' not in line] or lines[:50]
    consistent = [d for d in ",\t;|" if len({line.count(d) for line in sample}) == 1 and sample[0].count(d)]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t|").delimiter
    except csv.Error:
        sniffed = None
    if sniffed in consistent or (sniffed and not consistent):
        return sniffed
    if consistent:
        return consistent[0]
    counts = {d: sum(line.count(d) for line in lines[:50]) for d in ",;\t|"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return cell.strip().lower() in MISSING or bool(DECIMAL_COMMA.match(cell))


def numbered_rows(text: str, delim: str) -> tuple[list[list[str]], list[int]]:
    """The rows of a table and the line of the file each starts on (1-based), counting blank lines and the
    lines of quoted cells that span several, so messages point where an editor shows the row."""
    lines = text.splitlines(keepends=True)
    if '"' not in text and delim != " ":  # no quoting to honour: a plain split is 4x faster than csv.reader
        numbered = [(i, line.rstrip("\r\n")) for i, line in enumerate(lines, start=1) if line.strip()]
        rows = [line.split(delim) for _, line in numbered]
        if delim + " " in text:  # what csv.reader's skipinitialspace would have dropped
            rows = [[cell.lstrip(" ") for cell in row] for row in rows]
        return rows, [i for i, _ in numbered]
    rows, starts = [], []
    reader = csv.reader(lines, delimiter=delim, skipinitialspace=delim != " ")
    previous = 0
    for row in reader:
        if row and not (len(row) == 1 and not row[0].strip()):
            rows.append(row)
            starts.append(previous + 1)
        previous = reader.line_num
    return rows, starts


def looks_like_header(rows: list[list[str]]) -> bool:
    """A first row with a non-numeric cell over a column whose other cells are numbers is a header."""
    if len(rows) < 2:
        return not all(is_number(c) for c in rows[0])
    first, rest = rows[0], rows[1:20]
    for j, cell in enumerate(first):
        if not is_number(cell) and all(j < len(r) and is_number(r[j]) for r in rest):
            return True
    return all(not is_number(c) for c in first) and any(is_number(c) for r in rest for c in r)


@DATASETS.register("csv", kind="tabular", file=True, patterns=("*.csv", "*.tsv"))
class CsvTable(DatasetSource):
    """A CSV or TSV table: one sample per row, numeric feature columns, optionally a label column and
    metadata columns (kept for colouring and search). The delimiter and the header are detected unless set;
    missing values follow an explicit policy (refuse, drop the rows, or impute the column mean)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="File", help="A .csv, .tsv or .txt table.")
        delimiter: Literal["auto", ",", ";", "tab", "|", "space"] = param("auto", label="Delimiter")
        header: Literal["auto", "yes", "no"] = param("auto", label="Header row")
        label_column: str | None = param(None, label="Label column",
                                         help="Column name (or 0-based number without a header); empty = no labels.")
        metadata_columns: tuple[str, ...] = param((), label="Metadata columns",
                                                  help="Columns kept for colouring and search, not used as features.")
        missing: Literal["refuse", "drop_rows", "impute_mean"] = param(
            "refuse", label="Missing values", help="refuse: stop with the first one; drop_rows: skip those rows; "
                                                   "impute_mean: fill with the column mean.")
        encoding: Literal["auto", "utf-8", "latin-1"] = param("auto", label="Text encoding")
        split_column: str | None = param(None, label="Split column",
                                         help="A column saying which split each row belongs to (train, val / "
                                              "validation / dev, test): the data set's own split. Empty = none.")
        kind: Literal["tabular", "sequence", "embeddings"] = param(
            "tabular", label="Data kind", help="sequence: each row is a 1-D signal; embeddings: precomputed vectors.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        fast = _arrow_table(path, p)
        if fast is not None:
            return fast
        raw = path.read_bytes()
        check_fits_in_memory(path, len(raw) * 24, "this table")  # measured: ~21 bytes of Python objects per byte of text
        text, used_encoding = decode(raw, p.encoding, path)
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise fail(path, "holds no rows (only blank lines)")
        delim = DELIMITERS[p.delimiter] or sniff_delimiter(lines)
        try:
            rows, line_numbers = numbered_rows(text, delim)
        except csv.Error as err:
            raise fail(path, f"is not a readable table ({err})", "Check for an unbalanced quote") from None
        if not rows:
            raise fail(path, "holds no rows (only blank lines)")
        named = [n for n in (p.label_column, *p.metadata_columns) if n and not n.isdigit()]
        names_first_row = bool(named) and all(n in [c.strip() for c in rows[0]] for n in named)
        has_header = p.header == "yes" or (p.header == "auto" and (names_first_row or looks_like_header(rows)))
        names = [c.strip() for c in rows[0]] if has_header else [str(j) for j in range(len(rows[0]))]
        body = rows[1:] if has_header else rows
        body_lines = line_numbers[1:] if has_header else line_numbers
        if not body:
            raise fail(path, "has a header but no data rows")
        width = len(names)
        for r, row in enumerate(body):
            if len(row) != width:
                line_no = body_lines[r]
                guess = sniff_delimiter(lines)
                hint = (f"The file seems to be delimited by {_SHOWN.get(guess, guess)!r}: set delimiter"
                        + (" (its commas are decimal commas)" if guess != "," and "," in lines[-1] else "")
                        if guess != delim else
                        "Every row needs the same number of fields; check for a stray delimiter or quote")
                raise fail(path, f"line {line_no} has {len(row)} fields, but {'the header' if has_header else 'line 1'} "
                           f"has {width} (delimiter {_SHOWN.get(delim, delim)!r})", hint)

        def column(name: str, role: str) -> int:
            if name in names:
                return names.index(name)
            if not has_header and name.isdigit() and int(name) < width:
                return int(name)
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            others = [d for d in ",;\t|" if d != delim and len(rows[0]) == 1 and d in rows[0][0]
                      and name in [c.strip() for c in rows[0][0].split(d)]]
            if others:  # the header splits at another delimiter into names that include it
                hint = f"The file seems to be delimited by {_SHOWN.get(others[0], others[0])!r}: set delimiter. "
            raise fail(path, f"has no {role} column {name!r}", f"{hint}Columns: {', '.join(names[:20])}")

        label_j = column(p.label_column, "label") if p.label_column else None
        meta_js = [column(m, "metadata") for m in p.metadata_columns]
        split_j = column(p.split_column, "split") if p.split_column else None
        feature_js = [j for j in range(width) if j not in (label_j, split_j) and j not in meta_js]
        if not feature_js:
            raise fail(path, "has no feature columns left after the label and metadata columns")
        X, keep, notes = self._features(path, body, names, feature_js, body_lines)
        if not keep.any():
            raise fail(path, "no rows are left after dropping those with missing values")
        labels = None
        label_names: tuple[str, ...] = ()
        if label_j is not None:
            cells = [row[label_j].strip() for row in body]
            for r, c in enumerate(cells):
                if c.lower() in MISSING and keep[r]:
                    if p.missing == "drop_rows":
                        keep[r] = False
                    else:
                        raise fail(path, f"line {body_lines[r]}: the label ({names[label_j]!r}) is missing",
                                   "Fill it in, or set missing = \"drop_rows\"")
            kept = [c for c, k in zip(cells, keep, strict=True) if k]
            label_names, labels = _encode_labels(kept)
            if len(label_names) < 2:
                raise fail(path, f"the label column {names[label_j]!r} holds one class only ({label_names[0]!r})",
                           "A classifier needs two or more classes; leave label_column empty to train without labels")
            counts = np.bincount(labels, minlength=len(label_names))
            singles = [label_names[k] for k in np.flatnonzero(counts == 1)]
            if singles:
                notes.append(f"class(es) {', '.join(map(repr, singles[:5]))} have a single sample: the splits cannot be "
                             "stratified and fall back to a random split")
        X = X[keep]
        if len(X) == 0:
            raise fail(path, "no rows are left after dropping those with missing values")
        metadata = {names[j]: _metadata_column([row[j] for row, k in zip(body, keep, strict=True) if k])
                    for j in meta_js}
        split = None
        if split_j is not None:
            split = split_codes([row[split_j] for row, k in zip(body, keep, strict=True) if k],
                                f"{path}, column {names[split_j]!r}")
        if used_encoding == "latin-1" and p.encoding == "auto":
            notes.append("the file is not UTF-8; it was read as Latin-1")
        X = X.reshape(len(X), 1, -1) if p.kind == "sequence" else X
        return Dataset(name=path.stem, kind=p.kind, X=X, y=labels, label_names=label_names, metadata=metadata,
                       feature_names=tuple(names[j] for j in feature_js), recommended_normalization="standardize",
                       description=f"{len(X)} rows x {len(feature_js)} features from {path.name}", source=str(path),
                       notes=tuple(notes), split=split)

    def _features(self, path, body, names, feature_js, body_lines):
        fast = _fast_parse(body, feature_js)
        if fast is not None:
            return fast, np.ones(len(body), dtype=bool), _constant_notes(fast, names, feature_js)
        return self._parse_cells(path, body, names, feature_js, body_lines)

    def _parse_cells(self, path, body, names, feature_js, body_lines):
        """Cell by cell, so that every bad or missing value can be reported by line and column."""
        p = self.params
        n = len(body)
        X = np.empty((n, len(feature_js)), dtype=np.float32)
        keep = np.ones(n, dtype=bool)
        bad_columns: dict[str, tuple[int, str]] = {}
        missing_cells = []
        decimal_commas = 0
        for r, row in enumerate(body):
            for k, j in enumerate(feature_js):
                cell = row[j].strip()
                try:
                    v = float(cell)
                except ValueError:
                    if DECIMAL_COMMA.match(cell):  # 1,5 in a ';'-delimited file: a decimal comma
                        v = float(cell.replace(",", "."))
                        decimal_commas += 1
                    elif cell.lower() in MISSING:
                        v = math.nan
                        missing_cells.append((r, j))
                    else:
                        bad_columns.setdefault(names[j], (body_lines[r], cell))
                        continue
                else:
                    if math.isnan(v):
                        missing_cells.append((r, j))
                    elif math.isinf(v):
                        raise fail(path, f"line {body_lines[r]}, column {names[j]!r}: {cell!r} is not a finite number",
                                   "Replace infinite values before loading")
                X[r, k] = v
        if bad_columns:
            parts = [f"{c!r} (line {line}: {value!r})" for c, (line, value) in list(bad_columns.items())[:5]]
            single = len(names) == 1
            hint = ("Every line has a single field: is the delimiter right?" if single else
                    "Mark them as label_column or metadata_columns, or convert them to numbers")
            raise fail(path, f"non-numeric feature column(s) {', '.join(parts)}", hint)
        notes: list[str] = []
        if decimal_commas:
            notes.append(f"{decimal_commas} number(s) written with a decimal comma (1,5) were read as 1.5")
        if missing_cells:
            r, j = missing_cells[0]
            if p.missing == "refuse":
                raise fail(path, f"{len(missing_cells)} missing value(s), the first at line {body_lines[r]}, "
                           f"column {names[j]!r}", "Set missing = \"drop_rows\" or \"impute_mean\" to load it anyway")
            if p.missing == "drop_rows":
                rows_hit = sorted({r for r, _ in missing_cells})
                keep[rows_hit] = False
                notes.append(f"{len(rows_hit)} row(s) with missing values were dropped")
            else:
                means = np.nanmean(X, axis=0)
                if np.isnan(means).any():
                    empty = [names[feature_js[k]] for k in np.flatnonzero(np.isnan(means))]
                    raise fail(path, f"column(s) {', '.join(map(repr, empty))} have no values at all to impute from")
                rr, kk = np.nonzero(np.isnan(X))
                X[rr, kk] = means[kk]
                notes.append(f"{len(missing_cells)} missing value(s) were replaced by their column's mean")
        if keep.any():
            notes += _constant_notes(X[keep], names, feature_js)
        return X, keep, notes


SAMPLE_BYTES = 1 << 16  # enough lines to sniff the delimiter and the header


def _arrow_table(path, p) -> Dataset | None:
    """The common case — every feature cell a finite number, no missing labels — parsed by pyarrow's
    multi-threaded reader straight into columns (measured in bench/load.py: faster than pandas, with a fraction
    of the Python reader's memory). Anything unusual returns ``None``, and the cell-by-cell reader below, which
    names every bad cell by line and column, reads the file instead; both give the same Dataset."""
    if p.missing != "refuse" or p.encoding == "latin-1":
        return None
    try:
        load_arrow()
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    check_fits_in_memory(path, path.stat().st_size * 3, "this table")  # Arrow's buffers, then the float32 copy
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    try:
        sample = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None  # maybe a Latin-1 file, or a multi-byte character cut by the sample: let the full reader decide
    lines = sample.splitlines()
    if len(head) == SAMPLE_BYTES:
        lines = lines[:-1]  # the last line of the sample may be cut
    if not lines or not lines[0].strip() or '"' in sample:
        return None
    delim = DELIMITERS[p.delimiter] or sniff_delimiter([line for line in lines if line.strip()])
    if delim == " " or delim + " " in sample:
        return None  # space-aligned cells: the Python reader's whitespace rules apply
    rows = [line.split(delim) for line in lines if line.strip()]
    has_header = p.header == "yes" or (p.header == "auto" and looks_like_header(rows))
    names = [c.strip() for c in rows[0]] if has_header else [str(j) for j in range(len(rows[0]))]
    if len(set(names)) != len(names) or len(rows) < 1 + int(has_header):
        return None
    width = len(names)

    def column(name: str) -> int | None:
        if name in names:
            return names.index(name)
        if not has_header and name.isdigit() and int(name) < width:
            return int(name)
        return None  # the full reader says which column is missing and suggests a close one

    label_j = column(p.label_column) if p.label_column else None
    found = [column(m) for m in p.metadata_columns]
    if (p.label_column and label_j is None) or None in found:
        return None
    meta_js = [j for j in found if j is not None]
    text_js = {j for j in [label_j, *meta_js] if j is not None}
    feature_js = [j for j in range(width) if j not in text_js]
    if not feature_js:
        return None
    fields = [f"c{j}" for j in range(width)]  # our own names: header cells may repeat or be blank
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=fields, skip_rows=int(has_header)),
            parse_options=pacsv.ParseOptions(delimiter=delim),
            convert_options=pacsv.ConvertOptions(
                column_types={fields[j]: pa.string() for j in text_js}, null_values=[], strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None  # a ragged row, a bad byte, ...: the full reader reports it by line
    if table.num_rows == 0:
        return None
    if not all(pa.types.is_integer(table.column(fields[j]).type) or pa.types.is_floating(table.column(fields[j]).type)
               for j in feature_js):
        return None  # a non-numeric or missing cell somewhere in a feature column
    X = np.empty((table.num_rows, len(feature_js)), dtype=np.float32)
    for k, j in enumerate(feature_js):
        X[:, k] = table.column(fields[j]).to_numpy()
    if not np.isfinite(X).all():
        return None
    constant = [names[feature_js[k]] for k in np.flatnonzero(X.min(axis=0) == X.max(axis=0))]  # finite: no nanstd
    notes = [f"constant column(s) {', '.join(map(repr, constant[:5]))} carry no information"] if constant else []
    labels: np.ndarray | None = None
    label_names: tuple[str, ...] = ()
    if label_j is not None:
        cells = [c.strip() for c in table.column(fields[label_j]).to_pylist()]
        if any(c.lower() in MISSING for c in cells):
            return None
        label_names, labels = _encode_labels(cells)
        if len(label_names) < 2:
            return None
        counts = np.bincount(labels, minlength=len(label_names))
        singles = [label_names[k] for k in np.flatnonzero(counts == 1)]
        if singles:
            notes.append(f"class(es) {', '.join(map(repr, singles[:5]))} have a single sample: the splits cannot be "
                         "stratified and fall back to a random split")
    metadata = {names[j]: _metadata_column(table.column(fields[j]).to_pylist()) for j in meta_js}
    X = X.reshape(len(X), 1, -1) if p.kind == "sequence" else X
    return Dataset(name=path.stem, kind=p.kind, X=X, y=labels, label_names=label_names, metadata=metadata,
                   feature_names=tuple(names[j] for j in feature_js), recommended_normalization="standardize",
                   description=f"{len(X)} rows x {len(feature_js)} features from {path.name}", source=str(path),
                   notes=tuple(notes))


def _fast_parse(body: list[list[str]], feature_js: list[int]) -> np.ndarray | None:
    """NumPy's own string-to-float conversion when every cell is a finite number; ``None`` sends the table to
    the cell-by-cell parser, which explains what is wrong."""
    try:
        if len(feature_js) == len(body[0]):
            X = np.array(body, dtype=np.float32)
        else:
            X = np.array([[row[j] for j in feature_js] for row in body], dtype=np.float32)
    except ValueError:
        return None
    return X if np.isfinite(X).all() else None


def _constant_notes(X: np.ndarray, names, feature_js) -> list[str]:
    constant = [names[feature_js[k]] for k in np.flatnonzero(np.nanstd(X, axis=0) == 0)]
    return [f"constant column(s) {', '.join(map(repr, constant[:5]))} carry no information"] if constant else []


def _encode_labels(cells: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Class names (numeric order when all are numbers, else alphabetical) and indices."""
    unique = set(cells)
    try:
        ordered = sorted(unique, key=float)
    except ValueError:
        ordered = sorted(unique)
    index = {c: i for i, c in enumerate(ordered)}
    return tuple(ordered), np.array([index[c] for c in cells], dtype=np.int64)


def _metadata_column(cells: list[str]) -> np.ndarray:
    try:
        return np.array([float(c) for c in cells])
    except ValueError:
        return np.array(cells)


def text_columns(path: str, delimiter: str = "auto", encoding: str = "auto", rows: int = 200) -> list[str]:
    """The columns of a CSV table (read from its first ``rows`` rows) that hold text rather than numbers: the
    candidates for the label column and for metadata (what the wizard offers). Empty when it has no header."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    text, _ = decode(head, encoding, path)
    lines = [line for line in text.splitlines() if line.strip()][: rows + 1]
    if len(lines) < 2:
        return []
    delim = {"auto": None, "tab": "\t", "space": " "}.get(delimiter, delimiter) or sniff_delimiter(lines)
    table = list(csv.reader(lines, delimiter=delim, skipinitialspace=delim != " "))
    if not looks_like_header(table):
        return []
    names = [c.strip() for c in table[0]]
    return [name for j, name in enumerate(names)
            if any(j < len(r) and not is_number(r[j]) for r in table[1:])]
