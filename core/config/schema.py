"""The experiment: frozen, keyword-only dataclasses, validated when they are made.

An :class:`Experiment` names a dataset, an encoder and an objective (each a registry name plus its typed
``Params``) and the training and output settings. It round-trips through TOML (:mod:`core.config.io`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from core.data.base import DATASETS
from core.data.views import AUGMENTATIONS
from core.errors import ConfigError
from core.models.encoders import ENCODERS
from core.objectives.base import OBJECTIVES
from core.params import Params, from_mapping, param
from core.registry import Registry

SCHEMA_VERSION = 1

_KEEP_BEST = re.compile(r"^(val_loss|probe_accuracy|knn_accuracy|val_[A-Za-z0-9_]+)$")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_RUN_NAME = re.compile(r"^[\w][\w.\- ]*$")


@dataclass(frozen=True, kw_only=True)
class ComponentConfig:
    """A registry name and that entry's parameters (a mapping is turned into its typed ``Params``)."""

    section: ClassVar[str]

    name: str
    params: Any = None

    @classmethod
    def registry(cls) -> Registry:
        raise NotImplementedError

    def __post_init__(self) -> None:
        entry = self.registry().get(self.name, field=f"{self.section}.name")
        object.__setattr__(self, "params", entry.make_params(self.params, path=f"{self.section}.params"))

    @property
    def entry(self):
        return self.registry().get(self.name)


@dataclass(frozen=True, kw_only=True)
class SplitConfig(Params):
    mode: Literal["auto", "random", "predefined"] = param(
        "auto", label="Split",
        help="predefined: the data set's own train / test (/ val) split (an .npz with x_train / x_test, a split "
             "column, train/ and test/ folders, IDX train and t10k files); validation is carved from train when "
             "it has none. random: a fresh seeded draw over all samples. auto: predefined when the data set ships "
             "a split, random otherwise.")
    val_fraction: float = param(0.1, label="Validation fraction", min=0.0, max=0.5,
                                help="Share of the samples held out to choose hyper-parameters and watch overfitting (of the "
                                     "training split, when a predefined split has no validation set).")
    test_fraction: float = param(0.2, label="Test fraction", min=0.0, max=0.5,
                                 help="Share of the samples held out for the final, honest evaluation (random split only: a "
                                      "predefined split keeps its own test set).")
    stratify: bool = param(True, label="Stratify", help="Keep class proportions equal across splits (needs labels).")
    normalization: Literal["auto", "none", "standardize", "minmax"] = param(
        "auto", label="Normalisation",
        help="Fitted on the training split only. auto = what the dataset recommends (none for images in [0, 1]).")

    def check(self) -> None:
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ConfigError("test_fraction", "validation and test fractions together leave under 10% for training",
                              value=self.test_fraction, allowed="val_fraction + test_fraction < 0.9")


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(Params):
    epochs: int = param(20, label="Epochs", min=1, max=100_000)
    batch_size: int = param(128, label="Batch size", min=1, max=1_000_000)
    optimizer: Literal["adamw", "adam", "sgd"] = param("adamw", label="Optimizer")
    lr: float = param(1e-3, label="Learning rate", min=0.0, max=10.0, min_exclusive=True,
                      help="Peak learning rate (reached after warm-up).")
    momentum: float = param(0.9, label="Momentum", min=0.0, max=1.0, max_exclusive=True, help="SGD only.")
    weight_decay: float = param(1e-4, label="Weight decay", min=0.0, max=1.0)
    schedule: Literal["constant", "cosine", "linear"] = param(
        "cosine", label="LR schedule", help="How the learning rate decays after warm-up, per step.")
    warmup_epochs: float = param(0.0, label="Warm-up epochs", min=0.0,
                                 help="Linear warm-up from 0 to the peak learning rate.")
    grad_clip: float | None = param(None, label="Gradient clipping", min=0.0, min_exclusive=True,
                                    help="Clip the global gradient norm to this value; empty = off.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1,
                      help="Seeds splits, initialisation, shuffling and augmentations: same seed, same run.")
    device: str = param("auto", label="Device", pattern_hint="auto, cpu, cuda, cuda:N or mps",
                        help="auto picks CUDA, then MPS, then the CPU.")
    num_threads: int = param(0, label="CPU threads", min=0, max=1024,
                             help="torch intra-op threads; 0 keeps torch's default.")
    drop_last: bool = param(False, label="Drop last batch", help="Skip the last, smaller batch of each epoch.")
    diagnostics_every: int = param(1, label="Diagnostics every (epochs)", min=0, help="0 = never.")
    probe_every: int = param(5, label="Online probe every (epochs)", min=0,
                             help="Linear probe and kNN on detached features, with labels; also at the last epoch. "
                                  "0 = never.")
    snapshot_every: int = param(1, label="Snapshot every (epochs)", min=0, help="0 = never.")
    checkpoint_every: int = param(1, label="Checkpoint every (epochs)", min=0,
                                  help="0 = only at the end of the run.")
    keep_checkpoints: int = param(5, label="Checkpoints kept", min=0,
                                  help="Only the newest ones are kept on disk; 0 = keep all.")
    keep_best: str = param("", label="Keep the best checkpoint by", pattern_hint="val_loss, val_<metric>, probe_accuracy or knn_accuracy",
                           help="Mark the checkpoint with the best value of this measurement as the run's best: "
                                "evaluation, reports and the explorer then use it, and the end-of-run test figures "
                                "are its own. val_loss (lower is better), val_<metric> of the objective (e.g. "
                                "val_accuracy; lower is better for names ending in loss or error), or the online "
                                "probe's probe_accuracy / knn_accuracy (self-supervised runs with labels; the "
                                "probe then runs every epoch). Empty = off.")
    early_stopping: int = param(0, label="Early-stopping patience (epochs)", min=0,
                                help="Stop when keep_best has not improved for this many measured epochs; the run "
                                     "counts as finished. 0 = off; needs keep_best.")
    snapshot_points: int = param(5000, label="Snapshot points", min=1, max=10_000_000,
                                 help="Size of the fixed subset whose embeddings are saved at each snapshot.")
    eval_points: int = param(1024, label="Diagnostics batch", min=8, max=1_000_000,
                             help="Size of the fixed validation batch the diagnostics are computed on.")
    data_loading: Literal["auto", "memory", "stream"] = param(
        "auto", label="Data loading",
        help="memory: normalise every sample up front. stream: read (and normalise) a memory-mapped file's rows "
             "batch by batch, for data larger than memory. auto: stream memory-mapped files above 1 GiB.")
    loader_workers: int = param(2, label="Loader threads", min=0, max=64,
                                help="Threads reading the next batches of streamed data while one trains.")
    precision: Literal["fp32", "bf16", "fp16"] = param(
        "fp32", label="Precision",
        help="Mixed precision for the training step: bf16 or fp16 autocast (fp16 with a gradient scaler). "
             "Measurements and evaluation stay in fp32.")
    compile: Literal["off", "default", "reduce-overhead", "max-autotune"] = param(
        "off", label="torch.compile", help="Compile the training step with torch.compile in this mode (the first "
                                           "steps are slower while it compiles).")
    init_weights: str = param("", label="Initial encoder weights",
                              help="Where the encoder's starting weights come from: a run directory (its newest "
                                   "checkpoint) or one of its checkpoints, a .safetensors file, or a PyTorch "
                                   ".pt/.pth file (read as weights only: a file cannot run code); empty = random "
                                   "initialisation.")
    log_to: tuple[str, ...] = param((), label="Also log to",
                                    help="Trackers that get the same scalars as metrics.jsonl: tensorboard (event "
                                         "files in RUN/tensorboard, for `tensorboard --logdir`).")
    init_strip_prefix: str = param("", label="Strip key prefix",
                                   help="Removed from the weights' key names before they are matched, e.g. "
                                        "'module.' or 'backbone.'; keys without it are ignored. Empty: found by "
                                        "itself when one prefix makes every key fit.")
    init_key_map: tuple[str, ...] = param((), label="Rename keys",
                                          help="'old=new' prefix renames applied to the weights' keys, e.g. "
                                               "'fc.=head.'.")

    def check(self) -> None:
        if not _DEVICE.match(self.device):
            raise ConfigError("device", f"{self.device!r} is not a device", value=self.device,
                              allowed="auto, cpu, cuda, cuda:N, mps")
        if self.keep_best and not _KEEP_BEST.match(self.keep_best):
            raise ConfigError("keep_best", f"{self.keep_best!r} is not a measurement training records",
                              value=self.keep_best, allowed="val_loss, val_<metric>, probe_accuracy, knn_accuracy")
        if self.early_stopping and not self.keep_best:
            raise ConfigError("early_stopping", "needs keep_best: the measurement whose improvement it waits for",
                              value=self.early_stopping, allowed="0, or set keep_best")
        for name in self.log_to:
            if name not in ("tensorboard",):
                raise ConfigError("log_to", f"unknown tracker {name!r}", value=name, allowed="tensorboard")
        for i, rule in enumerate(self.init_key_map):
            if "=" not in rule or not rule.split("=", 1)[0]:
                raise ConfigError("init_key_map", f"rule {i + 1} ({rule!r}) is not 'old=new'", value=rule,
                                  allowed="'old_prefix=new_prefix', e.g. 'fc.=head.'")
        if self.warmup_epochs >= self.epochs:
            raise ConfigError("warmup_epochs", f"{self.warmup_epochs:g} must be shorter than the run",
                              value=self.warmup_epochs, allowed=f"0 <= value < epochs ({self.epochs})")


@dataclass(frozen=True, kw_only=True)
class OutputConfig(Params):
    root: str = param("runs", label="Runs folder",
                      help="Each run gets its own directory in here (relative paths are taken from the current directory).")
    run_name: str | None = param(None, label="Run name", pattern_hint="letters, digits, '-', '_', '.', spaces",
                                 help="Directory name of the run; empty = experiment name + time stamp.")

    def check(self) -> None:
        if not self.root.strip():
            raise ConfigError("root", "must not be empty", value=self.root)
        if self.run_name is not None and not _RUN_NAME.match(self.run_name):
            raise ConfigError("run_name", f"{self.run_name!r} cannot be a directory name", value=self.run_name,
                              allowed="letters, digits, '-', '_', '.', spaces; not starting with '.' or '-'")


@dataclass(frozen=True, kw_only=True)
class DataConfig(ComponentConfig):
    section: ClassVar[str] = "data"
    name: str = "digits"
    split: SplitConfig = field(default_factory=SplitConfig)

    @classmethod
    def registry(cls) -> Registry:
        return DATASETS

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.split, SplitConfig):
            object.__setattr__(self, "split", from_mapping(SplitConfig, self.split, "data.split"))


@dataclass(frozen=True, kw_only=True)
class EncoderConfig(ComponentConfig):
    section: ClassVar[str] = "encoder"
    name: str = "mlp"

    @classmethod
    def registry(cls) -> Registry:
        return ENCODERS


@dataclass(frozen=True, kw_only=True)
class ObjectiveConfig(ComponentConfig):
    section: ClassVar[str] = "objective"
    name: str = "supervised"

    @classmethod
    def registry(cls) -> Registry:
        return OBJECTIVES


@dataclass(frozen=True, kw_only=True)
class AugmentationConfig(ComponentConfig):
    """One augmentation of the view pipeline used by multi-view objectives."""

    section: ClassVar[str] = "views"

    @classmethod
    def registry(cls) -> Registry:
        return AUGMENTATIONS


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """Everything that defines a run. Two equal experiments with the same seed train identically."""

    name: str
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    #: augmentations for multi-view objectives, in order; empty = the default pipeline for the data kind
    views: tuple[AugmentationConfig, ...] = ()
    #: modules or entry points to import before the components are looked up (see :mod:`core.plugins`)
    plugins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _RUN_NAME.match(self.name):
            raise ConfigError("name", f"{self.name!r} is not a usable experiment name", value=self.name,
                              allowed="letters, digits, '-', '_', '.', spaces; not starting with '.' or '-'")
        for attr, cls in (("data", DataConfig), ("encoder", EncoderConfig), ("objective", ObjectiveConfig),
                          ("training", TrainingConfig), ("output", OutputConfig)):
            if not isinstance(getattr(self, attr), cls):
                raise ConfigError(attr, f"expected {cls.__name__}, got {type(getattr(self, attr)).__name__}")
        views = tuple(self.views)
        for i, v in enumerate(views):
            if not isinstance(v, AugmentationConfig):
                raise ConfigError(f"views[{i}]", f"expected AugmentationConfig, got {type(v).__name__}")
        object.__setattr__(self, "views", views)
        object.__setattr__(self, "plugins", tuple(self.plugins))

    def with_training(self, **changes: Any) -> Experiment:
        """A copy with some training settings changed (validated like the original; errors name ``training.*``)."""
        try:
            return replace(self, training=replace(self.training, **changes))
        except ConfigError as err:
            raise err.with_prefix("training") from None

    def with_output(self, **changes: Any) -> Experiment:
        try:
            return replace(self, output=replace(self.output, **changes))
        except ConfigError as err:
            raise err.with_prefix("output") from None

    def with_epochs(self, epochs: int) -> tuple[Experiment, str | None]:
        """A copy that trains ``epochs`` epochs, and a note when the warm-up had to change: a warm-up as long as
        the new run or longer keeps its share of the run (``warmup * epochs / old epochs``), so a one-epoch smoke
        run of any preset works."""
        t = self.training
        if t.warmup_epochs < epochs:
            return self.with_training(epochs=epochs), None
        warmup = round(t.warmup_epochs * epochs / t.epochs, 3)
        note = (f"warm-up shortened from {t.warmup_epochs:g} to {warmup:g} epoch(s) to keep its share of the "
                f"{epochs}-epoch run")
        return self.with_training(epochs=epochs, warmup_epochs=warmup), note
