"""Evaluations are a registry, like objectives and encoders: a new evaluation is one file.

    @EVALUATIONS.register("knn", label="kNN", help="k-nearest-neighbour classifier ...", order=20,
                          direction="higher", needs_labels=True)
    class KNN(EvaluationMethod):
        '''k-nearest-neighbour accuracy on the test split.'''
        def run(self, ctx: EvaluationContext) -> None:
            ctx.result.metrics["knn_accuracy"] = ...

Entry metadata (``EVALUATIONS.get(name).info``), read by the GUI's check boxes and the CLI's ``list``:

* ``label``, ``help`` — the name and one line shown to people;
* ``order`` — evaluations run in this order whatever order they were asked in (``properties`` reads what
  ``invariance`` and the probe found);
* ``direction`` — ``"higher"`` or ``"lower"``: which way the headline metric is better;
* ``needs_labels`` — skipped on unlabelled data; ``learned_only`` — not run on the baselines.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.diagnostics.probes import LinearProbe
from core.errors import ConfigError
from core.evaluation.results import RepresentationResult
from core.params import BaseParams
from core.registry import Registry


class EvaluationMethod:
    """One evaluation of one representation: ``run(ctx)`` writes its metrics into ``ctx.result``."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        """Evaluations take no parameters of their own yet (the seed is the suite's)."""

    def run(self, ctx: EvaluationContext) -> None:
        raise NotImplementedError


EVALUATIONS: Registry[EvaluationMethod] = Registry("evaluation", base=EvaluationMethod,
                                                    builtins=("core.evaluation.methods",))


def evaluation_names() -> tuple[str, ...]:
    """Every registered evaluation, in the order they run."""
    return tuple(e.name for e in sorted(EVALUATIONS, key=lambda e: (e.info.get("order", 1000), e.name)))


@dataclass
class EvaluationContext:
    """What an evaluation of one representation sees: the model and its data, the embedded inputs ``Z``, the
    function that embeds new inputs (for corrupted or augmented copies), and the result to fill in."""

    model: Any  # core.ModelOnData
    name: str  # "learned" or a baseline's name
    Z: np.ndarray
    embed: Callable[[np.ndarray], np.ndarray]
    result: RepresentationResult
    evaluations: tuple[str, ...]  # all the evaluations of this suite (some read what others found)
    seed: int
    per_point_faithfulness: np.ndarray | None = None
    _probe: LinearProbe | None = field(default=None, repr=False)

    @property
    def data(self):
        return self.model.data

    @property
    def splits(self):
        return self.model.data.splits

    @property
    def test(self) -> np.ndarray:
        """The test split's indices (the validation split when the test split is empty)."""
        splits = self.model.data.splits
        return splits.test if len(splits.test) else splits.val

    @property
    def y(self) -> np.ndarray:
        """The labels: only evaluations registered with ``needs_labels=True`` read them (the suite skips those on
        unlabelled data)."""
        y = self.model.data.dataset.y
        if y is None:
            raise ConfigError("evaluations", f"the {self.name} evaluation needs labels and this data has none")
        return y

    @property
    def learned(self) -> bool:
        return self.name == "learned"

    def probe(self) -> LinearProbe:
        """The linear probe of this representation, fitted once and shared (C chosen on the validation split)."""
        if self._probe is None:
            s, y = self.splits, self.y
            self._probe = LinearProbe(random_state=self.seed).fit(self.Z[s.train], y[s.train], self.Z[s.val], y[s.val])
        return self._probe
