"""The training engine: one generator that the GUI, the command line and the tests all drive.

``train(experiment)`` and ``resume(run_dir)`` are generators. They yield the events of
:mod:`core.training.events` (at least once per optimiser step, so a worker can pause or cancel promptly), take
commands through ``send()`` and return a :class:`TrainResult`. Closing the generator marks the run stopped.

Repeatability: the seed fixes the splits, the initial weights, the shuffling order (a pure function of seed
and epoch) and the torch RNG stream; evaluation and diagnostics run on a forked RNG so watching a run never
changes it. A checkpoint stores the model, the optimiser and the RNG state, so a resumed run ends with the
same weights as one that was never interrupted.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as _dt
import functools
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core import distributed
from core.compatibility import check_compatible
from core.config.schema import Experiment
from core.data.base import DATASETS, Dataset, DataSpec
from core.data.files.arrow import load_arrow
from core.data.splits import PreparedData, prepare_from_config, split_edges
from core.data.views import make_views
from core.diagnostics.collapse import Diagnostics, compute_diagnostics
from core.diagnostics.probes import KNNProbe, LinearProbe
from core.errors import ConfigError, NonFiniteLossError
from core.models.encoders import ENCODERS
from core.objectives.base import OBJECTIVES, Batch, Objective
from core.threads import blas_threads_for, limit_blas
from core.training import checkpoint as ckpt
from core.training import outcome
from core.training.events import (
    CheckpointSaved,
    EpochEnded,
    LearningRateChanged,
    RequestSnapshot,
    RunFinished,
    RunStarted,
    SaveCheckpoint,
    SetLearningRate,
    SnapshotReady,
    StepEnded,
    Stop,
    to_record,
)
from core.training.monitor import BackgroundMonitor
from core.training.rows import StreamedRows, rows_for
from core.training.rundir import ReplicaRunDirectory, RunDirectory, explain_os_error
from core.training.seeding import (
    GLOBAL_RNG_LOCK,
    RunRng,
    epoch_permutation,
    global_rng,
    lr_factor,
    resolve_device,
    seed_everything,
)
from core.training.trackers import make_trackers
from core.user_settings import resolve_root

_EVAL_SEED_OFFSET = 7_919
NOTES = logging.getLogger("replearn")  # things the user should know that are not errors


@dataclass(frozen=True)
class TrainResult:
    run_dir: str
    run_id: str
    status: str  # "finished" | "stopped"
    epochs_completed: int
    steps: int
    seconds: float
    final_epoch: EpochEnded | None
    test: Mapping[str, float]
    verdict: str = ""  # "diverged" (see RunFinished)
    advice: str = ""


def load_dataset(experiment: Experiment) -> Dataset:
    return load_data(experiment.data)


def load_data(data_config) -> Dataset:
    """The dataset a :class:`core.DataConfig` names, loaded with its parameters."""
    entry = DATASETS.get(data_config.name, field="data.name")
    dataset = entry.cls(data_config.params).load()
    for note in dataset.notes:  # the CLI prints them; the app shows them on the wizard's data page
        NOTES.info("%s: %s", dataset.source or dataset.name, note)
    return dataset


def _unused_label_column(data_config) -> str | None:
    """A column literally named 'label' in a Parquet or CSV file whose ``label_column`` is left empty."""
    import re

    params = data_config.params
    if getattr(params, "label_column", "") is not None or not getattr(params, "path", ""):
        return None
    path = Path(params.path)
    try:
        if path.suffix.lower() == ".parquet":
            load_arrow()
            import pyarrow.parquet as pq

            names = list(pq.read_schema(path).names)
        elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
            with open(path, encoding="utf-8-sig", errors="replace") as fh:
                names = [c.strip().strip('"') for c in re.split(r"[,;\t|]", fh.readline().rstrip("\r\n"))]
        else:
            return None
    except (OSError, ValueError):
        return None
    return next((n for n in names if n.lower() == "label"), None)


def build_model(experiment: Experiment, data: PreparedData) -> Objective:
    """Encoder + objective for this data, with the compatibility checks that need the data."""
    enc_entry = ENCODERS.get(experiment.encoder.name, field="encoder.name")
    obj_entry = OBJECTIVES.get(experiment.objective.name, field="objective.name")
    try:
        check_compatible(data.dataset.kind, enc_entry.name, obj_entry.name, data.dataset.has_labels)
    except ConfigError as err:  # "needs labels": say which member or column holds them, when the reader saw one
        hint = next((n for n in data.dataset.notes if "labels_array" in n or "label_column" in n), None)
        named = _unused_label_column(experiment.data)
        if hint is None and named is not None:
            hint = f"the file has a column named {named!r}: set data.params.label_column = \"{named}\" to use it"
        if hint is None or data.dataset.has_labels:
            raise
        raise ConfigError(err.field, f"{err.problem}; {hint}", value=err.value, allowed=err.allowed) from None
    spec = data_spec(data, seed=experiment.training.seed)
    encoder = enc_entry.cls(experiment.encoder.params, spec)
    views = None
    if obj_entry.cls.uses_views:
        views = make_views([(v.name, v.params) for v in experiment.views], spec)
    return obj_entry.cls(experiment.objective.params, encoder, spec, views)


def data_spec(data: PreparedData, seed: int) -> DataSpec:
    """What the model may know about the prepared data; a graph's edges are split into training and held-out."""
    ds = data.dataset
    edges = held_out = None
    if ds.edges is not None:
        edges, held_out = split_edges(ds.edges, held_out_fraction=0.1, seed=seed)
    return DataSpec(kind=ds.kind, sample_shape=ds.sample_shape, n_classes=ds.n_classes,
                    value_range=data.value_range, vocab_size=ds.vocab_size, edges=edges, held_out_edges=held_out,
                    reward=np.asarray(ds.metadata["reward"], dtype=np.float32) if "reward" in ds.metadata else None)


def make_optimizer(experiment: Experiment, model: torch.nn.Module) -> torch.optim.Optimizer:
    t = experiment.training
    params = [p for p in model.parameters() if p.requires_grad]
    if t.optimizer == "sgd":
        return torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
    if t.optimizer == "adam":
        return torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
    return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)


def _means(sums: Mapping[str, float], count: int) -> dict[str, float]:
    return {k: v / max(count, 1) for k, v in sums.items()}


class Trainer:
    """State of one run; :meth:`run` is the generator. Use :func:`train` / :func:`resume` rather than this class."""

    def __init__(self, experiment: Experiment, run: RunDirectory | Callable[[], RunDirectory], *,
                 resume_from: ckpt.LoadedCheckpoint | None = None):
        """``run`` is the run directory, or a function that creates it: a new run's directory is made only
        once the data loaded and the model was built, so a config or data error leaves nothing behind."""
        self.experiment = experiment
        self._make_run = run if callable(run) and not isinstance(run, RunDirectory) else None
        # a RunDirectory once the run has begun (None until a new run's directory is made): typed Any because
        # every use after the start relies on that, which mypy cannot follow
        self.run_dir: Any = run if self._make_run is None else None
        self._consistent = True  # False while a step changes the weights: no checkpoint may be taken then
        self.resume_from = resume_from
        self.run_id = uuid.uuid4().hex[:12]
        self.t = experiment.training
        self._pending: collections.deque = collections.deque()
        self._fallback_views = None
        self._stop = False
        self._early_stop = False
        self._best: tuple[float, int] | None = None  # (value, epoch) of training.keep_best's best so far
        self._since_best = 0
        self._last_checkpoint: str | None = None
        self._trackers: list[Any] = []
        self._monitor = BackgroundMonitor()  # per-epoch diagnostics, snapshot and checkpoint writes
        self._last_epoch_event: EpochEnded | None = None
        self.dist = distributed.current()
        if self.dist.enabled and not self.dist.is_main:  # only rank 0 measures, snapshots and writes
            self.t = dataclasses.replace(self.t, diagnostics_every=0, probe_every=0, snapshot_every=0)

    # ---- set-up -----------------------------------------------------------------------------------------
    def _setup(self) -> None:
        t = self.t
        if t.num_threads:
            torch.set_num_threads(t.num_threads)
        self.device = resolve_device(distributed.device_for(t.device, self.dist))
        seed_everything(t.seed)
        dataset = load_dataset(self.experiment)
        split = self.experiment.data.split
        self.data = prepare_from_config(dataset, split, seed=t.seed, loading=t.data_loading)
        n_train = len(self.data.splits.train)
        if t.batch_size > n_train:
            raise ConfigError("training.batch_size", f"{t.batch_size} is larger than the {n_train} training samples",
                              value=t.batch_size, allowed=f"1 <= value <= {n_train}")
        with GLOBAL_RNG_LOCK:  # no other thread draws between the seed and the run's own stream (seeding.py)
            torch.manual_seed(t.seed)  # initial weights depend on the seed alone, not on what loading consumed
            self.model = build_model(self.experiment, self.data).to(self.device)
            self.rng = RunRng(self.device)
        if t.init_weights:  # pretrained encoder weights (a resumed run then restores its own checkpoint)
            ckpt.load_encoder_weights(self.model.encoder, t.init_weights, strip=t.init_strip_prefix,
                                      key_map=t.init_key_map)
        if self.dist.enabled:  # before the optimizer: the new layers hold new Parameter objects
            distributed.convert_batch_norm(self.model)
        self.optimizer = make_optimizer(self.experiment, self.model)
        self.step_model: torch.nn.Module = self.model  # what the training step calls
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.step_model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)  # e.g. BYOL's target network takes no gradient
        if t.compile != "off":
            self.step_model = torch.compile(self.step_model, mode=t.compile)  # type: ignore[assignment]
        # mixed precision: autocast around the step; fp16 also scales the loss so small gradients survive
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(t.precision)
        self._autocast = (lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler(self.device.type) if t.precision == "fp16" else None

        y = torch.from_numpy(dataset.y) if dataset.y is not None else None
        self.X = rows_for(self.data.X, self.device, t.loader_workers)
        self.streaming = isinstance(self.X, StreamedRows)
        self.y = y.to(self.device) if y is not None else None
        self.train_idx = torch.from_numpy(self.data.splits.train).to(self.device)
        n = dataset.n
        size = min(t.snapshot_points, n)
        self.subset = np.sort(np.random.default_rng(t.seed + 2).choice(n, size=size, replace=False))
        held_out = self.data.splits.val if len(self.data.splits.val) else self.data.splits.train
        self.eval_idx = held_out[: t.eval_points]
        # the online probe learns on a fixed subset of the training split and is scored on the eval batch
        self.probe_idx = self.data.splits.train[: max(t.eval_points, 2000)]


        need = self.model.min_batch_size
        if t.batch_size < need:
            raise ConfigError("training.batch_size", f"{self.experiment.objective.name!r} needs batches of at least "
                              f"{need} samples", value=t.batch_size, allowed=f"value >= {need}")
        self.global_batch = t.batch_size * self.dist.world  # one step consumes this many samples, in all
        tail = n_train % self.global_batch
        # a last batch too small for the loss is skipped; so is one that cannot give every process B rows
        drop_tail = t.drop_last or 0 < tail < need or self.dist.enabled
        if n_train < self.global_batch:
            raise ConfigError("training.batch_size", f"{self.dist.world} processes × batch {t.batch_size} is more "
                              f"than the {n_train} training samples", value=t.batch_size,
                              allowed=f"1 <= value <= {n_train // self.dist.world}")
        self.steps_per_epoch = (n_train // self.global_batch if drop_tail
                                else math.ceil(n_train / self.global_batch))
        self.total_steps = self.steps_per_epoch * t.epochs
        self.warmup_steps = round(t.warmup_epochs * self.steps_per_epoch)
        self.base_lr = t.lr
        self.epoch, self.step, self.batch_in_epoch = 0, 0, 0
        if self.resume_from is not None:
            self._restore(self.resume_from)

    def _restore(self, loaded: ckpt.LoadedCheckpoint) -> None:
        ckpt.restore_model(self.model, loaded.model, loaded.path.name)
        try:
            self.optimizer.load_state_dict(loaded.optimizer)
        except (ValueError, KeyError, RuntimeError) as err:
            raise ckpt.CheckpointError(f"{loaded.path.name}: the optimiser state does not fit ({err})") from None
        with GLOBAL_RNG_LOCK:
            torch.set_rng_state(loaded.rng["torch_cpu"])
            cuda_states = [loaded.rng[k] for k in sorted(loaded.rng) if k.startswith("cuda/")]
            if cuda_states and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
            self.rng.capture()
        s = loaded.state
        self.epoch, self.step, self.batch_in_epoch, self.base_lr = s.epoch, s.step, s.batch_in_epoch, s.base_lr
        self._last_checkpoint = str(loaded.path)
        best = ckpt.best_checkpoint(self.run_dir.checkpoints)
        if best is not None and best["metric"] == self.t.keep_best:  # patience restarts; the best stays
            self._best = (best["value"], best["epoch"])

    # ---- the generator ----------------------------------------------------------------------------------
    def run(self) -> Generator[Any, Any, TrainResult]:
        started = self._run_start = time.perf_counter()
        try:
            self._setup()
        except BaseException:  # nothing was written: no run directory is left, a resumed run stays as it was
            if hasattr(self, "X"):
                self.X.close()
            if self.run_dir is not None:
                self.run_dir.close()
            raise
        if self._make_run is not None:
            try:
                self.run_dir = self._make_run()
            except BaseException:
                self.X.close()
                raise
        run = self.run_dir
        # trackers write into the run directory, which exists only now (a failed set-up leaves none behind)
        if self.t.log_to and self.dist.is_main and not isinstance(run, ReplicaRunDirectory):
            self._trackers = make_trackers(self.t.log_to, run)
        try:
            run.write_status(status="running", run_id=self.run_id, experiment=self.experiment.name,
                             started=_now(), device=str(self.device), versions=ckpt.versions(),
                             seed=self.t.seed, message="", split=self.data.splits.record())
            resumed = self.resume_from is not None
            # where the loss started and how high it went, to tell a diverged run
            history = [e.loss for e in run.read_events() if isinstance(e, StepEnded)] if resumed else []
            self._first_loss = history[0] if history else None
            self._peak_loss = max(history, default=None)
            with limit_blas(1):  # small problems: see core/threads.py
                initial = self._diagnostics(probe=True) if self.t.diagnostics_every else None
                baseline = self._raw_probe() if self.t.probe_every else None
            yield from self._emit(RunStarted(
                run_id=self.run_id, run_dir=str(run.path), experiment=self.experiment.name, device=str(self.device),
                epochs=self.t.epochs, steps_per_epoch=self.steps_per_epoch, start_epoch=self.epoch,
                start_step=self.step, n_train=len(self.data.splits.train), n_val=len(self.data.splits.val),
                n_test=len(self.data.splits.test), resumed=resumed, initial_diagnostics=initial,
                baseline_probe_accuracy=baseline, split=self.data.splits.describe()))
            if not resumed:
                run.write_preprocessing(self.data.preprocessing())
                run.save_array(run.SUBSET, self.subset)
                if self.data.dataset.y is not None:
                    run.save_array(run.SNAPSHOT_LABELS, self.data.dataset.y[self.subset])
                if self.t.snapshot_every:
                    yield from self._emit(self._snapshot(RunDirectory.snapshot_name(epoch=0)))
            self._run_start = time.perf_counter()  # StepEnded.elapsed counts training time, not set-up
            while self.epoch < self.t.epochs and not self._stop and not self._early_stop:
                yield from self._train_epoch()
            yield from self._drain()  # the last epoch's monitoring, before anything else is written
            yield from self._handle_commands()  # e.g. a Stop sent in reply to the last EpochEnded
            last_epoch_event = self._last_epoch_event
            if self._stop:
                status = "stopped"
                if self._last_checkpoint is None or not self._last_checkpoint.endswith(f"step_{self.step:07d}.safetensors"):
                    yield from self._emit(self._checkpoint("stop"))
                test: dict[str, float] = {}
            else:
                if ((self.t.checkpoint_every == 0 or self.epoch % self.t.checkpoint_every or self._early_stop)
                        and not (self._last_checkpoint or "").endswith(f"step_{self.step:07d}.safetensors")):
                    yield from self._emit(self._checkpoint("final"))
                self._restore_best()  # the end-of-run figures are the best checkpoint's, as evaluate's are
                test = self._final_evaluation()
                status = "finished"
            seconds = time.perf_counter() - started
            final_loss = test.get("test_loss", getattr(last_epoch_event, "train_loss", None))
            verdict = advice = ""
            peak = getattr(self, "_peak_loss", None)
            if (status == "finished" and self._first_loss is not None and final_loss is not None
                    and outcome.diverged(self._first_loss, final_loss, peak)):
                verdict = "diverged"
                advice = outcome.divergence_advice(self._first_loss, final_loss, self.base_lr, peak)
            yield from self._emit(RunFinished(run_id=self.run_id, status=status, epochs_completed=self.epoch,
                                              steps=self.step, seconds=seconds, test=test, verdict=verdict,
                                              advice=advice))
            best = ckpt.best_checkpoint(run.checkpoints) if self.dist.is_main else None
            run.write_status(status=status, finished=_now(), epochs_completed=self.epoch, steps=self.step,
                             test=test, last_checkpoint=self._last_checkpoint, verdict=verdict, advice=advice,
                             best_checkpoint=best,
                             message=(f"early stopping: {self.t.keep_best} did not improve for "
                                      f"{self.t.early_stopping} epochs" if self._early_stop else ""))
            return TrainResult(run_dir=str(run.path), run_id=self.run_id, status=status,
                               epochs_completed=self.epoch, steps=self.step, seconds=seconds,
                               final_epoch=last_epoch_event, test=test, verdict=verdict, advice=advice)
        except (GeneratorExit, KeyboardInterrupt) as err:
            why = "interrupted" if isinstance(err, KeyboardInterrupt) else "closed by the caller before the end"
            self._abandon_monitor()
            if isinstance(err, KeyboardInterrupt):
                self._checkpoint_before_leaving()
            _quietly(run.write_status, status="stopped", finished=_now(), epochs_completed=self.epoch,
                     steps=self.step, last_checkpoint=self._last_checkpoint, message=why)
            raise
        except BaseException as err:
            message = str(err) or type(err).__name__
            self._abandon_monitor()
            _quietly(run.write_status, status="failed", finished=_now(), message=message,
                     last_checkpoint=self._last_checkpoint)
            raise
        finally:
            self._monitor.close()  # nothing may write into the run directory once it is released
            run.close()
            for tracker in self._trackers:
                tracker.close()
            if hasattr(self, "X"):
                self.X.close()

    def _checkpoint_before_leaving(self) -> None:
        """Ctrl-C (or SIGTERM, which the CLI turns into it): keep the current state, so `resume` can continue
        from here even with ``checkpoint_every = 0`` - unless it landed mid-step, when the weights are half
        updated and the previous checkpoint is the last good state."""
        done = self._last_checkpoint is not None and self._last_checkpoint.endswith(f"step_{self.step:07d}.safetensors")
        if self._consistent and not done and hasattr(self, "optimizer") and self.step > 0:
            _quietly(self._checkpoint, "interrupted")

    def _emit(self, event: Any) -> Generator[Any, Any, None]:
        """Record and yield one event; queue whatever command comes back."""
        record = to_record(event)
        self.run_dir.append_metric(record)
        for tracker in self._trackers:
            tracker.log(record)
        command = yield event
        if isinstance(command, (list, tuple)):  # several commands arrived between two events
            self._pending.extend(command)
        elif command is not None:
            self._pending.append(command)

    def _settled(self, events: list[Any]) -> list[Any]:
        """Take note of background work that finished (the newest checkpoint, the last epoch's event)."""
        for event in events:
            if isinstance(event, CheckpointSaved) and event.path:
                self._last_checkpoint = event.path
            elif isinstance(event, EpochEnded):
                self._last_epoch_event = event
        return events

    def _emit_ready(self) -> Generator[Any, Any, None]:
        """Emit the events of background work finished by now (called between steps)."""
        for event in self._settled(self._monitor.ready()):
            yield from self._emit(event)

    def _drain(self) -> Generator[Any, Any, None]:
        """Wait for the background work and emit its events (before the manifest is written again, before
        the next epoch's monitoring, at the end of the run)."""
        for event in self._settled(self._monitor.wait()):
            yield from self._emit(event)

    def _abandon_monitor(self) -> None:
        """The run is failing or being closed: wait for the background work, log its events without yielding
        (a closed generator cannot), and note the checkpoint it wrote."""
        for event in self._settled(self._monitor.abandon()):
            _quietly(self.run_dir.append_metric, to_record(event))

    def _handle_commands(self) -> Generator[Any, Any, None]:
        while self._pending:
            command = self._pending.popleft()
            if isinstance(command, RequestSnapshot):
                yield from self._emit(self._snapshot(RunDirectory.snapshot_name(step=self.step)))
            elif isinstance(command, SaveCheckpoint):
                earlier = self._settled(self._monitor.wait())  # one writer of the manifest at a time
                yield from self._emit(self._checkpoint("requested"))  # the reply comes first
                for event in earlier:
                    yield from self._emit(event)
            elif isinstance(command, SetLearningRate):
                self.base_lr = float(command.lr)
                yield from self._emit(LearningRateChanged(run_id=self.run_id, step=self.step, base_lr=self.base_lr,
                                                          lr=self._lr_at(self.step)))
            elif isinstance(command, Stop):
                self._stop = True
            else:
                raise TypeError(f"unknown training command {command!r}")

    def _lr_at(self, step: int) -> float:
        return self.base_lr * lr_factor(self.t.schedule, step, self.total_steps, self.warmup_steps)

    def _train_epoch(self) -> Generator[Any, Any, None]:
        t = self.t
        epoch = self.epoch + 1
        perm = self.train_idx[epoch_permutation(len(self.train_idx), t.seed, epoch).to(self.device)]
        sums: dict[str, float] = collections.defaultdict(float)
        metric_sums: dict[str, float] = collections.defaultdict(float)
        seen, loss_sum = 0, 0.0
        epoch_start = time.perf_counter()
        last = epoch_start
        run_start = self._run_start
        self.model.train()
        G, B, r = self.global_batch, t.batch_size, self.dist.rank
        for b in range(self.batch_in_epoch, self.steps_per_epoch):
            if b == self.steps_per_epoch - 1 and self._monitor.busy:
                # the previous epoch's events come out within this epoch, so a Stop sent in reply to them
                # stops this epoch, and the files on disk are never more than one epoch ahead of the events
                yield from self._drain()
            global_idx = perm[b * G:(b + 1) * G]
            idx = global_idx[r * B:(r + 1) * B] if self.dist.enabled else global_idx
            for ahead in (1, 2) if self.streaming else ():  # loader threads read the next batches meanwhile
                if b + ahead < self.steps_per_epoch:
                    nxt = perm[(b + ahead) * G:(b + ahead + 1) * G]
                    self.X.prefetch(nxt)  # the whole global batch: one process, or the views' source
                    if self.dist.enabled:
                        self.X.prefetch(nxt[r * B:(r + 1) * B])
            lr = self._lr_at(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with self.rng.active():  # the run's own random stream, whatever other threads drew (seeding.py)
                batch = Batch(x=self.X[idx], y=self.y[idx] if self.y is not None else None, index=idx)
                if self.dist.enabled:
                    batch.global_x, batch.rows = self.X[global_idx], slice(r * B, (r + 1) * B)
                self.model.check_batch(batch)
                with distributed.gathering(), self._autocast():
                    out = self.step_model(batch)
                loss = float(out.loss.detach())
                if getattr(self, "_first_loss", None) is None:
                    self._first_loss = loss
                self._peak_loss = max(loss, getattr(self, "_peak_loss", None) or loss)
                terms = {k: float(v.detach()) for k, v in out.terms.items()}
            if not math.isfinite(loss):
                yield from self._drain()  # the error names the last checkpoint: the one being written counts
                raise NonFiniteLossError(epoch, self.step + 1, terms or {"loss": loss}, self._last_checkpoint)
            self._consistent = False
            self.optimizer.zero_grad(set_to_none=True)
            scaler = self.scaler
            with distributed.gathering():
                (scaler.scale(out.loss) if scaler else out.loss).backward()
            if t.grad_clip is not None:
                if scaler:
                    scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
            if scaler:
                scaler.step(self.optimizer)  # skips the step if fp16 gradients overflowed
                scaler.update()
            else:
                self.optimizer.step()
            self.step += 1
            self.model.on_step_end(self.step / self.total_steps)
            self.batch_in_epoch = b + 1
            self._consistent = True
            n = len(idx)
            seen += n
            loss_sum += loss * n
            for k, v in terms.items():
                sums[k] += v * n
            metrics = {k: float(v.detach()) for k, v in out.metrics.items()}
            for k, v in metrics.items():
                metric_sums[k] += v * n
            now = time.perf_counter()
            yield from self._emit(StepEnded(
                run_id=self.run_id, epoch=epoch, step=self.step, batch=b + 1, loss=loss, terms=terms,
                metrics=metrics, lr=lr, samples_per_second=n / max(now - last, 1e-9), elapsed=now - run_start))
            last = time.perf_counter()
            yield from self._handle_commands()
            if self._monitor.busy:
                yield from self._emit_ready()
            self._stop = distributed.agree_to_stop(self._stop)  # a command reaches rank 0 only
            if self._stop:
                return None
        self.epoch, self.batch_in_epoch = epoch, 0
        yield from self._drain()  # the previous epoch's monitoring: at most one epoch's work in flight
        watch_probe = t.keep_best in ("probe_accuracy", "knn_accuracy") and self.y is not None
        due = (t.diagnostics_every and epoch % t.diagnostics_every == 0) or watch_probe
        probe = (bool(t.probe_every) and (epoch % t.probe_every == 0 or epoch == t.epochs)) or watch_probe
        with self._eval_mode():
            val_loss, val_terms, val_metrics = (self._evaluate(self.data.splits.val) if self.dist.is_main
                                                else (None, {}, {}))
            # what needs the live model or the RNG stream is taken now; the rest runs beside the next epoch
            snapshot = (self.representation(self.subset).astype(np.float32)
                        if t.snapshot_every and epoch % t.snapshot_every == 0 else None)
            inputs = (self._diagnostic_inputs(probe=probe, known=(self.subset, snapshot)) if due
                      else (None, None))
        captured = (self._capture_checkpoint() if t.checkpoint_every and epoch % t.checkpoint_every == 0
                    else None)
        step, lr = self.step, self._lr_at(self.step - 1)
        make_event = functools.partial(
            EpochEnded, run_id=self.run_id, epoch=epoch, step=step, train_loss=loss_sum / max(seen, 1),
            train_terms=_means(sums, seen), train_metrics=_means(metric_sums, seen), val_loss=val_loss,
            val_terms=val_terms, val_metrics=val_metrics, seconds=time.perf_counter() - epoch_start, lr=lr)

        def finish() -> list[Any]:  # on the monitor's thread: arrays and files only, no model, no torch RNG
            with limit_blas(1):  # the diagnostics' SVDs and the probe's solver on the small eval batch
                diagnostics = self._diagnostics_from(inputs[0], probe=probe)
                projection = self._diagnostics_from(inputs[1], probe=False)
            event = make_event(diagnostics=diagnostics, projection_diagnostics=projection)
            self._save_matrices(epoch, diagnostics, projection)  # before the event: a follower finds them
            events: list[Any] = [event]
            if snapshot is not None:
                events.append(self._write_snapshot(RunDirectory.snapshot_name(epoch=epoch), snapshot, epoch, step))
            if captured is not None:
                events.append(self._write_checkpoint(captured, "epoch"))
            return events

        self._monitor.submit(finish)
        if t.keep_best:  # the best checkpoint is chosen on this epoch's figures before training goes on
            yield from self._drain()
            assert self._last_epoch_event is not None and self._last_epoch_event.epoch == epoch
            yield from self._keep_best(self._last_epoch_event)
        yield from self._handle_commands()
        return None

    # ---- the best checkpoint and early stopping ---------------------------------------------------------
    def _watched(self, event: EpochEnded) -> float | None:
        name = self.t.keep_best
        if name == "val_loss":
            return event.val_loss
        if name in ("probe_accuracy", "knn_accuracy"):
            value = getattr(event.diagnostics, name, None) if event.diagnostics is not None else None
            return None if value is None or not math.isfinite(value) else value
        key = name.removeprefix("val_")
        return event.val_metrics.get(key, event.val_terms.get(key))

    def _keep_best(self, event: EpochEnded) -> Generator[Any, Any, None]:
        name = self.t.keep_best
        if self.dist.is_main:
            value = self._watched(event)
            if value is None and name not in ("probe_accuracy", "knn_accuracy") and self._best is None:
                known = ["val_loss"] * (event.val_loss is not None) + [f"val_{k}" for k in event.val_metrics]
                if self.y is not None:
                    known += ["probe_accuracy", "knn_accuracy"]
                raise ConfigError("training.keep_best", f"this run records no {name!r}", value=name,
                                  allowed=", ".join(known) or "nothing: the run has no validation split")
            if value is not None:
                lower = name.endswith(("loss", "error", "mse"))
                better = self._best is None or (value < self._best[0] if lower else value > self._best[0])
                if better:
                    self._best, self._since_best = (value, event.epoch), 0
                    if not (self._last_checkpoint or "").endswith(f"step_{self.step:07d}.safetensors"):
                        yield from self._emit(self._checkpoint("best"))
                    ckpt.mark_best(self.run_dir.checkpoints, Path(self._last_checkpoint or "").name, metric=name,
                                   value=value, epoch=event.epoch)
                else:
                    self._since_best += 1
            patience = self.t.early_stopping
            self._early_stop = bool(patience) and self._since_best >= patience and event.epoch < self.t.epochs
        self._early_stop = distributed.agree_to_stop(self._early_stop)

    def _restore_best(self) -> None:
        """Load the best checkpoint's weights into the model before the end-of-run evaluation."""
        if not self.t.keep_best or not self.dist.is_main:
            return
        best = ckpt.best_checkpoint(self.run_dir.checkpoints)
        if best is None or (self._last_checkpoint or "").endswith(best["file"]):
            return
        loaded = ckpt.load_checkpoint(self.run_dir.checkpoints, best["file"])
        ckpt.restore_model(self.model, {k: v.to(self.device) for k, v in loaded.model.items()}, best["file"])

    # ---- measurements (never touch the training RNG stream) ---------------------------------------------
    def _forked_rng(self):
        return global_rng()  # locked: another thread's draws cannot change the seeded measurement views

    @contextlib.contextmanager
    def _eval_mode(self):
        """The model in eval mode inside the block (switching walks every module: only when it is needed)."""
        was_training = self.model.training
        if was_training:
            self.model.eval()
        try:
            yield
        finally:
            if was_training:
                self.model.train()

    def representation(self, indices: np.ndarray) -> np.ndarray:
        """Embeddings of dataset samples ``indices`` in the representation space (which every model has)."""
        Z = self.embed(indices)
        assert Z is not None
        return Z

    @torch.no_grad()
    def embed(self, indices: np.ndarray, batch_size: int = 2048, space: str = "representation") -> np.ndarray | None:
        """Embeddings of dataset samples ``indices`` as a float32 CPU array (eval mode); ``space`` is
        ``"representation"`` or ``"projection"`` (``None`` when the objective has no projector)."""
        fn = self.model.embed if space == "representation" else self.model.project
        parts = []
        with self._eval_mode(), self._forked_rng():
            for start in range(0, len(indices), batch_size):
                idx = torch.as_tensor(indices[start:start + batch_size], device=self.device)
                out = fn(self.X[idx])
                if out is None:
                    return None
                parts.append(out.float().cpu())
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return torch.cat(parts).numpy()

    @torch.no_grad()
    def _evaluate(self, indices: np.ndarray) -> tuple[float | None, dict[str, float], dict[str, float]]:
        """Mean loss, terms and metrics over held-out samples (eval mode, seeded RNG)."""
        if len(indices) == 0:
            return None, {}, {}
        sums: dict[str, float] = collections.defaultdict(float)
        metric_sums: dict[str, float] = collections.defaultdict(float)
        loss_sum = 0.0
        if len(indices) < self.model.min_batch_size:
            return None, {}, {}
        with self._eval_mode(), self._forked_rng():
            torch.manual_seed(self.t.seed + _EVAL_SEED_OFFSET)
            for chunk in eval_chunks(len(indices), max(self.t.batch_size, 256), self.model.min_batch_size):
                idx = torch.as_tensor(indices[chunk], device=self.device)
                out = self.model(Batch(x=self.X[idx], y=self.y[idx] if self.y is not None else None, index=idx))
                n = len(idx)
                loss_sum += float(out.loss) * n
                for k, v in out.terms.items():
                    sums[k] += float(v) * n
                for k, v in out.metrics.items():
                    metric_sums[k] += float(v) * n
        n = len(indices)
        return loss_sum / n, _means(sums, n), _means(metric_sums, n)

    def _diagnostics(self, probe: bool = False) -> Diagnostics | None:
        """Health of the eval batch's representation now (see :meth:`_diagnostic_inputs`)."""
        return self._diagnostics_from(self._diagnostic_inputs(probe=probe, projection=False)[0], probe=probe)

    def _diagnostic_inputs(self, probe: bool = False, projection: bool = True,
                           known: tuple[np.ndarray, np.ndarray | None] | None = None) -> tuple[Any, Any]:
        """What the diagnostics need from the live model, for the representation and (``projection``) the
        projector's space: the eval batch's embeddings, two augmented views' embeddings when the data kind has
        augmentations, and the probe subset's representation when the online probe runs and there are labels.
        Forward passes only, in eval mode on a forked RNG; :meth:`_diagnostics_from` does the rest.
        ``known``: (sorted indices, their representation) already computed this epoch (the snapshot), reused
        for the rows it holds."""
        spaces = ("representation", "projection") if projection else ("representation",)
        embedded = {space: (self._representation_of(self.eval_idx, known) if space == "representation"
                            else self.embed(self.eval_idx, space=space)) for space in spaces}
        usable = [space for space, Z in embedded.items() if Z is not None and len(Z) >= 2]
        views = self._two_view_embeddings(usable)
        inputs: list[Any] = []
        for space in ("representation", "projection"):
            Z = embedded.get(space)
            if space not in usable:
                inputs.append(None)
                continue
            probe_train = (self._representation_of(self.probe_idx, known)
                           if probe and self.y is not None and space == "representation" else None)
            inputs.append((Z, views.get(space), probe_train))
        return inputs[0], inputs[1]

    def _representation_of(self, indices: np.ndarray,
                           known: tuple[np.ndarray, np.ndarray | None] | None) -> np.ndarray:
        """The representation of ``indices``: rows of ``known`` when it holds them all, else a forward pass."""
        subset, Z = known if known is not None else (indices, None)
        if Z is not None and len(subset) and len(indices):
            at = np.minimum(np.searchsorted(subset, indices), len(subset) - 1)
            if np.array_equal(subset[at], indices):
                return Z[at]
        return self.representation(indices)

    def _diagnostics_from(self, inputs: Any, probe: bool) -> Diagnostics | None:
        """Diagnostics from :meth:`_diagnostic_inputs`' arrays (safe on the monitor's thread)."""
        if inputs is None:
            return None
        Z, views, probe_train = inputs
        probe_acc = knn_acc = None
        if probe and probe_train is not None:
            probe_acc, knn_acc = self._online_probe(probe_train, Z)
        return compute_diagnostics(Z, views=views, probe_accuracy=probe_acc, knn_accuracy=knn_acc,
                                   view_group=self.t.batch_size, view_strength=self.model.uses_views)

    def _save_matrices(self, epoch: int, *diags: Diagnostics | None) -> None:
        arrays = {}
        for prefix, d in zip(("representation", "projection"), diags, strict=True):
            for name in ("covariance", "cross_correlation"):
                value = getattr(d, name, None) if d is not None else None
                if value is not None:
                    arrays[f"{prefix}_{name}"] = value
        if arrays:
            self.run_dir.save_matrices(RunDirectory.matrices_name(epoch), **arrays)

    def _view_pipeline(self):
        if getattr(self.model, "views", None) is not None:
            return self.model.views
        if self._fallback_views is None:
            from core.data.views import DEFAULT_VIEWS

            kind = self.data.dataset.kind
            self._fallback_views = make_views([], self.model.data) if kind in DEFAULT_VIEWS else False
        return self._fallback_views or None

    @torch.no_grad()
    def _two_view_embeddings(self, spaces: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Two augmented views of the eval batch (the same every epoch), embedded in each of ``spaces``."""
        views = self._view_pipeline()
        if views is None or not spaces:
            return {}
        out = {}
        with self._eval_mode(), self._forked_rng():
            torch.manual_seed(self.t.seed + _EVAL_SEED_OFFSET + 1)  # the same views every epoch
            x = self.X[torch.as_tensor(self.eval_idx, device=self.device)]
            xa, xb = views(x), views(x)
            for space in spaces:
                fn = self.model.embed if space == "representation" else self.model.project
                a, b = fn(xa), fn(xb)
                if a is not None and b is not None:
                    out[space] = (a.float().cpu().numpy(), b.float().cpu().numpy())
        return out

    def _online_probe(self, Z_train: np.ndarray, Z_eval: np.ndarray) -> tuple[float, float]:
        """The probes fitted on the probe subset's representation ``Z_train``, scored on the eval batch's."""
        y = self.data.dataset.y
        assert y is not None  # the online probe runs on labelled data only
        if len(np.unique(y[self.probe_idx])) < 2:
            return float("nan"), float("nan")
        # the probe protocol on subsets: C is chosen on the eval batch, so this live figure is a little
        # optimistic; the test-split figure comes from the end-of-run probe (and `replearn evaluate`)
        y_eval = y[self.eval_idx]
        probe = LinearProbe(max_iter=300, random_state=self.t.seed).fit(Z_train, y[self.probe_idx], Z_eval, y_eval)
        knn_probe = KNNProbe().fit(Z_train, y[self.probe_idx])
        return probe.score(Z_eval, y_eval), knn_probe.score(Z_eval, y_eval)

    def _raw_probe(self) -> float | None:
        """The online probe on the raw (normalised) input features: the line a representation should beat."""
        y = self.data.dataset.y
        if y is None or len(np.unique(y[self.probe_idx])) < 2:
            return None
        def raw(rows: np.ndarray) -> np.ndarray:  # only these rows: streamed data is never read whole
            return np.asarray(self.data.X[rows]).reshape(len(rows), -1)

        probe = LinearProbe(max_iter=300, random_state=self.t.seed).fit(raw(self.probe_idx), y[self.probe_idx],
                                                                         raw(self.eval_idx), y[self.eval_idx])
        return probe.score(raw(self.eval_idx), y[self.eval_idx])

    def _snapshot(self, relative: str) -> SnapshotReady:
        Z = self.representation(self.subset).astype(np.float32)
        return self._write_snapshot(relative, Z, self.epoch, self.step)

    def _write_snapshot(self, relative: str, Z: np.ndarray, epoch: int, step: int) -> SnapshotReady:
        path = self.run_dir.save_array(relative, Z)
        Z.setflags(write=False)
        return SnapshotReady(run_id=self.run_id, epoch=epoch, step=step, path=str(path), embeddings=Z)

    def _capture_checkpoint(self) -> ckpt.CapturedCheckpoint | None:
        """A copy of the state to checkpoint (``None`` on the ranks that do not write)."""
        if not self.dist.is_main:
            return None
        state = ckpt.TrainingState(epoch=self.epoch, step=self.step, batch_in_epoch=self.batch_in_epoch,
                                   base_lr=self.base_lr, seed=self.t.seed)
        with self.rng.active():  # the checkpoint records the run's own random stream, not the process's
            return ckpt.capture_checkpoint(model=self.model, optimizer=self.optimizer, state=state)

    def _write_checkpoint(self, captured: ckpt.CapturedCheckpoint, reason: str) -> CheckpointSaved:
        try:
            path = ckpt.write_checkpoint(self.run_dir.checkpoints, captured, reason=reason,
                                         keep=self.t.keep_checkpoints)
        except OSError as err:
            raise explain_os_error(err, f"a checkpoint in {self.run_dir.checkpoints}") from None
        return CheckpointSaved(run_id=self.run_id, epoch=captured.state.epoch, step=captured.state.step,
                               path=str(path), reason=reason)

    def _checkpoint(self, reason: str) -> CheckpointSaved:
        """Checkpoint now, on this thread (the monitor must hold no checkpoint write: see :meth:`_drain`)."""
        captured = self._capture_checkpoint()
        if captured is None:  # rank 0 writes the checkpoint for everyone
            return CheckpointSaved(run_id=self.run_id, epoch=self.epoch, step=self.step, path="", reason=reason)
        saved = self._write_checkpoint(captured, reason)
        self._last_checkpoint = saved.path
        return saved

    def _final_evaluation(self) -> dict[str, float]:
        """Test-split loss and metrics, and the linear probe (:data:`core.diagnostics.probes.PROBE_PROTOCOL`,
        the same as ``replearn evaluate``) and kNN on the frozen embeddings."""
        splits = self.data.splits
        target = splits.test if len(splits.test) else splits.val
        if len(target) == 0 or not self.dist.is_main:
            return {}
        loss, terms, metrics = self._evaluate(target)
        assert loss is not None  # the target split is not empty
        result: dict[str, float] = {"test_loss": loss, **{f"test_{k}": v for k, v in terms.items()},
                  **{f"test_{k}": v for k, v in metrics.items()}}
        y = self.data.dataset.y
        if y is not None and len(np.unique(y[splits.train])) >= 2:
            train_z, target_z = self.representation(splits.train), self.representation(target)
            val_z = self.representation(splits.val) if len(splits.val) else None
            with limit_blas(blas_threads_for(*train_z.shape)):
                probe = LinearProbe(random_state=0).fit(train_z, y[splits.train], val_z, y[splits.val])
                result["linear_probe_accuracy"] = probe.score(target_z, y[target])
                result["knn_accuracy"] = KNNProbe().fit(train_z, y[splits.train]).score(target_z, y[target])
        return result


def eval_chunks(n: int, size: int, min_size: int) -> list[slice]:
    """Slices of ``range(n)`` of ``size``, with a tail shorter than ``min_size`` merged into the chunk before it."""
    chunks = [slice(i, min(i + size, n)) for i in range(0, n, size)]
    if len(chunks) > 1 and chunks[-1].stop - chunks[-1].start < min_size:
        chunks[-2:] = [slice(chunks[-2].start, n)]
    return chunks


_WARM_UP_LOCK = threading.Lock()
_warmed_up = False


def warm_up_engine() -> None:
    """Import what the first training step imports lazily (torch's optimisers pull in torch._dynamo and its
    configuration on their first ``step``; scikit-learn its solvers on the first probe; pyarrow, which two
    loaders must not import at once). A GUI calls this in the background at start-up: otherwise those imports land
    in the first run and hold the GIL for up to 200 ms at a time, which the window feels.

    Once per process, under a lock: a run started while the background warm-up is still importing calls it too and
    waits for it, instead of importing torch._dynamo beside it (two threads registering torch's operators at once
    failed with "operator _c10d_functional::_wrap_tensor_autograd does not exist")."""
    global _warmed_up
    with _WARM_UP_LOCK:
        if not _warmed_up:
            _warm_up()
            _warmed_up = True


def _warm_up() -> None:
    rng = np.random.default_rng(0)
    with global_rng():  # a run may be training already: its random stream is not ours to draw from
        model = torch.nn.Linear(4, 2)
    for opt in (torch.optim.AdamW(model.parameters(), lr=1e-3), torch.optim.SGD(model.parameters(), lr=1e-3)):
        loss = model(torch.from_numpy(rng.normal(size=(8, 4)).astype(np.float32))).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    LinearProbe(max_iter=20).fit(rng.normal(size=(20, 4)), np.arange(20) % 2)
    load_arrow()  # before any two loaders can race for its first import


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _quietly(fn, *args, **kwargs) -> None:
    """Best effort: recording a failure must not hide the failure itself."""
    with contextlib.suppress(Exception):  # any failure here would hide the first one
        fn(*args, **kwargs)


def _run_name(experiment: Experiment) -> str:
    if experiment.output.run_name:
        return experiment.output.run_name
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{experiment.name.replace(' ', '_')}-{stamp}"


def train(experiment: Experiment, *, out: str | Path | None = None) -> Generator[Any, Any, TrainResult]:
    """Train ``experiment`` in a new run directory under ``out`` (default: ``experiment.output.root``)."""
    context = distributed.setup(experiment.training.device)

    def make_run() -> RunDirectory:  # called once the data loaded and the model was built
        if not context.is_main:  # data-parallel: rank 0 alone writes
            return ReplicaRunDirectory(Path(out if out is not None else resolve_root(experiment.output.root))
                                       / "(rank-0-writes)")
        run = RunDirectory.create(out if out is not None else resolve_root(experiment.output.root),
                                  _run_name(experiment))
        run.acquire()
        try:
            run.write_config(experiment)
        except BaseException:
            run.close()
            raise
        return run

    return (yield from Trainer(experiment, make_run).run())


def resume(run_dir: str | Path, *, epochs: int | None = None, device: str | None = None,
           checkpoint: str | None = None) -> Generator[Any, Any, TrainResult]:
    """Continue a run from its newest valid checkpoint (or ``checkpoint``), optionally to more ``epochs``.

    A run stopped after its last epoch but before its end of run resumes into just the end of run (test
    evaluation, final probe and checkpoint) and ends "finished"; a finished run needs more ``epochs``.

    Changing ``epochs`` changes the learning-rate schedule's length, so only an unchanged run resumes
    bit-exactly.
    """
    run = RunDirectory.open(run_dir)
    experiment = run.read_config()
    if not distributed.setup(experiment.training.device).is_main:
        run = ReplicaRunDirectory(run.path)  # reads the checkpoint like rank 0, writes nothing
    changes: dict[str, Any] = {}
    if epochs is not None:
        changes["epochs"] = epochs
    if device is not None:
        changes["device"] = device
    run.acquire()  # before reading the checkpoint: another writer could be replacing it
    try:
        if changes:
            experiment = experiment.with_training(**changes)
        loaded = ckpt.load_checkpoint(run.checkpoints, checkpoint)
        all_epochs_done = loaded.state.epoch >= experiment.training.epochs and loaded.state.batch_in_epoch == 0
        # stopped (or failed) after its last epoch, before the end of run: resuming runs just the end of run
        # (test evaluation, final probe and checkpoint) and the run ends "finished"
        end_of_run_only = (all_epochs_done and loaded.state.epoch == experiment.training.epochs
                           and run.read_status().get("status") != "finished")
        if all_epochs_done and not end_of_run_only:
            raise ConfigError("training.epochs", f"the run already completed {loaded.state.epoch} epoch(s); "
                              "pass more epochs to continue it", value=experiment.training.epochs,
                              allowed=f"more than {loaded.state.epoch}")
        if changes:
            run.write_config(experiment)
    except BaseException:
        run.close()
        raise
    return (yield from Trainer(experiment, run, resume_from=loaded).run())


def run_to_end(generator: Generator[Any, Any, TrainResult]) -> TrainResult:
    """Drive a training generator to completion without looking at its events (tests, scripts)."""
    try:
        while True:
            next(generator)
    except StopIteration as stop:
        return stop.value
