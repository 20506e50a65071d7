"""The model out: a run's encoder as safetensors, TorchScript or ONNX, with its preprocessing and a card.

``replearn export RUN --format F`` writes into ``RUN/export/`` (or ``--out``):

- ``encoder.safetensors`` — the encoder's weights (state dict), for this code base or any safetensors reader;
- ``encoder.pt`` (TorchScript) / ``encoder.onnx`` — a self-contained graph that takes *raw* samples of the input
  shape, exactly as the data reader produces them (images scaled to [0, 1], channels first), applies the
  normaliser fitted on the training split, and returns the representation ``(batch, dim)``; the batch size is free;
- ``preprocessing.json`` — data kind, input shape, the normaliser's ``shift`` (mean or minimum) and ``scale``
  (standard deviation or range): ``x_model = (x - shift) / scale`` on the flattened sample;
- ``card.json`` — objective, encoder, data set, checkpoint, metrics, versions, and the check made on export.

Graphs are traced (``torch.jit.trace`` / ``torch.onnx.export``), then loaded back and compared with the encoder on
real training samples; an export whose outputs differ by more than :data:`ATOL` + :data:`RTOL` · |z| is refused and
nothing is written.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.data.splits import Normalizer
from core.errors import ExportError
from core.fileio import atomic_write_bytes, atomic_write_json, sha256_file

FORMATS = ("safetensors", "torchscript", "onnx")
FILE_NAMES = {"safetensors": "encoder.safetensors", "torchscript": "encoder.pt", "onnx": "encoder.onnx"}
ATOL, RTOL = 1e-4, 1e-4  # float32 graphs vs eager: kernels differ in summation order, not more
CHECK_SAMPLES = 64


class WithPreprocessing(nn.Module):
    """Raw sample → normaliser → encoder: what the exported graphs compute."""

    shift: torch.Tensor  # buffers: the normaliser's shift and scale
    scale: torch.Tensor

    def __init__(self, encoder: nn.Module, normalizer: Normalizer, input_shape: tuple[int, ...]):
        super().__init__()
        self.encoder = encoder
        self.input_shape = tuple(input_shape)
        self.normalize = normalizer.kind != "none"
        self.register_buffer("shift", torch.from_numpy(np.asarray(normalizer.shift, np.float32)))
        self.register_buffer("scale", torch.from_numpy(np.asarray(normalizer.scale, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = ((x.flatten(1) - self.shift) / self.scale).reshape(x.shape)
        return self.encoder(x)


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: dict[str, Path]
    card: dict[str, Any]


def preprocessing_of(run, model) -> dict[str, Any]:
    """The run's saved preprocessing; runs made before it was saved get it fitted again (same seed, same split)."""
    record = run.read_preprocessing()
    return record if record is not None else model.data.preprocessing()


def export_encoder(run_dir: str | Path, fmt: str, *, out: str | Path | None = None, checkpoint: str | None = None,
                   device: str = "cpu") -> ExportResult:
    from core.training.inference import load_trained
    from core.training.rundir import RunDirectory

    if fmt not in FORMATS:
        from core.errors import ConfigError

        raise ConfigError("--format", f"unknown export format {fmt!r}", value=fmt, allowed=", ".join(FORMATS))
    run = RunDirectory.open(run_dir)
    model = load_trained(run_dir, checkpoint=checkpoint, device=device)
    pre = preprocessing_of(run, model)
    encoder = model.model.encoder.eval()
    shape = tuple(pre["input_shape"])
    wrapped = WithPreprocessing(encoder, Normalizer.from_record(pre["normalization"]), shape).eval()
    raw = np.ascontiguousarray(model.data.dataset.X[model.data.splits.train[:CHECK_SAMPLES]], dtype=np.float32)
    x = torch.from_numpy(raw).to(model.device)
    with torch.no_grad():
        expected = wrapped(x).float().cpu().numpy()
    name = FILE_NAMES[fmt]
    check: dict[str, Any] = {"samples": len(raw)}
    if fmt == "safetensors":
        from safetensors.torch import save

        tensors = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
        payload = save(tensors, metadata={"encoder": model.experiment.encoder.name, "format": "replearn-encoder-1"})
    elif fmt == "torchscript":
        payload = _torchscript(wrapped, x, expected, check)
    else:
        payload = _onnx(wrapped, x, expected, check, model.experiment.encoder.name)
    directory = Path(out) if out is not None else run.exports
    files = {"model": directory / name, "preprocessing": directory / "preprocessing.json",
             "card": directory / "card.json"}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(files["model"], payload)
        atomic_write_json(files["preprocessing"], pre)
        card = _card(run, model, fmt, files["model"], pre, expected.shape[1], check, checkpoint)
        atomic_write_json(files["card"], card)
    except OSError as err:
        raise ExportError(f"cannot write the export into {directory}: {err.strerror or err}") from None
    return ExportResult(directory, files, card)


def _compare(got: np.ndarray, expected: np.ndarray, what: str, check: dict[str, Any]) -> None:
    diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
    check.update(max_abs_difference=diff, atol=ATOL, rtol=RTOL)
    if got.shape != expected.shape or not np.allclose(got, expected, atol=ATOL, rtol=RTOL):
        raise ExportError(f"the exported {what} does not reproduce the encoder (largest difference {diff:.3g}, "
                          f"allowed {ATOL:g} + {RTOL:g}·|z|); nothing was written")


def _torchscript(wrapped: nn.Module, x: torch.Tensor, expected: np.ndarray, check: dict[str, Any]) -> bytes:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # trace's deprecation and "converting a tensor to a Python" notes
            traced = torch.jit.trace(wrapped, x, check_trace=False)
            buf = io.BytesIO()
            torch.jit.save(traced, buf)
    except Exception as err:  # noqa: BLE001 - whatever tracing raises is about the encoder's code
        raise ExportError(f"the encoder cannot be traced to TorchScript ({type(err).__name__}: "
                          f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}); nothing was written") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice: TorchScript is still what C++ / mobile load
        loaded = torch.jit.load(io.BytesIO(buf.getvalue()), map_location=x.device)
    half = max(1, len(x) // 2)  # another batch size than the traced one: the graph must not have fixed it
    with torch.no_grad():
        got = np.concatenate([loaded(x[:half]).float().cpu().numpy(), loaded(x[half:]).float().cpu().numpy()]) \
            if len(x) > 1 else loaded(x).float().cpu().numpy()
    _compare(got, expected, "TorchScript graph", check)
    check["runtime"] = f"torch.jit {torch.__version__}"
    return buf.getvalue()


def _onnx(wrapped: nn.Module, x: torch.Tensor, expected: np.ndarray, check: dict[str, Any], encoder: str) -> bytes:
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped.cpu(), (x.cpu(),), buf,  # type: ignore[arg-type]  # a file object works
                              input_names=["input"], output_names=["embedding"],
                              dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}}, dynamo=False,
                              opset_version=17)
    except Exception as err:  # noqa: BLE001 - an operator ONNX lacks, data-dependent control flow, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"the encoder {encoder!r} cannot be exported to ONNX ({type(err).__name__}: {first}); "
                          "nothing was written. TorchScript or safetensors may still work") from None
    payload = buf.getvalue()
    try:
        import onnxruntime as ort
    except ImportError:
        check["runtime"] = "not checked (onnxruntime is not installed)"
        return payload
    session = ort.InferenceSession(payload, providers=["CPUExecutionProvider"])
    x_np = x.cpu().numpy()
    half = max(1, len(x_np) // 2)  # other batch sizes than the traced one: a baked-in shape or constant shows
    got = np.concatenate([session.run(None, {"input": part})[0] for part in (x_np[:half], x_np[half:]) if len(part)])
    _compare(got, expected, "ONNX graph", check)
    check["runtime"] = f"onnxruntime {ort.__version__}"
    return payload


def _card(run, model, fmt: str, model_file: Path, pre: dict[str, Any], dim: int, check: dict[str, Any],
          checkpoint: str | None) -> dict:
    from core.fileio import json_ready
    from core.params import to_mapping
    from core.training.checkpoint import versions

    exp = model.experiment
    ds = model.data.dataset
    status = run.read_status()
    metrics: dict[str, Any] = {f"final/{k}": v for k, v in (status.get("test") or {}).items()}
    evaluation = run.read_evaluation()
    if evaluation is not None:
        try:
            learned = evaluation["results"]["learned"]["metrics"]
            metrics.update({f"evaluation/{k}": v.get("value") for k, v in learned.items()})
        except (KeyError, TypeError, AttributeError):
            pass  # a damaged evaluation record leaves the card without its metrics, not without a card
    used = model.checkpoint  # the one the model was loaded from, hash verified: not loaded a second time
    all_versions = dict(versions())
    if fmt == "onnx":
        import onnx

        all_versions["onnx"] = onnx.__version__
    return json_ready({
        "format": 1, "export_format": fmt, "file": model_file.name, "sha256": sha256_file(model_file),
        "run": str(run.path), "experiment": exp.name, "description": exp.description,
        "objective": {"name": exp.objective.name, "params": to_mapping(exp.objective.params)},
        "encoder": {"name": exp.encoder.name, "params": to_mapping(exp.encoder.params), "output_dim": dim},
        "dataset": {"name": ds.name, "reader": exp.data.name, "source": ds.source, "kind": ds.kind,
                    "samples": ds.n, "classes": list(ds.label_names), "split": model.data.splits.record()},
        "checkpoint": {"file": used.file, "step": used.step, "epoch": used.epoch},
        "input": {"shape": pre["input_shape"], "dtype": "float32", "data_kind": pre["data_kind"],
                  "preprocessing": "applied inside the graph" if fmt != "safetensors" else
                  "apply preprocessing.json before the encoder"},
        "metrics": metrics, "versions": all_versions, "check": check, "seed": exp.training.seed,
    })
