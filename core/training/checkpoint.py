"""Checkpoints: safetensors files (no pickle, so no code can hide in them) plus a JSON manifest.

A checkpoint holds the model, the optimiser state and the torch RNG state, so resuming from it continues the
run bit for bit. The manifest records each file's sha256, the step, the seed and the library versions; a file
whose hash does not match is refused (a torn or tampered file), and resuming falls back to the newest one
that verifies.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import platform
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from core.errors import CheckpointError
from core.fileio import atomic_write_bytes, atomic_write_json, sha256_file

MANIFEST = "manifest.json"
NOTES = logging.getLogger("replearn")
FORMAT = 1


@dataclass(frozen=True)
class TrainingState:
    """Where a run stands: what a checkpoint restores."""

    epoch: int  # epochs fully completed
    step: int  # optimiser steps done
    batch_in_epoch: int  # batches of epoch ``epoch + 1`` already done (mid-epoch checkpoints)
    base_lr: float
    seed: int


def versions() -> dict[str, str]:
    from core._version import __version__

    return {"replearn": __version__, "torch": torch.__version__, "python": platform.python_version()}


def _optimizer_tensors(opt_state: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, entries in opt_state["state"].items():
        for key, value in entries.items():
            name = f"optimizer/{pid}/{key}"
            if isinstance(value, torch.Tensor):
                tensors[name] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars[name] = value
    return tensors, scalars


@dataclass(frozen=True)
class CapturedCheckpoint:
    """A checkpoint's tensors copied out of the live model and optimiser, and its metadata: what
    :func:`write_checkpoint` writes, on any thread, while training goes on changing the originals."""

    tensors: dict[str, torch.Tensor]
    meta: dict[str, str]
    state: TrainingState


def capture_checkpoint(*, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                       state: TrainingState) -> CapturedCheckpoint:
    """Copy the model, the optimiser state and the RNG state now (on the training thread)."""
    tensors = {f"model/{k}": v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    opt_tensors, opt_scalars = _optimizer_tensors(opt)
    tensors.update(opt_tensors)
    tensors["rng/torch_cpu"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    meta = {
        "format": str(FORMAT),
        "state": json.dumps(state.__dict__),
        "optimizer_param_groups": json.dumps(opt["param_groups"]),
        "optimizer_scalars": json.dumps(opt_scalars),
    }
    return CapturedCheckpoint(tensors=tensors, meta=meta, state=state)


def save_checkpoint(directory: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    state: TrainingState, reason: str, keep: int = 0) -> Path:
    """Write ``step_NNNNNNN.safetensors`` atomically, then record it in the manifest (also atomically).

    With ``keep > 0`` only the newest ``keep`` checkpoints remain: the manifest drops the older ones first,
    then their files are deleted, so a crash in between leaves stray files, never dangling entries.
    """
    return write_checkpoint(directory, capture_checkpoint(model=model, optimizer=optimizer, state=state),
                            reason=reason, keep=keep)


def write_checkpoint(directory: Path, captured: CapturedCheckpoint, *, reason: str, keep: int = 0) -> Path:
    """The writing half of :func:`save_checkpoint` (safe on a background thread: it reads only ``captured``;
    one writer at a time per directory, as the manifest is read, changed and replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    state, tensors, meta = captured.state, captured.tensors, captured.meta
    name = f"step_{state.step:07d}.safetensors"
    path = directory / name
    atomic_write_bytes(path, st_save(tensors, metadata=meta))
    entry = {
        "file": name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "epoch": state.epoch,
        "step": state.step, "batch_in_epoch": state.batch_in_epoch, "seed": state.seed, "reason": reason,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "versions": versions(),
    }
    manifest = read_manifest(directory, writing=True)
    manifest["checkpoints"] = [c for c in manifest["checkpoints"] if c["file"] != name] + [entry]
    manifest["latest"] = name
    dropped = []
    best = (manifest.get("best") or {}).get("file")
    if keep > 0 and len(manifest["checkpoints"]) > keep:
        # the best checkpoint (training.keep_best) is never rotated out; it counts towards ``keep``
        ordered = sorted((c for c in manifest["checkpoints"] if c["file"] != best), key=lambda c: c["step"])
        kept = keep - (1 if any(c["file"] == best for c in manifest["checkpoints"]) else 0)
        dropped = ordered[:len(ordered) - max(kept, 1)]
        manifest["checkpoints"] = [c for c in manifest["checkpoints"] if c not in dropped]
    atomic_write_json(directory / MANIFEST, manifest)
    for old in dropped:
        (directory / old["file"]).unlink(missing_ok=True)
    return path


def mark_best(directory: Path, name: str, *, metric: str, value: float, epoch: int) -> None:
    """Record checkpoint ``name`` (already in the manifest) as the run's best by ``metric``."""
    manifest = read_manifest(directory)
    if not any(c["file"] == name for c in manifest["checkpoints"]):
        raise CheckpointError(f"checkpoint {name!r} is not in {directory / MANIFEST}")
    manifest["best"] = {"file": name, "metric": metric, "value": float(value), "epoch": int(epoch)}
    atomic_write_json(directory / MANIFEST, manifest)


def best_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The manifest's best entry ({file, metric, value, epoch}) when training kept one and its file is listed."""
    try:
        manifest = read_manifest(directory)
    except CheckpointError:
        return None
    best = manifest.get("best")
    if isinstance(best, dict) and any(c["file"] == best.get("file") for c in manifest["checkpoints"]):
        return best
    return None


def describe_choice(directory: Path, name: str | None) -> tuple[str | None, str]:
    """Which checkpoint evaluation, reports and the explorer use, and why, in words: ``name`` when given, else
    the best one (``training.keep_best``) when the run kept one, else the newest."""
    if name is not None:
        return name, f"{Path(name).name} (chosen)"
    best = best_checkpoint(directory)
    if best is not None:
        return best["file"], (f"{best['file']}: the best by {best['metric']} ({best['value']:.4g}, epoch "
                               f"{best['epoch']})")
    return None, "the newest checkpoint"


def read_manifest(directory: Path, *, writing: bool = False) -> dict[str, Any]:
    """The manifest; a missing or damaged one is rebuilt from the checkpoint files' own metadata (and said so).
    ``writing``: for the writer about to add its first checkpoint, a missing manifest is simply a new one."""
    path = directory / MANIFEST
    if not path.exists():
        if writing or not any(directory.glob("step_*.safetensors")):
            return {"format": FORMAT, "checkpoints": [], "latest": None}
        return rebuild_manifest(directory, "it was missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("checkpoints"), list):
            raise ValueError("no checkpoint list")
        for i, entry in enumerate(manifest["checkpoints"]):
            problem = _entry_problem(entry)
            if problem:
                raise ValueError(f"entry {i + 1} {problem}")
        return manifest
    except (ValueError, OSError) as err:
        return rebuild_manifest(directory, f"it was unreadable: {err}")


def _entry_problem(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "is not an object"
    for key, kind in (("file", str), ("sha256", str), ("step", int), ("epoch", int)):
        if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool):
            return f"has no valid {key!r}"
    if Path(entry["file"]).name != entry["file"]:
        return "names a file outside the checkpoints folder"
    return ""


def rebuild_manifest(directory: Path, why: str) -> dict[str, Any]:
    """A manifest made from the checkpoints themselves: each file's state (step, epoch, seed) from its metadata,
    its sha256 computed now. Files whose header cannot be read are left out. Written back when possible."""
    entries = []
    for path in sorted(directory.glob("step_*.safetensors")):
        try:
            with open(path, "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                if n <= 0 or 8 + n > path.stat().st_size:
                    continue
                meta = json.loads(fh.read(n)).get("__metadata__") or {}
            state = TrainingState(**json.loads(meta["state"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        entries.append({"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
                        "epoch": state.epoch, "step": state.step, "batch_in_epoch": state.batch_in_epoch,
                        "seed": state.seed, "reason": "rebuilt", "created": None, "versions": {}})
    entries.sort(key=lambda e: int(e["step"]))  # type: ignore[call-overload]
    manifest = {"format": FORMAT, "checkpoints": entries, "latest": entries[-1]["file"] if entries else None,
                "rebuilt": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    NOTES.info("the checkpoint manifest %s was rebuilt from %d checkpoint file(s) (%s)",
               directory / MANIFEST, len(entries), why)
    with contextlib.suppress(OSError):  # a read-only run: the rebuilt manifest serves this process
        atomic_write_json(directory / MANIFEST, manifest)
    return manifest


@dataclass(frozen=True)
class CheckpointInfo:
    """Which checkpoint a model was loaded from (its hash verified against the manifest): small, kept with the
    model so nobody loads and hashes the file a second time to learn it."""

    path: Path
    sha256: str
    epoch: int
    step: int
    why: str = ""  # why this one, in words ("the newest checkpoint", "... the best by val_loss ...")

    @property
    def file(self) -> str:
        return self.path.name

    def __str__(self) -> str:
        return self.why or self.file


@dataclass(frozen=True)
class LoadedCheckpoint:
    path: Path
    state: TrainingState
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, torch.Tensor]
    sha256: str = ""

    @property
    def info(self) -> CheckpointInfo:
        return CheckpointInfo(self.path, self.sha256, self.state.epoch, self.state.step)


def load_checkpoint(directory: Path, name: str | None = None) -> LoadedCheckpoint:
    """Load checkpoint ``name`` (default: the newest whose sha256 verifies) after checking its hash."""
    manifest = read_manifest(directory)
    entries = manifest["checkpoints"]
    if not entries:
        raise CheckpointError(f"{directory} holds no checkpoint to resume from")
    if name is not None:
        chosen = [e for e in entries if e["file"] == name or e["file"] == Path(name).name]
        if not chosen:
            raise CheckpointError(f"checkpoint {name!r} is not in {directory / MANIFEST}")
        return _load_entry(directory, chosen[0])
    problems = []
    for entry in sorted(entries, key=lambda e: e["step"], reverse=True):
        try:
            loaded = _load_entry(directory, entry)
        except CheckpointError as err:
            problems.append(str(err))
            continue
        if problems:  # never silently: the user should know which state they continue from
            NOTES.warning("%s; using %s (step %d) instead", "; ".join(problems), loaded.path.name, loaded.state.step)
        return loaded
    raise CheckpointError("no usable checkpoint: " + "; ".join(problems))


def _metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file: an 8-byte little-endian length, then a JSON header."""
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise ValueError("header length out of bounds")
    return json.loads(data[8:8 + n]).get("__metadata__") or {}


def _load_entry(directory: Path, entry: dict[str, Any]) -> LoadedCheckpoint:
    path = directory / entry["file"]
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path.name} is missing")
    if sha256_file(path) != entry["sha256"]:
        raise CheckpointError(f"checkpoint {path.name} is corrupt (its sha256 does not match the manifest)")
    try:
        data = path.read_bytes()
        tensors = st_load(data)
        meta = _metadata(data)
        state = TrainingState(**json.loads(meta["state"]))
        groups = json.loads(meta["optimizer_param_groups"])
        scalars = json.loads(meta.get("optimizer_scalars", "{}"))
    except (SafetensorError, KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path.name} cannot be read ({err})") from None
    model = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    opt_state: dict[int, dict[str, Any]] = {}
    for k, v in list(tensors.items()) + list(scalars.items()):
        if k.startswith("optimizer/"):
            _, pid, key = k.split("/", 2)
            opt_state.setdefault(int(pid), {})[key] = v
    rng = {k[len("rng/"):]: v for k, v in tensors.items() if k.startswith("rng/")}
    return LoadedCheckpoint(path=path, state=state, model=model,
                            optimizer={"state": opt_state, "param_groups": groups}, rng=rng, sha256=entry["sha256"])


FOREIGN_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "encoder")


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a weights file: safetensors, or a PyTorch pickle (``.pt``, ``.pth``, ...).

    PyTorch files are read with ``torch.load(weights_only=True)``: an unpickler that builds only tensors and
    plain containers, so a file cannot run code. It is passed explicitly, which also overrides
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, and there is no fallback to full unpickling: a file holding anything
    else is refused. Common wrappers (``{"state_dict": ...}``, ``{"model": ...}``) are unwrapped.
    """
    import pickle

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            return load_file(str(path))
        except Exception as err:  # noqa: BLE001 - any parse failure means the same to the user
            raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from None
    if path.suffix not in FOREIGN_SUFFIXES:
        raise CheckpointError(f"{path}: weights must be a .safetensors or {', '.join(FOREIGN_SUFFIXES)} file")
    try:
        with warnings.catch_warnings():  # torch's remarks on pickle protocols are not for our users
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(_refusal(path, str(err))) from None
    except (RuntimeError, EOFError, ValueError, AttributeError, KeyError, IndexError, OSError):
        raise CheckpointError(f"{path} is not a readable PyTorch weights file (damaged, or another format); "
                              "it was not loaded") from None
    for key in STATE_DICT_KEYS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return {str(k): v for k, v in loaded.items()}


def _refusal(path: Path, torch_message: str) -> str:
    """Why a PyTorch file was refused, in our words: torch's own message advises ``weights_only=False``, which
    would run whatever the file holds."""
    found = re.search(r"GLOBAL (\S+)", torch_message)
    what = f" (it asks for {found.group(1)})" if found else ""
    return (f"{path} was refused: besides tensors it holds Python objects{what}, and loading those could run "
            "code, so only plain weights are read. Save just the weights: torch.save(model.state_dict(), path), "
            "or a .safetensors file")


def restore_model(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str) -> None:
    """Load weights, refusing missing or extra keys and wrong shapes with a message that names them."""
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    wrong = sorted(k for k in set(own) & set(weights) if tuple(own[k].shape) != tuple(weights[k].shape))
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else ""))
        if extra:
            parts.append(f"unexpected {', '.join(extra[:3])}" + (" ..." if len(extra) > 3 else ""))
        for k in wrong[:3]:
            parts.append(f"{k} has shape {tuple(weights[k].shape)}, the model expects {tuple(own[k].shape)}")
        raise CheckpointError(f"{source} does not fit this model: " + "; ".join(parts))
    model.load_state_dict(weights)


def encoder_weights(source: str | Path) -> dict[str, torch.Tensor]:
    """Encoder weights from ``source``: a run directory (its newest valid checkpoint), a checkpoints folder, one of
    our checkpoint files (the ``encoder.`` part of its model), or a foreign weights file (:func:`read_weights`)."""
    path = Path(source).expanduser()
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        if not (folder / MANIFEST).is_file():
            raise CheckpointError(f"{path} is a folder but neither a run directory nor a checkpoints folder "
                                  "(no checkpoints/manifest.json)")
        return _encoder_part(load_checkpoint(folder).model, path)
    if path.suffix == ".safetensors" and path.is_file() and (path.parent / MANIFEST).is_file():
        return _encoder_part(load_checkpoint(path.parent, path.name).model, path)
    return read_weights(path)


def _encoder_part(model: dict[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    part = {k[len("encoder."):]: v for k, v in model.items() if k.startswith("encoder.")}
    if not part:
        raise CheckpointError(f"{source}: the checkpoint holds no encoder weights")
    return part


def fit_keys(weights: dict[str, torch.Tensor], own: dict[str, torch.Tensor], *, strip: str = "",
             key_map: tuple[str, ...] = ()) -> tuple[dict[str, torch.Tensor], str | None]:
    """Rename ``weights``' keys to the model's: ``key_map`` prefix rules (``old=new``) first, then ``strip`` (keys
    without that prefix are dropped). With no ``strip``, a prefix is found when one makes every model key fit
    (``module.``, ``backbone.``, ``encoder.``...); the second value names it."""
    for rule in key_map:
        old, new = rule.split("=", 1)
        weights = {(new + k[len(old):]) if k.startswith(old) else k: v for k, v in weights.items()}
    if strip:
        return {k[len(strip):]: v for k, v in weights.items() if k.startswith(strip)}, None
    if set(own) <= set(weights):
        return weights, None
    counts: dict[str, int] = {}
    for k in weights:
        for o in own:
            if k.endswith(o) and len(k) > len(o) and k[-len(o) - 1] == ".":
                counts[k[: len(k) - len(o)]] = counts.get(k[: len(k) - len(o)], 0) + 1
    for prefix, _ in sorted(counts.items(), key=lambda kv: -kv[1]):
        stripped = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
        if set(own) <= set(stripped):
            return stripped, prefix
    return weights, None


def load_encoder_weights(encoder: torch.nn.Module, source: str, *, strip: str = "",
                         key_map: tuple[str, ...] = ()) -> str | None:
    """Start ``encoder`` from ``source`` (see :func:`encoder_weights`); a mismatch is one sentence naming the
    missing and unexpected keys and the settings that rename them. Returns the prefix stripped on its own."""
    from core.errors import InitWeightsError

    name = Path(source).name
    try:
        weights = encoder_weights(source)
    except CheckpointError as err:
        raise InitWeightsError("training.init_weights", str(err), value=source) from None
    own = encoder.state_dict()
    weights, found = fit_keys(weights, own, strip=strip, key_map=key_map)
    device = next(iter(own.values())).device if own else torch.device("cpu")
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    wrong = sorted(k for k in set(own) & set(weights) if tuple(own[k].shape) != tuple(weights[k].shape))
    if missing or extra or wrong:
        def some(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) ({some(missing)})")
        if extra:
            parts.append(f"{len(extra)} unexpected key(s) ({some(extra)})")
        parts += [f"{k} has shape {tuple(weights[k].shape)} where the encoder has {tuple(own[k].shape)}"
                  for k in wrong[:2]]
        hint = "" if wrong and not (missing or extra) else (
            "; set training.init_strip_prefix (e.g. 'module.') or training.init_key_map (e.g. 'fc.=head.') to "
            "rename the keys")
        raise InitWeightsError("training.init_weights", f"{name} does not fit this model: " + ", ".join(parts) + hint,
                               value=source)
    encoder.load_state_dict({k: v.to(device) for k, v in weights.items()})
    return found
