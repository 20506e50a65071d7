"""``replearn``: the command line front end of the training engine.

Exit codes: 0 success, 1 failure while running, 2 bad usage, configuration or input data, 130 interrupted (Ctrl-C or
SIGTERM: a training run first stops after the current step and saves a checkpoint; a second signal interrupts at
once). Errors print as one sentence; ``--debug`` shows the traceback. Notes (a file read as Latin-1, rows
dropped, the checkpoint used) print as ``replearn: note: ...`` on stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import core

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one sentence and the usage line, exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"replearn: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from core._version import __version__

    parser = _Parser(prog="replearn", description="Train and inspect representation-learning runs.")
    parser.add_argument("--version", action="version", version=f"replearn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    common = _Parser(add_help=False)
    common.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import this plugin module (or installed entry point) first; repeatable")
    add = sub.add_parser

    def add_parser(name: str, **kwargs: Any) -> Any:
        return add(name, parents=[common], **kwargs)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("train", help="train an experiment (a TOML file or a preset name)",
                       description="Train an experiment. EXPERIMENT is a TOML file or the name of a preset "
                                   "(see `replearn list presets`).")
    p.add_argument("experiment", metavar="EXPERIMENT")
    p.add_argument("--out", metavar="DIR", help="folder for the run directory (default: the experiment's output.root)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides training.device)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--seed", type=int, help="override training.seed")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override any setting by its dotted key, e.g. training.lr=0.01, encoder.params.hidden=[64,32], "
                        "data.split.mode=predefined (typed by the schema; repeatable)")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")

    p = sub.add_parser("resume", help="continue a run from its newest valid checkpoint",
                       description="Continue a run directory from its newest checkpoint whose hash verifies.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--epochs", type=int, help="train to this many epochs in total (changes the LR schedule)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--checkpoint", metavar="FILE", help="resume from this checkpoint instead of the newest")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")

    p = sub.add_parser("evaluate", help="evaluate a run's representation against baselines",
                       description="Every registered evaluation (linear probe, kNN, clustering, retrieval, "
                                   "calibration, ...: see `replearn list evaluations`), on the run's representation "
                                   "and on three baselines (raw features, PCA, random-init encoder). The evaluation "
                                   "is stored in the run's reports folder, where the GUI finds it.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--evaluations", help="comma-separated subset (default: all; see `replearn list evaluations`)")
    p.add_argument("--no-baselines", action="store_true", help="evaluate the learned representation only")
    p.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the default (the best one when training kept one, else the newest)")
    p.add_argument("--out", metavar="FILE", help="where to write the results (default: RUN_DIR/reports/evaluation.json)")
    p.add_argument("--json", action="store_true", help="print the evaluation record as JSON")

    p = sub.add_parser("report", help="build a run's probe report (HTML, PDF, JSON, Markdown, CSV)",
                       description="Evaluate a run against its baselines and write the probe report into RUN_DIR/reports "
                                   "(or --out).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--formats", default="html,pdf,json,md,csv", help="comma-separated: html, pdf, json, md, csv")
    p.add_argument("--out", metavar="DIR", help="folder for the report files (default: RUN_DIR/reports)")
    p.add_argument("--evaluations", help="comma-separated subset (default: all; see `replearn list evaluations`)")

    p = sub.add_parser("transfer", help="frozen vs fine-tuned vs from-scratch on a new dataset, over label budgets",
                       description="Take a run's encoder to DATASET (same sample shape) and print test accuracy per "
                                   "number of labels per class for a frozen encoder + linear head, fine-tuning, and "
                                   "the same architecture from scratch.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("dataset", metavar="DATASET", help="a registered dataset name (see `replearn list datasets`)")
    p.add_argument("--budgets", default="1,5,10,50,all", help="labels per class, comma-separated; 'all' = every label")
    p.add_argument("--epochs", type=int, default=30, help="epochs of fine-tuning / training from scratch")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("export", help="write a run's encoder as safetensors, TorchScript or ONNX, with its preprocessing",
                       description="Write the encoder of RUN_DIR (newest checkpoint, or --checkpoint) with its "
                                   "preprocessing (normaliser mean and scale, input shape, data kind) and a JSON card "
                                   "(objective, data set, metrics, versions) into RUN_DIR/export (or --out). "
                                   "TorchScript and ONNX graphs take raw samples and apply the normaliser themselves; "
                                   "each is loaded back and compared with the encoder before it is written.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", default="safetensors", choices=["safetensors", "torchscript", "onnx"])
    p.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the default (the best one when training kept one, else the newest)")
    p.add_argument("--out", metavar="DIR", help="folder for the files (default: RUN_DIR/export)")
    p.add_argument("--device", default="cpu", help="where the encoder is traced and checked (default: cpu)")

    p = sub.add_parser("embed", help="embed new data with a run's encoder and its saved preprocessing",
                       description="Read DATA (a file or folder; the reader is guessed from its name, or --reader), "
                                   "normalise it with the run's saved preprocessing and write its embeddings to "
                                   "--out: .npy (vectors), .parquet (a vector column 'embedding' plus label and "
                                   "metadata columns) or .csv.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.npy, FILE.parquet or FILE.csv")
    p.add_argument("--reader", help="the dataset reader to use (see `replearn list datasets`)")
    p.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the default (the best one when training kept one, else the newest)")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default: cpu)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="reader_params",
                   help="a reader setting for DATA (label_column=species); data read by the run's own reader "
                        "keeps the run's settings unless set here; repeatable")

    p = sub.add_parser("list", help="list registered datasets, encoders, objectives, augmentations, evaluations, "
                                    "presets, or runs",
                       description="List what can be named in an experiment file (and `--evaluations`), or the runs "
                                   "in a folder with their status (a run whose process vanished shows as interrupted).")
    p.add_argument("what", choices=["datasets", "encoders", "objectives", "augmentations", "evaluations", "presets",
                                    "runs"])
    p.add_argument("--root", metavar="DIR", help="the runs folder (for `list runs`; default: the one the app uses)")
    p.add_argument("--json", action="store_true", help="print a JSON list")

    p = sub.add_parser("describe", help="explain one dataset, encoder, objective, augmentation or evaluation and its "
                                        "parameters",
                       description="Show the documentation and every parameter (default, allowed values, help).")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--kind", choices=["dataset", "encoder", "objective", "augmentation", "evaluation"],
                   help="when NAME exists in several registries")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")

    p = sub.add_parser("plugins", help="list installed plugin entry points and the plugins loaded",
                       description="Installed packages can offer encoders, objectives, datasets and evaluations as "
                                   "entry points (groups replearn.encoders, replearn.objectives, replearn.datasets, "
                                   "replearn.evaluations). They are listed here, and loaded only when named: "
                                   "plugins = [\"NAME\"] in the experiment file or --plugin NAME.")
    p.add_argument("--json", action="store_true", help="print a JSON object")

    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)",
                       description="Print a completion script: `replearn completion bash > "
                                   "~/.local/share/bash-completion/completions/replearn`, or for zsh into a folder "
                                   "on $fpath as _replearn.")
    p.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    return parser


# ---- progress ---------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr (only on a terminal) and one summary line per epoch on stdout."""

    def __init__(self, out: TextIO, err: TextIO, quiet: bool):
        self.out, self.err, self.quiet = out, err, quiet
        self.tty = hasattr(err, "isatty") and err.isatty() and not quiet
        self.total = 0
        self.start_step = 0
        self.epochs = 0
        self._last_draw = 0.0
        self._t0 = time.perf_counter()

    def handle(self, event: Any) -> None:
        if isinstance(event, core.RunStarted):
            self.total, self.start_step, self.epochs = event.total_steps, event.start_step, event.epochs
            self._t0 = time.perf_counter()
            if not self.quiet:
                verb = "Resuming" if event.resumed else "Training"
                print(f"{verb} {event.experiment} on {event.device}: {event.n_train} training samples, "
                      f"{event.epochs} epoch{'s' if event.epochs != 1 else ''} x {event.steps_per_epoch} step"
                      f"{'s' if event.steps_per_epoch != 1 else ''} -> {event.run_dir}", file=self.out)
                if event.split.startswith("official"):
                    print(f"the final evaluation scores on the data set's {event.split}", file=self.out)
        elif isinstance(event, core.StepEnded) and self.tty:
            now = time.perf_counter()
            if now - self._last_draw > 0.1 or event.step == self.total:
                self._last_draw = now
                self._bar(event)
        elif isinstance(event, core.EpochEnded) and not self.quiet:
            self._clear()
            print(self._epoch_line(event), file=self.out, flush=True)
        elif isinstance(event, core.LearningRateChanged) and not self.quiet:
            print(f"learning rate set to {event.base_lr:g}", file=self.out)

    def _bar(self, e: Any) -> None:
        done = e.step - self.start_step
        todo = max(self.total - self.start_step, 1)
        frac = min(done / todo, 1.0)
        elapsed = time.perf_counter() - self._t0
        eta = elapsed / max(frac, 1e-9) - elapsed
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.err.write(f"\r[{bar}] {frac:5.1%} epoch {e.epoch}/{self.epochs} loss {e.loss:.4f} ETA {eta:5.0f}s ")
        self.err.flush()

    def _clear(self) -> None:
        if self.tty:
            self.err.write("\r" + " " * 90 + "\r")
            self.err.flush()

    def _epoch_line(self, e: Any) -> str:
        parts = [f"epoch {e.epoch:>{len(str(self.epochs))}}/{self.epochs}", f"loss {e.train_loss:.4f}"]
        if e.val_loss is not None:
            parts.append(f"val_loss {e.val_loss:.4f}")
        parts += [f"val_{k} {v:.4f}" for k, v in e.val_metrics.items()]
        if e.diagnostics is not None:
            parts.append(f"rank {e.diagnostics.effective_rank:.1f}/{e.diagnostics.dim}")
        parts.append(f"{e.seconds:.2f}s")
        return "  ".join(parts)


class Interrupted(Exception):
    """Training stopped because of Ctrl-C or SIGTERM, after saving a checkpoint."""

    def __init__(self, signum: int, result: Any):
        self.signum, self.result = signum, result


class _StopOnSignal:
    """Ctrl-C and SIGTERM while training: the first asks the run to stop after the current step, which saves a
    checkpoint; before the run has started, or at a second signal, the process is interrupted at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.started = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.started or self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum


def _drive(generator: Any, progress: Progress) -> Any:
    with _StopOnSignal() as stop_request:
        command = None
        try:
            while True:
                event = generator.send(command)
                stop_request.started = True
                progress.handle(event)
                command = core.Stop() if stop_request.signum is not None else None
        except StopIteration as stop:
            progress._clear()
            result = stop.value
    if stop_request.signum is not None and getattr(result, "status", None) == "stopped":
        raise Interrupted(stop_request.signum, result)
    return result


def _with_status_line(generator: Any, err: TextIO) -> Any:
    """Drive a progress generator (fraction, message), showing one status line on a terminal; return its result."""
    tty = hasattr(err, "isatty") and err.isatty()
    try:
        while True:
            p = next(generator)
            if tty:
                err.write(f"\r{p.fraction:5.0%} {p.message[:70]:<70}")
                err.flush()
    except StopIteration as stop:
        return stop.value
    finally:
        if tty:
            err.write("\r" + " " * 80 + "\r")


@contextlib.contextmanager
def _process_group():
    """Under torchrun: leave the process group together at the end (not when a process fails: the others
    would wait for it forever; torchrun ends them)."""
    from core import distributed

    yield
    distributed.shutdown()


@contextlib.contextmanager
def _values_from(source: str | None):
    """A setting found wrong once the data is loaded (a batch larger than the dataset) names its file too."""
    try:
        yield
    except core.ConfigError as err:
        if source is None:
            raise
        raise err.in_file(source) from None


def _summary(result: Any) -> str:
    from core.diagnostics.probes import PROBE_PROTOCOL

    test = "  ".join(f"{k} {v:.4f}" for k, v in result.test.items() if v is not None)
    protocol = f"\n{PROBE_PROTOCOL}" if "linear_probe_accuracy" in result.test else ""
    status = core_status(result.run_dir)
    best = status.get("best_checkpoint")
    if best:
        protocol += (f"\ntest figures of the best checkpoint by {best['metric']} ({best['value']:.4g}, epoch "
                     f"{best['epoch']}); evaluate, report and the explorer use it too")
    if status.get("message", "").startswith("early stopping"):
        protocol += f"\n{status['message']}"
    return (f"{result.status}: {result.epochs_completed} epoch(s), {result.steps} steps in {result.seconds:.1f}s"
            + (f"  {test}" if test else "") + protocol + f"\nrun: {result.run_dir}"
            + (f"\n{result.advice}" if getattr(result, "advice", "") else ""))


def core_status(run_dir: str) -> dict:
    import core

    try:
        return core.RunDirectory.open(run_dir).read_status()
    except Exception:  # noqa: BLE001 - the summary line is a courtesy
        return {}


# ---- commands ---------------------------------------------------------------------------------------------


def _typed(raw: str) -> Any:
    """A --set value as TOML reads it (numbers, true/false, [lists], "quoted text"); anything else is text."""
    import tomllib

    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_overrides(experiment: Any, pairs: Sequence[str]) -> Any:
    """The experiment with ``key=value`` settings changed, validated by the schema like a file (errors name
    the dotted key). A component's ``name`` is applied first and drops that component's old parameters."""
    import core
    from core.config.io import experiment_from_dict, experiment_to_dict

    doc = experiment_to_dict(experiment)
    parsed = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise core.ConfigError("--set", f"{pair!r} is not KEY=VALUE", value=pair,
                                   allowed="dotted keys such as training.lr=0.01 or data.params.path=data.csv")
        parsed.append((key.split("."), raw.strip()))
    parsed.sort(key=lambda kv: kv[0][-1] != "name")  # names first: they choose which parameters exist
    for parts, raw in parsed:
        node: Any = doc
        for i, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if child is None and isinstance(node, dict):
                child = node[part] = {}
            if not isinstance(child, dict):
                raise core.ConfigError(".".join(parts[:i + 1]), "is a value, not a table of settings",
                                       value=".".join(parts))
            node = child
        value = _typed(raw)
        spec = _field_spec(doc, parts)
        if spec is not None and spec.kind in ("str", "choice") and not isinstance(value, str):
            value = raw  # a text setting keeps the text as typed (run_name=2024)
        elif spec is not None and spec.kind == "tuple" and isinstance(value, str):
            # metadata_columns=a,b, or a list TOML could not read ([64,oops]): each item is read on its own, so
            # the schema names the item that is wrong
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            items = [v.strip() for v in text.split(",") if v.strip()]
            value = items if spec.item_kind == "str" else [_typed(v) for v in items]
        if parts[-1] == "name" and len(parts) == 2 and parts[0] in ("data", "encoder", "objective") \
                and node.get("name") != value:
            node.pop("params", None)
        node[parts[-1]] = value
    return experiment_from_dict(doc)


def _field_spec(doc: dict, parts: list[str]) -> Any:
    """The schema's description of the setting at a dotted key, or None when there is no such setting (the
    validation that follows names it)."""
    from core.config.schema import OutputConfig, SplitConfig, TrainingConfig
    from core.params import field_specs

    cls: Any = None
    if len(parts) == 2 and parts[0] in ("training", "output"):
        cls = TrainingConfig if parts[0] == "training" else OutputConfig
    elif parts[:2] == ["data", "split"] and len(parts) == 3:
        cls = SplitConfig
    elif len(parts) == 3 and parts[1] == "params" and parts[0] in ("data", "encoder", "objective"):
        import core

        registry = {"data": core.DATASETS, "encoder": core.ENCODERS, "objective": core.OBJECTIVES}[parts[0]]
        name = (doc.get(parts[0]) or {}).get("name")
        cls = registry.get(name).Params if name in registry else None
    if cls is None:
        return None
    return next((f for f in field_specs(cls) if f.name == parts[-1]), None)


def _print_json(obj: Any, out: TextIO) -> None:
    import json

    from core.fileio import json_ready

    print(json.dumps(json_ready(obj), indent=1, allow_nan=False), file=out)


def _load_experiment_arg(text: str):
    path = Path(text)
    if path.suffix == ".toml" or path.exists() or "/" in text:
        return core.load_experiment(path)
    if text in core.preset_names():
        return core.load_preset(text)
    raise core.ConfigError("", f"{text!r} is neither an experiment file nor a preset "
                           f"(presets: {', '.join(core.preset_names())})")


def _evaluations_arg(text: str | None) -> tuple[str, ...] | None:
    """``--evaluations a,b``: those (the suite names an unknown one); none given: every registered evaluation."""
    return tuple(e.strip() for e in text.split(",") if e.strip()) if text else None


def _with_plugins(experiment: Any, names: Sequence[str]) -> Any:
    """The experiment with ``--plugin`` names added to its ``plugins``: modules as given, .py paths absolute."""
    import dataclasses

    given = [str(Path(n).expanduser().resolve()) if n.endswith(".py") else n for n in names]
    return dataclasses.replace(experiment, plugins=tuple(dict.fromkeys((*experiment.plugins, *given))))


def cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    experiment = _load_experiment_arg(args.experiment)
    if args.overrides:
        experiment = apply_overrides(experiment, args.overrides)
    if args.plugin:  # saved with the run: resume, evaluate, report, export and embed load them as well
        experiment = _with_plugins(experiment, args.plugin)
    changes = {k: v for k, v in (("device", args.device), ("seed", args.seed)) if v is not None}
    if changes:
        experiment = experiment.with_training(**changes)
    if args.epochs is not None:
        experiment, note = experiment.with_epochs(args.epochs)
        if note and not args.quiet:
            print(f"note: {note}", file=out)
    quiet = args.quiet or int(os.environ.get("RANK", "0")) > 0  # under torchrun, rank 0 speaks for all
    with _process_group(), _values_from(args.experiment if Path(args.experiment).exists() else None):
        result = _drive(core.train(experiment, out=args.out), Progress(out, err, quiet))
    if not quiet or args.quiet:
        print(_summary(result), file=out)
    return EXIT_OK


def cmd_resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    generator = core.resume(args.run_dir, epochs=args.epochs, device=args.device, checkpoint=args.checkpoint)
    quiet = args.quiet or int(os.environ.get("RANK", "0")) > 0
    with _process_group(), _values_from(str(core.RunDirectory(args.run_dir).config_path)):
        result = _drive(generator, Progress(out, err, quiet))
    if not quiet or args.quiet:
        print(_summary(result), file=out)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    chosen = _evaluations_arg(args.evaluations)
    run = core.RunDirectory.open(args.run_dir)
    path = Path(args.out) if args.out else run.evaluation_path
    _check_writable(path.parent)  # before the evaluation: a read-only run should not cost minutes to find out
    model = core.load_trained(args.run_dir, checkpoint=args.checkpoint)
    # evaluated afresh and stamped with its checkpoint: the app's Evaluation tab and reports reuse it
    record, _ = _with_status_line(core.evaluate_run(args.run_dir, chosen, () if args.no_baselines else core.BASELINES,
                                                    checkpoint=args.checkpoint, reuse=False, store=False, model=model),
                                  err)
    result = core.evaluation_from_record(record)
    try:
        path = run.write_evaluation(record, path)
    except core.RunDirectoryError as e:
        raise core.RunDirectoryError(f"{e}; pass --out with a writable place for the results") from None
    if args.json:
        _print_json({**(core.RunDirectory.read_evaluation_file(path) or {}), "saved": str(path)}, out)
        return EXIT_OK
    names = list(result.results)
    metric_names = list(dict.fromkeys(m for r in result.results.values() for m in r.metrics))
    where = result.split.get("description") or f"{result.n_test} test samples"
    print(f"{result.experiment} on {result.dataset}: {result.n_train} training samples, scored on the {where} "
          f"({result.seconds:.1f} s); checkpoint {model.checkpoint}", file=out)
    print(f"{'metric':<28}" + "".join(f"{n:>24}" for n in names), file=out)
    for m in metric_names:
        cells = []
        for n in names:
            metric = result.results[n].metrics.get(m)
            if metric is None:
                cells.append(f"{'-':>24}")
            elif metric.low is None:
                cells.append(f"{metric.value:>24.3f}")
            else:
                cells.append(f"{metric.value:>8.3f} [{metric.low:.3f}, {metric.high:.3f}]".rjust(24))
        print(f"{m:<28}" + "".join(cells), file=out)
    for layer, metric in result.learned.layerwise:
        print(f"{'probe @ ' + layer:<28}{metric.value:>24.3f}", file=out)
    for note in result.notes():
        print(note, file=out)
    print(f"saved {path}", file=out)
    return EXIT_OK


def _check_writable(directory: Path) -> None:
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _not_writable(e, directory) from None


def _not_writable(err: OSError, path: Path) -> Exception:
    """A results file that cannot be written (a read-only run directory): say so, and how to put it elsewhere."""
    from core.training.rundir import explain_os_error

    problem = explain_os_error(err, path)
    return type(problem)(f"{problem}; pass --out with a writable place for the results")


def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from core.report.build import FORMATS, build_report, write_report

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise core.ConfigError("--formats", f"unknown format(s) {', '.join(unknown)}", allowed=", ".join(FORMATS))
    chosen = _evaluations_arg(args.evaluations)
    directory = Path(args.out) if args.out else core.RunDirectory.open(args.run_dir).reports
    _check_writable(directory)
    data = _with_status_line(build_report(args.run_dir, evaluations=chosen), err)
    print(data.reuse.summary(), file=err)
    try:
        written = write_report(data, directory, formats)
    except OSError as e:
        raise _not_writable(e, directory) from None
    for fmt, path in written.items():
        print(f"{fmt:<5} {path}", file=out)
    return EXIT_OK


def cmd_transfer(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from core.evaluation.transfer import METHODS, parse_budgets, transfer

    budgets = parse_budgets(args.budgets, "--budgets")
    result = _with_status_line(transfer(args.run_dir, args.dataset, budgets, epochs=args.epochs), err)
    if args.json:
        import dataclasses

        _print_json(dataclasses.asdict(result), out)
        return EXIT_OK
    where = result.split.get("description") or f"{result.n_test} test samples"
    print(f"transfer of {result.source_run} to {result.target} (scored on the {where})", file=out)
    print(f"{'labels per class':<18}" + "".join(f"{m:>14}" for m in METHODS), file=out)
    for i, b in enumerate(result.budgets):
        print(f"{'all' if b is None else b:<18}" + "".join(f"{result.accuracy[m][i]:>14.3f}" for m in METHODS), file=out)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from core.training.export import export_encoder

    result = export_encoder(args.run_dir, args.format, out=args.out, checkpoint=args.checkpoint, device=args.device)
    check = result.card.get("check", {})
    if "max_abs_difference" in check:
        print(f"checked on {check['samples']} samples with {check['runtime']}: largest difference "
              f"{check['max_abs_difference']:.2g} (allowed {check['atol']:g} + {check['rtol']:g}*|z|)", file=out)
    for role, path in result.files.items():
        print(f"{role:<14} {path}", file=out)
    return EXIT_OK


def cmd_embed(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from core.report.embed import embed_data

    params = {}
    for pair in args.reader_params:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise core.ConfigError("--set", f"{pair!r} is not KEY=VALUE", value=pair,
                                   allowed="reader settings such as label_column=species")
        params[key.strip().removeprefix("data.params.")] = _typed(raw.strip())
    result = embed_data(args.run_dir, args.data, args.out, reader=args.reader, params=params,
                        checkpoint=args.checkpoint, device=args.device)
    print(f"{result.n} samples of {result.dataset} -> {result.dim}-dimensional embeddings: {result.path}", file=out)
    return EXIT_OK


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.what == "runs":
        from core.user_settings import DEFAULT_ROOT, resolve_root

        root = Path(args.root) if args.root else Path(resolve_root(DEFAULT_ROOT))
        if not root.is_dir():
            raise core.ConfigError("--root", f"{str(root)!r} is not a folder")
        for path in sorted(core.RunDirectory.list_runs(root), key=lambda p: p.name):
            run = core.RunDirectory(path)
            status = run.read_status()
            steps = f"{status['steps']} steps" if isinstance(status.get("steps"), int) else ""
            state = "diverged" if status.get("verdict") == "diverged" else run.state()  # finished, but blew up
            print(f"{path.name:<40} {state:<12} {steps}", file=out)
        return EXIT_OK
    if args.what == "presets":
        presets = [(name, core.load_preset(name)) for name in core.preset_names()]
        if args.json:
            _print_json([{"name": n, "description": e.description, "dataset": e.data.name, "encoder": e.encoder.name,
                          "objective": e.objective.name} for n, e in presets], out)
            return EXIT_OK
        for name, exp in presets:
            print(f"{name:<24} {exp.description}", file=out)
        return EXIT_OK
    if args.what == "evaluations":
        for name in core.evaluation_names():  # in the order they run, with the help the GUI shows
            print(f"{name:<24} {core.EVALUATIONS.get(name).info['help']}", file=out)
        return EXIT_OK
    registry = core.REGISTRIES[args.what]
    if args.json:
        _print_json([entry_record(e) for e in registry], out)
        return EXIT_OK
    for entry in registry:
        kinds = entry.info.get("data_kinds") or ([entry.info["kind"]] if "kind" in entry.info else [])
        extra = f" [{', '.join(kinds)}]" if kinds else ""
        print(f"{entry.name:<24} {entry.summary}{extra}", file=out)
    return EXIT_OK


def entry_record(entry: Any) -> dict[str, Any]:
    """One registry entry as plain data (``list --json``, ``describe --json``)."""
    return {"name": entry.name, "kind": entry.kind, "summary": entry.summary, "description": entry.description,
            "info": {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in entry.info.items()},
            "parameters": [{"name": f.name, "type": f.kind, "default": list(f.default) if isinstance(f.default, tuple)
                            else f.default, "label": f.label, "allowed": f.allowed(), "help": f.help}
                           for f in entry.fields]}


def describe_entry(entry: Any) -> str:
    lines = [f"{entry.name} ({entry.kind})", "", entry.description or "(no description)"]
    for key, value in entry.info.items():
        lines.append(f"{key.replace('_', ' ')}: {', '.join(value) if isinstance(value, (list, tuple)) else value}")
    lines += ["", "Parameters:" if entry.fields else "Parameters: none"]
    for f in entry.fields:
        default = "empty" if f.default is None else repr(list(f.default) if isinstance(f.default, tuple) else f.default)
        lines.append(f"  {f.name} = {default}    {f.label}; allowed: {f.allowed()}")
        if f.help:
            lines.append(f"      {f.help}")
    return "\n".join(lines)


def cmd_describe(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    registries = {"dataset": core.DATASETS, "encoder": core.ENCODERS, "objective": core.OBJECTIVES,
                  "augmentation": core.AUGMENTATIONS, "evaluation": core.EVALUATIONS}
    if args.kind:
        registries = {args.kind: registries[args.kind]}
    found = [reg.get(args.name) for reg in registries.values() if args.name in reg]
    if not found:
        import difflib

        names = sorted({n for reg in registries.values() for n in reg.names()})
        kind = args.kind or "dataset, encoder, objective, augmentation or evaluation"
        raise core.UnknownNameError(kind, args.name, names, difflib.get_close_matches(args.name, names, n=2))
    if args.json:
        _print_json([entry_record(e) for e in found], out)
        return EXIT_OK
    print("\n\n".join(describe_entry(e) for e in found), file=out)
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from core import plugins

    points = plugins.entry_points()
    loaded = plugins.loaded()
    if args.json:
        _print_json({"entry_points": [{"group": g, "name": n, "value": v} for g, n, v in points],
                     "loaded": [{"name": p.name, "target": p.target, "source": p.source} for p in loaded]}, out)
        return EXIT_OK
    print("installed entry points (loaded only when named: plugins = [\"NAME\"] or --plugin NAME):", file=out)
    for g, n, v in points:
        print(f"  {g:<22} {n:<20} {v}", file=out)
    if not points:
        print("  none", file=out)
    print("loaded now: " + (", ".join(f"{p.name} ({p.source})" for p in loaded) or "none"), file=out)
    return EXIT_OK


def cmd_completion(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import shtab

    print(shtab.complete(build_parser(), shell=args.shell), file=out)
    return EXIT_OK


COMMANDS = {"train": cmd_train, "resume": cmd_resume, "evaluate": cmd_evaluate, "report": cmd_report, "transfer": cmd_transfer,
            "export": cmd_export, "embed": cmd_embed, "plugins": cmd_plugins, "completion": cmd_completion,
            "list": cmd_list,
            "describe": cmd_describe}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from core.errors import ConfigError, DataError, ExportError, PluginError, ReplearnError

    notes = _NoteHandler(err)
    logger = logging.getLogger("replearn")
    level = logger.level
    logger.addHandler(notes)
    logger.setLevel(logging.INFO)
    previous_term = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM ends a command like Ctrl-C does
        previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if getattr(args, "plugin", None):
            from core.plugins import load_plugins

            load_plugins(args.plugin, where="--plugin")
        return COMMANDS[args.command](args, out, err)
    except Interrupted as e:
        name = signal.Signals(e.signum).name
        saved = getattr(e.result, "run_dir", None)
        print(f"replearn: interrupted ({name}); the run stopped at step {e.result.steps} with a checkpoint "
              f"(`replearn resume {saved}` continues it)", file=err)
        return EXIT_INTERRUPTED
    except (ConfigError, DataError, ExportError, PluginError) as e:  # bad input (a setting, a file, a plugin): exit 2
        print(f"replearn: error: {e}", file=err)
        if args.debug:
            traceback.print_exc(file=err)
        return EXIT_USAGE
    except ReplearnError as e:
        print(f"replearn: error: {e}", file=err)
        if args.debug:
            traceback.print_exc(file=err)
        return EXIT_FAILURE
    except BrokenPipeError:  # `replearn list datasets | head`: the reader left; that is not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        if args.command in ("train", "resume"):
            print("\nreplearn: interrupted; the run is marked stopped (`replearn resume RUN_DIR` continues it "
                  "from its last checkpoint)", file=err)
        else:
            print("\nreplearn: interrupted", file=err)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - a bug: one sentence unless --debug
        print(f"replearn: internal error: {type(e).__name__}: {e}. Run with --debug to see the traceback.", file=err)
        if args.debug:
            traceback.print_exc(file=err)
        return EXIT_FAILURE
    finally:
        logger.removeHandler(notes)
        logger.setLevel(level)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class _NoteHandler(logging.Handler):
    """Core's notes for the user (``logging.getLogger("replearn")``), one line each on stderr."""

    def __init__(self, err: TextIO):
        super().__init__(logging.INFO)
        self.err = err

    def emit(self, record: logging.LogRecord) -> None:
        print(f"replearn: note: {record.getMessage()}", file=self.err)


if __name__ == "__main__":
    sys.exit(main())
