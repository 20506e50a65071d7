"""What every file reader needs: path checks, size checks and messages that name the file and the place."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import DataError


def fail(path: str | os.PathLike, problem: str, hint: str = "") -> DataError:
    """``path: problem. hint`` as a DataError."""
    text = f"{path}: {problem}"
    if hint:
        text += f". {hint}"
    return DataError(text)


def existing_file(path: str, what: str = "file") -> Path:
    p = Path(path).expanduser()
    if not str(path).strip():
        raise DataError(f"no {what} given: set the path")
    if not p.exists():
        raise fail(p, f"no such {what}")
    if p.is_dir():
        raise fail(p, f"is a folder, not a {what}")
    if not os.access(p, os.R_OK):
        raise fail(p, "is not readable (permission denied)")
    if p.stat().st_size == 0:
        raise fail(p, "is empty")
    return p


def existing_folder(path: str) -> Path:
    p = Path(path).expanduser()
    if not str(path).strip():
        raise DataError("no folder given: set the path")
    if not p.exists():
        raise fail(p, "no such folder")
    if not p.is_dir():
        raise fail(p, "is a file, not a folder")
    return p


def available_memory() -> int | None:
    """Bytes of physical memory free now (Linux, macOS); ``None`` where the OS does not say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def check_fits_in_memory(path: Path, needed: int, what: str = "its contents") -> None:
    """Refuse, before reading, data that cannot fit in the memory that is free now."""
    free = available_memory()
    if free is not None and needed > free:
        raise fail(path, f"loading {what} needs {human(needed)}, but only {human(free)} of memory is free",
                   "Use a smaller file, or a float32 .npy file, which is memory-mapped instead of loaded")


def split_folders(root: Path) -> dict[int, Path] | None:
    """``{split code: folder}`` when ``root`` holds train/ and test/ (or val/) sub-folders, as public benchmarks
    ship them (ImageNet-style train/<class>/..., test/<class>/...); None for a plain one-folder-per-class tree."""
    from core.data.base import SPLIT_ALIASES

    subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    codes = {d: SPLIT_ALIASES.get(d.name.lower()) for d in subdirs}
    if not subdirs or any(c is None for c in codes.values()) or 0 not in codes.values() or len(codes) < 2:
        return None
    by_code: dict[int, Path] = {}
    for d, c in codes.items():
        assert c is not None  # checked above: every folder is a split
        if c in by_code:
            raise fail(root, f"has two folders for one split ({by_code[c].name}/ and {d.name}/)")
        by_code[c] = d
    return dict(sorted(by_code.items()))


def class_folders(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def split_class_files(root: Path, accept, what: str) -> tuple[list[str], list[tuple[int, Path, int]], bool]:
    """Class names and ``(class index, file, split code)`` of a class-folder tree, or of train/ test/ (val/)
    folders that each hold one; classes are the union over the splits. ``accept(file)`` picks the files."""
    splits = split_folders(root)
    trees = splits if splits is not None else {0: root}
    per_split = {code: class_folders(folder) for code, folder in trees.items()}
    for code, classes in per_split.items():
        if not classes:
            raise fail(trees[code], "has no class folders", f"Put the {what} in one sub-folder per class")
    names = sorted({c.name for classes in per_split.values() for c in classes})
    index = {n: i for i, n in enumerate(names)}
    files: list[tuple[int, Path, int]] = []
    for code, classes in per_split.items():
        for folder in classes:
            found = sorted(f for f in folder.iterdir() if f.is_file() and accept(f))
            if not found:
                raise fail(folder, f"is an empty class folder (no {what})", "Add files to it or remove the folder")
            files += [(index[folder.name], f, code) for f in found]
    return names, files, splits is not None
