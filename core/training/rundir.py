"""A run is a directory: what it holds, and the writes the engine makes to it.

::

    RUN/
      config.toml          the experiment, exactly as trained
      run.json             status (running / finished / stopped / failed), ids, versions, final results
      metrics.jsonl        one JSON object per event, appended and flushed as it happens (read back as the
                           same events by read_events; schema in docs/run-directory.md)
      checkpoints/         step_NNNNNNN.safetensors + manifest.json (sha256, step, seed, versions)
      snapshots/           subset.npy (dataset indices), labels.npy, epoch_NNN.npy / step_NNNNNNN.npy
      diagnostics/         epoch_NNN.npz: covariance and cross-correlation matrices of that epoch
      reports/             evaluation.json (the last evaluation), the probe report's files
      preprocessing.json   the normaliser fitted on the training split, input shape, data kind
      export/              what `replearn export` writes (encoder, preprocessing, card)
      tensorboard/         event files, when training.log_to names tensorboard
      embeddings/          <checkpoint>.npy: every sample embedded by that checkpoint (a cache, memory-mapped)

This class is the only keeper of that layout: nothing else spells these paths.

Another process (the GUI on a laptop) can follow a run that is still being written: every file but
``metrics.jsonl`` is replaced atomically, and ``metrics.jsonl`` only grows by whole lines. A process killed
mid-line (SIGKILL, a full disk) leaves a torn last line: readers skip it, and the next writer starts a fresh
line after it, so the fragment never glues onto a new record.

One process writes a run at a time: a writer holds an exclusive lock (``.lock``, with ``.lock-holder.json``
saying who holds it) from start to end; the operating system releases it when the process ends, even by a
crash. Readers (the app's follower, ``report``) never take it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import errno
import json
import os
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import RunDirectoryError
from core.fileio import atomic_write_json, atomic_write_text, atomic_writer, json_ready
from core.training.events import EpochEnded, RecordError, event_from_record

if TYPE_CHECKING:
    from core.config.schema import Experiment

EVALUATION_SCHEMA = 1  # reports/evaluation.json: {"schema_version": 1, **Evaluation.to_record()}


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def explain_os_error(err: OSError, what: str | os.PathLike) -> RunDirectoryError:
    if err.errno == errno.ENOSPC:
        why = "the disk is full"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "it is not writable"
    else:
        why = err.strerror or str(err)
    return RunDirectoryError(f"cannot write {what}: {why}")


LOCK_WAIT_S = 2.0  # a reader probing the lock holds it for a moment: a writer waits that long before refusing
TEMP_FOLDERS = ("", "checkpoints", "snapshots", "diagnostics")  # where a killed writer may leave temp files


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists, owned by someone else
    return True


class RunDirectory:
    """Paths and writes of one run directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._metrics: int | None = None  # a file descriptor (os.write: unbuffered)
        self._lock: Any = None  # a filelock lock while this process writes the run

    # ---- layout -----------------------------------------------------------------------------------------
    config_path = property(lambda self: self.path / "config.toml")
    status_path = property(lambda self: self.path / "run.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    snapshots = property(lambda self: self.path / "snapshots")
    diagnostics = property(lambda self: self.path / "diagnostics")
    reports = property(lambda self: self.path / "reports")
    embeddings = property(lambda self: self.path / "embeddings")
    evaluation_path = property(lambda self: RunDirectory.evaluation_file(self.path / "reports"))
    snapshot_labels_path = property(lambda self: self.path / RunDirectory.SNAPSHOT_LABELS)

    # names relative to the run, for save_array / save_matrices
    SUBSET = "snapshots/subset.npy"
    SNAPSHOT_LABELS = "snapshots/labels.npy"

    @staticmethod
    def snapshot_name(*, epoch: int | None = None, step: int | None = None) -> str:
        """The snapshot taken at the end of ``epoch`` or, on request, at ``step``."""
        return f"snapshots/epoch_{epoch:03d}.npy" if epoch is not None else f"snapshots/step_{step:07d}.npy"

    @staticmethod
    def matrices_name(epoch: int) -> str:
        """The covariance / cross-correlation matrices of ``epoch``."""
        return f"diagnostics/epoch_{epoch:03d}.npz"

    subset_path = property(lambda self: self.path / RunDirectory.SUBSET)

    def embedding_cache(self, checkpoint: str | os.PathLike) -> Path:
        """Where every sample embedded by ``checkpoint`` (a checkpoint file name or path) is cached."""
        return self.embeddings / f"{Path(checkpoint).stem}.npy"

    @staticmethod
    def is_run(path: str | os.PathLike) -> bool:
        """Whether ``path`` is a run directory (it has a ``config.toml``); cheap, for listings."""
        return (Path(path) / "config.toml").is_file()
    lock_path = property(lambda self: self.path / ".lock")
    holder_path = property(lambda self: self.path / ".lock-holder.json")
    preprocessing_path = property(lambda self: self.path / "preprocessing.json")
    exports = property(lambda self: self.path / "export")
    tensorboard = property(lambda self: self.path / "tensorboard")

    @classmethod
    def list_runs(cls, root: str | os.PathLike | None) -> list[Path]:
        """The run directories directly inside ``root``, newest first (none when ``root`` is not a folder; hidden
        folders, such as a bin of deleted runs, are not runs)."""
        if root is None or not Path(root).is_dir():
            return []
        runs = []
        for p in Path(root).iterdir():
            try:
                if not p.name.startswith(".") and cls.is_run(p):
                    runs.append((p.stat().st_mtime, p))
            except OSError:  # vanished or unreadable while listing
                continue
        return [p for _, p in sorted(runs, key=lambda t: (t[0], t[1].name), reverse=True)]

    @classmethod
    def create(cls, root: str | os.PathLike, name: str) -> RunDirectory:
        """A new, empty run directory ``root/name`` (``name-2``, ``name-3``, ... if taken)."""
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            for i in range(1, 10_000):
                candidate = root / (name if i == 1 else f"{name}-{i}")
                try:
                    candidate.mkdir()
                except FileExistsError:
                    continue
                run = cls(candidate)
                for sub in (run.checkpoints, run.snapshots, run.diagnostics, run.reports):
                    sub.mkdir()
                return run
        except OSError as err:
            raise explain_os_error(err, f"the run directory in {root}") from None
        raise RunDirectoryError(f"too many runs called {name!r} in {root}")

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunDirectory:
        run = cls(path)
        if not run.path.is_dir():
            raise RunDirectoryError(f"{str(run.path)!r} is not a directory")
        if not run.config_path.is_file():
            raise RunDirectoryError(f"{str(run.path)!r} is not a run directory (it has no config.toml)")
        return run

    # ---- one writer at a time ---------------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the run's exclusive write lock, or say which process holds it. Then tidy what a killed writer
        left (temporary files). Released by :meth:`close`, and by the OS when the process ends."""
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return
        lock = FileLock(self.lock_path, timeout=LOCK_WAIT_S)
        try:
            lock.acquire()
        except Timeout:
            raise RunDirectoryError(f"{self.path} is being written by another process ({self._describe_holder()}); "
                                    "wait for it to end, or stop it first") from None
        except OSError as err:
            raise explain_os_error(err, self.lock_path) from None
        self._lock = lock
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
        try:
            atomic_write_json(self.holder_path, holder)
        except OSError as err:
            self.release()
            raise explain_os_error(err, self.holder_path) from None
        self.remove_temp_files()

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self.holder_path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._lock.release()
            self._lock = None

    def holder(self) -> dict[str, Any]:
        """Who holds (or last held) the write lock: pid, host, since; empty if nobody ever did."""
        try:
            found = json.loads(self.holder_path.read_text(encoding="utf-8"))
            return found if isinstance(found, dict) else {}
        except (OSError, ValueError):
            return {}

    def _describe_holder(self) -> str:
        h = self.holder()
        if not h:
            return "a process that did not say who it is"
        return f"process {h.get('pid')} on {h.get('host')}, since {h.get('since')}"

    def is_locked(self) -> bool:
        """Whether some process holds the write lock now, without waiting for it. A process on this machine
        that no longer exists holds nothing; for one on another machine the lock itself is asked."""
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return True
        h = self.holder()
        if h.get("host") == socket.gethostname() and isinstance(h.get("pid"), int) and not _process_alive(h["pid"]):
            return False
        if not self.lock_path.exists():
            return False
        probe = FileLock(self.lock_path, timeout=0)
        try:
            probe.acquire()
        except Timeout:
            return True
        except OSError:  # a read-only copy of a run: nobody can be writing it
            return False
        probe.release()
        return False

    def state(self) -> str:
        """The run's status as shown to a person: run.json's, except that a run said to be "running" whose
        process has gone (killed, machine restarted) is "interrupted"."""
        status = self.read_status().get("status", "unknown")
        if status == "running" and not self.is_locked():
            return "interrupted"
        return status

    def remove_temp_files(self) -> list[Path]:
        """Delete the temporary files of atomic writes that never finished (a writer killed mid-write); only
        the lock holder may, since a live writer's temp file looks the same."""
        removed = []
        for sub in TEMP_FOLDERS:
            folder = self.path / sub if sub else self.path
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    removed.append(tmp)
        return removed

    # ---- writes -----------------------------------------------------------------------------------------
    def write_config(self, experiment: Experiment) -> None:
        # imported here, not at the top: listing and reading runs must not import torch (the GUI's run list
        # appears before it), and the experiment schema pulls in the registries' modules
        from core.config.io import save_experiment

        try:
            save_experiment(experiment, self.config_path)
        except OSError as err:
            raise explain_os_error(err, self.config_path) from None

    def read_config(self) -> Experiment:
        from core.config.io import load_experiment

        return load_experiment(self.config_path)

    def write_status(self, **fields: Any) -> None:
        """Merge ``fields`` into ``run.json`` (atomically)."""
        status = self.read_status()
        status.update(fields)
        status["updated"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        try:
            atomic_write_json(self.status_path, status)
        except OSError as err:
            if err.errno == errno.ENOSPC and self._rewrite_in_place(self.status_path, status):
                return  # a full disk has no room for a second copy, but the old file's blocks are ours
            raise explain_os_error(err, self.status_path) from None

    @staticmethod
    def _rewrite_in_place(path: Path, obj: Any) -> bool:
        """Overwrite a small file in place (not atomic): the last resort to record a failure on a full disk."""
        data = (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n").encode()
        try:
            with open(path, "r+b") as fh:
                fh.write(data)
                fh.truncate()
                fh.flush()
            return True
        except OSError:
            return False

    def write_preprocessing(self, record: dict[str, Any]) -> None:
        """The fitted normaliser, input shape and data kind (what ``replearn export`` / ``embed`` reuse)."""
        try:
            atomic_write_json(self.preprocessing_path, record)
        except OSError as err:
            raise explain_os_error(err, self.preprocessing_path) from None

    def read_preprocessing(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.preprocessing_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def read_status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def append_metric(self, record: dict[str, Any]) -> None:
        """Append one JSON line and flush it, so a follower sees every event as it happens."""
        line = (json.dumps(record, allow_nan=False) + "\n").encode("utf-8")
        try:
            if self._metrics is None:
                self._metrics = self._open_metrics()
            os.write(self._metrics, line)  # unbuffered: a failed write leaves nothing behind to flush later
        except OSError as err:
            raise explain_os_error(err, self.metrics_path) from None

    def _open_metrics(self) -> int:
        """``metrics.jsonl`` opened for appending; a torn last line (a writer killed mid-line) is ended first,
        so the next record starts on a line of its own and readers skip just the fragment."""
        fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(self.metrics_path, "rb") as fh:
                    fh.seek(size - 1)
                    torn = fh.read(1) not in (b"\n", b"")
                if torn:
                    os.write(fd, b"\n")
        except OSError:
            os.close(fd)
            raise
        return fd

    def save_array(self, relative: str, array: np.ndarray) -> Path:
        """A snapshot-sized array, written atomically but not fsync'ed (a lost snapshot costs nothing)."""
        path = self.path / relative
        try:
            with atomic_writer(path, "wb", durable=False) as fh:
                np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        except OSError as err:
            raise explain_os_error(err, path) from None
        return path

    def save_matrices(self, relative: str, **arrays: np.ndarray) -> Path:
        """Several arrays in one ``.npz`` (no pickles), written atomically, not fsync'ed and not compressed
        (the covariance matrices of an epoch are small; compressing them cost 6% of a default run)."""
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_writer(path, "wb", durable=False) as fh:
                np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
        except OSError as err:
            raise explain_os_error(err, path) from None
        return path

    def checkpoint_files(self) -> list[Path]:
        return sorted(self.checkpoints.glob("*.safetensors")) if self.checkpoints.is_dir() else []

    def remove(self) -> None:
        """Delete this run directory (a fresh one whose experiment could not start)."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)

    def close(self) -> None:
        """Close the metrics file and release the lock. Never raises: it runs while an error (a full disk)
        is on its way to the user, and must not replace it."""
        if self._metrics is not None:
            with contextlib.suppress(OSError):
                os.close(self._metrics)
            self._metrics = None
        self.release()

    def write_evaluation(self, record: dict[str, Any], path: str | os.PathLike | None = None) -> Path:
        """Store an evaluation (:meth:`core.Evaluation.to_record`) as ``reports/evaluation.json`` (or ``path``),
        atomically: the one writer of that file. The metrics keep the suite's order, which tables show."""
        return self.write_evaluation_file(record, self.evaluation_path if path is None else path)

    @staticmethod
    def evaluation_file(reports_dir: str | os.PathLike) -> Path:
        """Where a run's reports folder keeps its evaluation."""
        return Path(reports_dir) / "evaluation.json"

    @staticmethod
    def write_evaluation_file(record: dict[str, Any], path: str | os.PathLike) -> Path:
        """The one writer of stored evaluations (see :meth:`write_evaluation`)."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(json_ready({"schema_version": EVALUATION_SCHEMA, **record}),
                                               indent=2, allow_nan=False) + "\n")
        except OSError as err:
            raise explain_os_error(err, path) from None
        return path

    # ---- reads ------------------------------------------------------------------------------------------
    def read_evaluation(self) -> dict[str, Any] | None:
        """The run's last evaluation, or None when there is none or it cannot be read (it is evaluated again)."""
        return self.read_evaluation_file(self.evaluation_path)

    @staticmethod
    def read_evaluation_file(path: str | os.PathLike) -> dict[str, Any] | None:
        """An evaluation stored by :meth:`write_evaluation` (None when missing or unreadable)."""
        try:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and isinstance(record.get("results"), dict) else None

    def read_snapshot_labels(self) -> np.ndarray | None:
        """The labels of the snapshot subset, or None when the run has none (unlabelled data, no snapshot yet)."""
        try:
            return np.load(self.snapshot_labels_path, allow_pickle=False)
        except (OSError, ValueError):
            return None

    def read_metrics(self) -> Iterator[dict[str, Any]]:
        """Every record of ``metrics.jsonl``: a half-written last line, and a fragment a killed writer left
        (ended by the next writer, or glued onto a record by an older version), are skipped."""
        if not self.metrics_path.exists():
            return
        with open(self.metrics_path, "rb") as fh:
            yield from parse_records(fh)

    def read_events(self) -> Iterator[Any]:
        """The run's events (``core.training.events`` dataclasses), in order, as the engine yielded them.

        The same path serves a finished run, a run replayed from disk and one still being written: a torn last
        line (a writer killed mid-line, or one still writing) is left out, lines that are not JSON are skipped,
        and an epoch's diagnostics get their covariance / cross-correlation back from ``diagnostics/``.
        """
        events, _ = self.read_events_from(0)
        yield from events

    def read_events_from(self, offset: int) -> tuple[list[Any], int]:
        """The events of the complete lines from byte ``offset`` on, and the offset to read from next time (a
        follower polls with it; an unfinished last line is read again once it is complete)."""
        try:
            with open(self.metrics_path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            return [], offset
        except OSError as err:
            raise RunDirectoryError(f"cannot read {self.metrics_path}: {err.strerror or err}") from None
        end = chunk.rfind(b"\n") + 1  # bytes after the last newline are a line still being written
        events = []
        for line in chunk[:end].split(b"\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:  # a torn line in the middle (a writer killed mid-line, then resumed)
                record = _repair(line)
                if record is None:
                    continue
            try:
                event = event_from_record(record)
            except RecordError as err:
                raise RunDirectoryError(f"{self.metrics_path}: {err}") from None
            if event is not None:
                events.append(self._with_matrices(event))
        return events, offset + end

    def _with_matrices(self, event: Any) -> Any:
        """An epoch's diagnostics with their matrices, which live in ``diagnostics/epoch_NNN.npz``."""
        if not isinstance(event, EpochEnded) or (event.diagnostics is None and event.projection_diagnostics is None):
            return event
        path = self.diagnostics / f"epoch_{event.epoch:03d}.npz"
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: _read_only(npz[k]) for k in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            return event  # not written (yet), or torn: the panel shows the rest
        changes = {}
        for prefix, name in (("representation", "diagnostics"), ("projection", "projection_diagnostics")):
            d = getattr(event, name)
            if d is not None:
                changes[name] = dataclasses.replace(d, covariance=arrays.get(f"{prefix}_covariance"),
                                                    cross_correlation=arrays.get(f"{prefix}_cross_correlation"))
        return dataclasses.replace(event, **changes)

    def snapshot_files(self) -> list[Path]:
        return sorted(p for p in self.snapshots.glob("*.npy") if p.name not in ("subset.npy", "labels.npy"))

    def load_array(self, relative: str) -> np.ndarray:
        return np.load(self.path / relative, allow_pickle=False)


def parse_records(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """JSON objects from complete lines (ending in a newline); lines that are not one whole object are
    fragments of torn writes and are skipped."""
    for line in lines:
        if not line.endswith(b"\n") or not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # UnicodeDecodeError included
            record = _repair(line)
        if isinstance(record, dict):
            yield record


def _repair(line: bytes) -> dict[str, Any] | None:
    """The record in a line that an older writer glued onto a torn fragment (``fragment{"event": ...}``)."""
    start = line.rfind(b'{"event": ')
    if start <= 0:
        return None
    try:
        return json.loads(line[start:])
    except ValueError:
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class ReplicaRunDirectory(RunDirectory):
    """What a process other than rank 0 sees of the run directory in data-parallel training: it may read (a
    checkpoint to resume from) but never writes — rank 0 alone writes, so nothing is written twice."""

    def write_config(self, experiment: Experiment) -> None:
        pass

    def write_status(self, **fields: Any) -> None:
        pass

    def write_preprocessing(self, record: dict[str, Any]) -> None:
        pass

    def append_metric(self, record: dict[str, Any]) -> None:
        pass

    def acquire(self) -> None:
        pass

    def save_array(self, relative: str, array: np.ndarray) -> Path:
        return self.path / relative

    def save_matrices(self, relative: str, **arrays: np.ndarray) -> Path:
        return self.path / relative

    def remove(self) -> None:
        pass
