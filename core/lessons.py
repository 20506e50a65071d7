"""Lessons: one guided step per section of the chapter, each a resource file with a preset and checkable questions.

A lesson (``resources/lessons/<id>.toml``) has a title, a section, its text, the preset it trains, what to look at
in which panel, and one or two questions. A question's answer is checked from the run's own records by a small
expression, so the app can say "yes — the effective rank fell to 1.3" rather than trusting the student::

    last:diagnostics.effective_rank < 2             # the final epoch's effective rank
    min:train_loss < 0.5 * first:train_loss         # the loss halved
    eval:learned.probe_accuracy > eval:handcrafted.probe_accuracy
    last:diagnostics.verdict.status == 'healthy'

A reference is ``AGG:PATH`` over the epoch records of ``metrics.jsonl`` (AGG = first, last, min or max; PATH a
dotted path into the record: ``train_loss``, ``val_metrics.accuracy``, ``diagnostics.effective_rank``,
``projection_diagnostics.mean_cosine``; a per-dimension list such as ``diagnostics.std`` reads as its mean) or ``eval:REP.NAME`` into the run's stored evaluation (REP = learned, raw,
pca, random_init, or handcrafted for the hand-designed baseline; NAME a metric, a factor score or a property).
"""
from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError, UnknownNameError

AGGREGATES = ("first", "last", "min", "max")
OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
             "!=": operator.ne}
_CHECK = re.compile(r"^\s*(?P<left>\S+)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<right>.+?)\s*$")
_SCALED = re.compile(r"^(?P<factor>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*\*\s*(?P<ref>\S+)$")


def lessons_dir() -> Path:
    import replearn_resources

    return replearn_resources.path("lessons")


# ---- the check language -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A number (or word) read from a run: ``source`` is 'epochs' or 'eval'."""

    source: str
    aggregate: str
    path: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, where: str = "check") -> Reference:
        head, sep, rest = text.partition(":")
        if not sep:
            head, rest = "last", text
        if head == "eval":
            rep, dot, name = rest.partition(".")
            if not dot or not rep or not name:
                raise ConfigError(where, f"{text!r}: an evaluation reference is eval:REPRESENTATION.METRIC")
            return cls("eval", "", (rep, name))
        if head not in AGGREGATES:
            raise ConfigError(where, f"{text!r}: unknown aggregate {head!r}", allowed=", ".join(AGGREGATES + ("eval",)))
        if not rest or not re.fullmatch(r"[A-Za-z_][\w\[\]]*(\.[\w\[\]]+)*", rest):
            raise ConfigError(where, f"{text!r}: expected a dotted path such as diagnostics.effective_rank")
        return cls("epochs", head, tuple(rest.split(".")))

    def __str__(self) -> str:
        return f"eval:{'.'.join(self.path)}" if self.source == "eval" else f"{self.aggregate}:{'.'.join(self.path)}"


@dataclass(frozen=True)
class Check:
    """``left OP right``; ``right`` is a constant or ``factor × reference``."""

    left: Reference
    op: str
    constant: float | str | None = None
    factor: float = 1.0
    right: Reference | None = None

    @classmethod
    def parse(cls, text: str, where: str = "check") -> Check:
        m = _CHECK.match(text)
        if not m:
            raise ConfigError(where, f"{text!r} is not a check: expected 'REFERENCE OP VALUE', e.g. "
                              "'last:diagnostics.effective_rank < 2'")
        left, op, right = Reference.parse(m["left"], where), m["op"], m["right"]
        if right[:1] in "'\"" and right[-1:] == right[:1] and len(right) >= 2:
            return cls(left, op, constant=right[1:-1])
        try:
            return cls(left, op, constant=float(right))
        except ValueError:
            pass
        scaled = _SCALED.match(right)
        if scaled:
            return cls(left, op, factor=float(scaled["factor"]), right=Reference.parse(scaled["ref"], where))
        return cls(left, op, right=Reference.parse(right, where))


# ---- what a run recorded ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFacts:
    """The epoch records and the stored evaluation of one run (copies: safe to pass between threads)."""

    epochs: tuple[Mapping[str, Any], ...]
    evaluation: Mapping[str, Any] | None

    @classmethod
    def read(cls, run_dir: str | Path) -> RunFacts:
        from core.training.rundir import RunDirectory

        run = RunDirectory.open(run_dir)
        epochs = tuple(r for r in run.read_metrics() if r.get("event") == "epoch")
        return cls(epochs, run.read_evaluation())

    def value(self, ref: Reference) -> float | str | None:
        """The referenced value, or None when the run has not recorded it (yet)."""
        if ref.source == "eval":
            return self._eval_value(*ref.path)
        values = [v for v in (_dig(r, ref.path) for r in self.epochs) if v is not None]
        if not values:
            return None
        if ref.aggregate == "first":
            return values[0]
        if ref.aggregate == "last":
            return values[-1]
        numbers = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        if not numbers:
            return None
        return min(numbers) if ref.aggregate == "min" else max(numbers)

    def _eval_value(self, rep: str, name: str) -> float | None:
        if self.evaluation is None:
            return None
        results = self.evaluation.get("results", {})
        if rep == "handcrafted":  # stored under the name that says which features it uses
            rep = next((k for k in results if k.startswith("hand-designed")), rep)
        r = results.get(rep)
        if r is None:
            return None
        if name in r.get("metrics", {}):
            return r["metrics"][name].get("value")
        if name in r.get("factors", {}):
            return r["factors"][name]
        card = r.get("property_card", {}).get(name)
        return None if card is None else card.get("score")


def _dig(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return float(sum(value) / len(value))  # a per-dimension list (std) reads as its mean
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    return value


# which evaluation (of core.evaluation.suite) records a metric a check reads
_EVALUATION_OF = {"probe_accuracy": "linear_probe", "probe_train_accuracy": "linear_probe", "knn_accuracy": "knn",
                  "knn_majority_accuracy": "knn", "ece": "calibration", "brier": "calibration",
                  "reconstruction_mse": "reconstruction", "psnr_db": "reconstruction", "elbo": "reconstruction",
                  "invariance": "invariance", "equivariance": "invariance"}
_BASELINE_OF = {"raw": "raw", "pca": "pca", "random_init": "random_init", "handcrafted": "handcrafted"}


def evaluation_needs(checks: Iterable[Check]) -> tuple[list[str], list[str]]:
    """The evaluations and baselines a run must have had for ``checks`` to be answerable (in suite order)."""
    from core.evaluation.methods.base import evaluation_names
    from core.evaluation.suite import BASELINES

    evals: set[str] = set()
    baselines: set[str] = set()
    for c in checks:
        for ref in (c.left, c.right):
            if ref is None or ref.source != "eval":
                continue
            rep, name = ref.path
            if rep in _BASELINE_OF:
                baselines.add(_BASELINE_OF[rep])
            if name.startswith("pca_2d_"):
                evals.add("faithfulness")
            elif name.startswith("decode_") or name.startswith("compositionality") or name in (
                    "compactness", "separability", "smoothness"):
                evals.update({"properties", "linear_probe"})
            elif name.startswith("cluster") or name in ("nmi", "ari"):
                evals.add("clustering")
            else:
                evals.add(_EVALUATION_OF.get(name, "linear_probe"))
            if name in ("invariance", "equivariance"):
                evals.add("properties")
    return [e for e in evaluation_names() if e in evals], [b for b in BASELINES if b in baselines]


# ---- lessons and their answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    panel: str
    what: str


@dataclass(frozen=True)
class Question:
    ask: str
    check: Check
    check_text: str
    explain: str


@dataclass(frozen=True)
class Answer:
    """``status``: 'yes', 'no', or 'not yet' (the run has not recorded what the check reads)."""

    question: Question
    status: str
    observed: float | str | None
    sentence: str


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    section: str
    order: int
    text: str
    preset: str
    look: tuple[Look, ...]
    questions: tuple[Question, ...]
    also: tuple[str, ...] = ()  # further presets the lesson suggests
    glossary: tuple[str, ...] = ()  # terms it uses

    def answer(self, facts: RunFacts) -> list[Answer]:
        return [answer(q, facts) for q in self.questions]

    def evaluation_needs(self) -> tuple[list[str], list[str]]:
        """The evaluations and baselines to run before the questions that read an evaluation can be answered."""
        return evaluation_needs(q.check for q in self.questions)


def _fmt(v: float | str | None) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def answer(question: Question, facts: RunFacts) -> Answer:
    c = question.check
    left = facts.value(c.left)
    if c.right is not None:
        right = facts.value(c.right)
        right = right * c.factor if isinstance(right, (int, float)) and right is not None else right
    else:
        right = c.constant
    missing = [str(ref) for ref, v in ((c.left, left), (c.right, right)) if ref is not None and v is None]
    if missing:
        where = "evaluate the run (Evaluation tab)" if any(m.startswith("eval:") for m in missing) else "train longer"
        return Answer(question, "not yet", None, f"Not answerable yet: the run has no {', '.join(missing)} — {where}.")
    if isinstance(left, str) != isinstance(right, str):
        return Answer(question, "not yet", left, f"{c.left} is {_fmt(left)!r}, which cannot be compared with {_fmt(right)!r}.")
    ok = bool(OPERATORS[c.op](left, right))  # type: ignore[arg-type]  # both numbers or both text, checked above
    against = _fmt(right) if c.right is None else f"{_fmt(right)} ({'' if c.factor == 1 else f'{c.factor:g} × '}{c.right})"
    sentence = f"{'Yes' if ok else 'No'}: {c.left} = {_fmt(left)}, {'' if ok else 'not '}{c.op} {against}."
    return Answer(question, "yes" if ok else "no", left, sentence)


def check_run(lesson: Lesson, run_dir: str | Path) -> list[Answer]:
    """Read a run's records and answer the lesson's questions (cheap: a few kB of JSON)."""
    return lesson.answer(RunFacts.read(run_dir))


def lesson_from_mapping(data: Mapping[str, Any], lesson_id: str, where: str = "") -> Lesson:
    where = where or f"lesson {lesson_id!r}"

    def need(key: str, kind: type = str) -> Any:
        if key not in data:
            raise ConfigError(f"{where}: {key}", "is missing")
        if not isinstance(data[key], kind):
            raise ConfigError(f"{where}: {key}", f"must be a {kind.__name__}")
        return data[key]

    looks = tuple(Look(str(item["panel"]), str(item["what"])) for item in data.get("look", []))
    questions = []
    for i, q in enumerate(data.get("questions", []), start=1):
        text = str(q.get("check", ""))
        questions.append(Question(str(q.get("ask", "")), Check.parse(text, f"{where}: questions[{i}].check"), text,
                                  str(q.get("explain", ""))))
    if not questions:
        raise ConfigError(f"{where}: questions", "a lesson needs at least one question")
    return Lesson(id=lesson_id, title=need("title"), section=need("section"), order=int(need("order", int)),
                  text=need("text").strip(), preset=need("preset"), look=looks, questions=tuple(questions),
                  also=tuple(data.get("also", ())), glossary=tuple(data.get("glossary", ())))


def load_lesson(lesson_id: str) -> Lesson:
    path = lessons_dir() / f"{lesson_id}.toml"
    if not path.is_file():
        import difflib

        names = lesson_ids()
        raise UnknownNameError("lesson", lesson_id, names, difflib.get_close_matches(lesson_id, names, n=2))
    with path.open("rb") as f:
        return lesson_from_mapping(tomllib.load(f), lesson_id, where=str(path.name))


def lesson_ids() -> list[str]:
    return sorted(p.stem for p in lessons_dir().glob("*.toml"))


def lessons() -> list[Lesson]:
    """Every lesson, in the chapter's order."""
    return sorted((load_lesson(i) for i in lesson_ids()), key=lambda lesson: (lesson.order, lesson.id))


def sections(items: Iterable[Lesson] | None = None) -> dict[str, list[Lesson]]:
    out: dict[str, list[Lesson]] = {}
    for lesson in lessons() if items is None else items:
        out.setdefault(lesson.section, []).append(lesson)
    return out
