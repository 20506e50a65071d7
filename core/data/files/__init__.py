"""Readers for the user's own files. Each is a registered dataset source whose ``path`` parameters point at the
files; every failure is a :class:`~core.errors.DataError` that names the file, the place and what to do."""
from core.data.files import arrays, audio, csv_table, graph, idx, images, parquet, projector, text  # noqa: F401


def reader_for(path: str) -> str | None:
    """The registered reader for a file or folder, guessed from its name and contents (None if unknown)."""
    from pathlib import Path

    p = Path(path)
    name = p.name.lower()
    if p.is_dir():
        from core.data.files.common import split_folders

        if (p / "dataset_info.json").is_file() or any(p.glob("data-*.arrow")):
            return "hf_arrow"
        splits = split_folders(p)
        top = list(splits.values()) if splits else [p]
        subdirs = [d for t in top for d in t.iterdir() if d.is_dir()]
        files = [f for d in subdirs for f in d.iterdir() if f.is_file()]
        if any(f.suffix.lower() == ".wav" for f in files):
            return "wav_folder"
        return "image_folder" if subdirs else None
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".npy", ".npz")):
        return "npy"
    if "ubyte" in name or name.endswith(".idx") or (name.endswith(".gz") and "idx" in name):
        return "idx"
    if name in ("vectors.tsv", "tensor.tsv", "tensors.tsv") or name.endswith(("_vectors.tsv", "_tensor.tsv")):
        return "projector"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith(".txt"):
        return "text"
    return None
