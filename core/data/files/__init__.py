"""Readers for the user's own files. Each is a registered dataset source whose ``path`` parameters point at the
files; every failure is a :class:`~core.errors.DataError` that names the file, the place and what to do.

What a reader opens is registry metadata, read by :func:`reader_for`, the GUI's file dialogs and the wizard:
``file=True`` (the user's own data), ``patterns`` (file names it reads, shell-style, lower case),
``folder=True`` (it reads a folder of class sub-folders) and ``folder_files`` (what those sub-folders hold, when
that tells it apart from other folder readers)."""
from core.data.files import arrays, audio, csv_table, graph, idx, images, parquet, projector, text  # noqa: F401


def _specificity(pattern: str) -> int:
    return sum(c not in "*?[]" for c in pattern)


def reader_for(path: str) -> str | None:
    """The registered reader for a file or folder, guessed from its name and contents (None if unknown): the
    reader with the most specific matching pattern (``vectors.tsv`` before ``*.tsv``); for a folder, one whose
    ``folder_files`` its class sub-folders hold, else a folder reader that takes any files."""
    from fnmatch import fnmatchcase
    from pathlib import Path

    from core.data.base import DATASETS

    p = Path(path)
    readers = [e for e in DATASETS if e.info.get("file")]
    if p.is_dir():
        from core.data.files.common import split_folders

        if (p / "dataset_info.json").is_file() or (p / "dataset_dict.json").is_file() or any(p.glob("data-*.arrow")):
            return "hf_arrow"  # a saved Hugging Face dataset (or DatasetDict)
        splits = split_folders(p)  # train/ and test/ folders: look at the class folders inside them
        subdirs = [d for top in (list(splits.values()) if splits else [p]) for d in top.iterdir() if d.is_dir()]
        if not subdirs:
            return None
        files = [f.name.lower() for d in subdirs for f in d.iterdir() if f.is_file()]
        folder_readers = [e for e in readers if e.info.get("folder")]
        for entry in folder_readers:
            wanted = entry.info.get("folder_files", ())
            if wanted and any(fnmatchcase(f, w) for f in files for w in wanted):
                return entry.name
        return next((e.name for e in folder_readers if not e.info.get("folder_files")), None)
    name = p.name.lower()
    scored = [(_specificity(pattern), entry.name) for entry in readers for pattern in entry.info.get("patterns", ())
              if fnmatchcase(name, pattern)]
    return max(scored)[1] if scored else None


def file_patterns() -> tuple[str, ...]:
    """Every file pattern some reader opens (for a file dialog's filter)."""
    from core.data.base import DATASETS

    return tuple(dict.fromkeys(p for e in DATASETS if e.info.get("file") for p in e.info.get("patterns", ())))
