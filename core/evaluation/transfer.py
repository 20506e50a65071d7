"""Transfer: take a trained run's encoder to a new labelled dataset and compare, over label budgets,
(a) the frozen encoder with a new linear head, (b) fine-tuning the encoder and a new head together, and
(c) the same architecture trained from scratch — a label-efficiency curve."""
from __future__ import annotations

import copy
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.diagnostics.probes import LinearProbe
from core.errors import ConfigError
from core.models.encoders import Encoder

METHODS = ("frozen", "fine_tuned", "from_scratch")


@dataclass(frozen=True)
class TransferProgress:
    fraction: float
    message: str


@dataclass
class TransferResult:
    source_run: str
    target: str
    budgets: list[int | None]  # labels per class; None = every training label
    accuracy: dict[str, list[float]]  # method -> accuracy per budget, on the target's test split
    n_test: int
    split: dict = field(default_factory=dict)  # which split the accuracies are on (Splits.record())


def parse_budgets(text: str, field: str = "budgets") -> list[int | None]:
    """"1, 5, 10, all" → [1, 5, 10, None] (labels per class; ``all`` = every training label); errors name
    ``field`` (the CLI's ``--budgets``, the wizard's box)."""
    budgets: list[int | None] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() in ("all", "*"):
            budgets.append(None)
        elif part.isdigit() and int(part) > 0:
            budgets.append(int(part))
        else:
            raise ConfigError(field, f"{part!r} is not a number of labels per class", value=part,
                              allowed="positive integers or 'all'")
    if not budgets:
        raise ConfigError(field, "give at least one budget, e.g. 1, 5, 10, all", value=text,
                          allowed="positive integers or 'all'")
    return budgets


def labelled_subset(y: np.ndarray, pool: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """``per_class`` samples of each class from ``pool`` (all of them when None), seeded."""
    if per_class is None:
        return np.asarray(pool)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(y[pool]):
        members = pool[y[pool] == c]
        chosen.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def _train_classifier(encoder: Encoder, n_classes: int, X: torch.Tensor, y: torch.Tensor, epochs: int,
                      lr: float, seed: int) -> torch.nn.Module:
    from core.training.seeding import GLOBAL_RNG_LOCK

    with GLOBAL_RNG_LOCK:  # not in the middle of a training step's draws (a run restores its stream per step)
        torch.manual_seed(seed)  # the fine-tuning's dropout continues from this seed, as before
        model = torch.nn.Sequential(encoder, torch.nn.Linear(encoder.out_dim, n_classes)).to(X.device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    bs = min(64, len(X))
    # at least 100 steps, so a budget of 1 label per class still gets trained
    epochs = max(epochs, int(np.ceil(100 * bs / max(len(X), 1))))
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(X), generator=g).split(bs):
            batch = batch.to(X.device)
            loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def _accuracy(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(X).argmax(dim=1) == y).float().mean())


def transfer(run_dir: str, target, budgets: Sequence[int | None] = (1, 5, 10, 50, None), epochs: int = 30,
             lr: float = 1e-3, seed: int = 0, device: str = "cpu") -> Generator[TransferProgress, None, TransferResult]:
    """``target`` is a :class:`core.DataConfig` (or a dataset name with default parameters)."""
    from core.config.schema import DataConfig
    from core.data.splits import prepare_from_config
    from core.training.inference import load_trained
    from core.training.loop import load_data

    source = load_trained(run_dir, device=device)
    target = target if isinstance(target, DataConfig) else DataConfig(name=target)
    dataset = load_data(target)
    if dataset.y is None:
        raise ConfigError("target", f"transfer needs labels, and {dataset.name!r} has none", value=dataset.name)
    if dataset.sample_shape != source.data.dataset.sample_shape:
        raise ConfigError("target", f"the encoder reads samples of shape {source.data.dataset.sample_shape}, but "
                          f"{dataset.name!r} has {dataset.sample_shape}", value=dataset.name)
    split = target.split
    data = prepare_from_config(dataset, split, seed=seed)
    y = dataset.y
    test = data.splits.held_out()
    dev = source.device
    X_all = torch.from_numpy(np.ascontiguousarray(data.X)).to(dev)
    y_all = torch.from_numpy(y).to(dev)
    X_test, y_test = X_all[torch.as_tensor(test, device=dev)], y_all[torch.as_tensor(test, device=dev)]
    source_encoder = source.model.encoder
    with torch.no_grad():
        source.model.eval()
        Z_all = np.concatenate([source.model.embed(X_all[i:i + 2048]).cpu().numpy() for i in range(0, len(X_all), 2048)])
    from core.training.inference import initialised

    scratch_template = initialised(source.experiment, device=device).model.encoder
    accuracy: dict[str, list[float]] = {m: [] for m in METHODS}
    steps = len(budgets) * len(METHODS)
    done = 0
    for per_class in budgets:
        chosen = labelled_subset(y, data.splits.train, per_class, seed)
        label = "all" if per_class is None else f"{per_class} per class"
        idx = torch.as_tensor(chosen, device=dev)
        for method in METHODS:
            yield TransferProgress(done / steps, f"{method.replace('_', ' ')} with {label} labels")
            done += 1
            if method == "frozen":
                if len(np.unique(y[chosen])) < 2:
                    accuracy[method].append(float("nan"))
                    continue
                probe = LinearProbe(max_iter=1000, random_state=seed).fit(Z_all[chosen], y[chosen])
                accuracy[method].append(probe.score(Z_all[test], y[test]))
            else:
                encoder = copy.deepcopy(source_encoder if method == "fine_tuned" else scratch_template)
                for p in encoder.parameters():
                    p.requires_grad_(True)
                model = _train_classifier(encoder, dataset.n_classes, X_all[idx], y_all[idx], epochs, lr, seed)
                accuracy[method].append(_accuracy(model, X_test, y_test))
    yield TransferProgress(1.0, "done")
    return TransferResult(str(run_dir), dataset.name, list(budgets), accuracy, len(test), data.splits.record())


@dataclass(frozen=True)
class TransferTarget:
    """A built-in dataset as a transfer target of a run: ``usable`` when the run's encoder can read it (same
    kind of data, same sample shape) and it has labels; ``reason`` says why not, or what it is."""

    name: str
    usable: bool
    reason: str


def transfer_targets(run_dir: str) -> list[TransferTarget]:
    """Every built-in dataset of the run's kind of data, checked against what its encoder reads (the datasets
    are loaded, so call it off the GUI thread). File readers need a path and are not offered."""
    from core.data.base import DATASETS
    from core.training.loop import load_data
    from core.training.rundir import RunDirectory

    source = load_data(RunDirectory.open(run_dir).read_config().data)
    out = []
    for entry in DATASETS:
        if entry.info.get("file") or entry.info.get("kind") != source.kind:
            continue
        try:
            ds = entry.cls(entry.Params()).load()
        except Exception as err:  # noqa: BLE001 - a target that cannot load is reported, not fatal
            out.append(TransferTarget(entry.name, False, f"cannot be loaded: {err}"))
            continue
        if ds.y is None:
            out.append(TransferTarget(entry.name, False, "has no labels to transfer to"))
        elif ds.sample_shape != source.sample_shape:
            out.append(TransferTarget(entry.name, False, f"samples of shape {ds.sample_shape}; the encoder reads "
                                                         f"{source.sample_shape}"))
        else:
            out.append(TransferTarget(entry.name, True, f"{ds.n} samples, {ds.n_classes} classes"))
    return out
