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
