"""Lessons: every file parses, names a preset that exists, and asks questions its own run can answer."""
from __future__ import annotations

import dataclasses

import pytest

import core
from core import lessons as L


def facts(epochs, evaluation=None):
    return L.RunFacts(tuple(epochs), evaluation)


EPOCHS = [
    {"event": "epoch", "train_loss": 2.0, "diagnostics": {"effective_rank": 20.0, "probe_accuracy": None,
                                                          "std": [1.0, 3.0], "verdict": {"status": "healthy"}}},
    {"event": "epoch", "train_loss": 0.5, "diagnostics": {"effective_rank": 1.5, "probe_accuracy": 0.4,
                                                          "std": [0.1, 0.3], "verdict": {"status": "complete collapse"}}},
    {"event": "epoch", "train_loss": 0.8, "diagnostics": {"effective_rank": 1.2, "probe_accuracy": None,
                                                          "std": [0.1, 0.1], "verdict": {"status": "complete collapse"}}},
]
EVALUATION = {"results": {"learned": {"metrics": {"probe_accuracy": {"value": 0.9}}, "factors": {"decode_vx": 0.6},
                                      "property_card": {"invariance": {"score": 0.7}}},
                          "hand-designed (HOG + edges)": {"metrics": {"probe_accuracy": {"value": 0.8}}}}}


def q(check):
    return L.Question("?", L.Check.parse(check), check, "")


@pytest.mark.parametrize("check, status, observed", [
    ("last:diagnostics.effective_rank < 2", "yes", 1.2),
    ("first:diagnostics.effective_rank < 2", "no", 20.0),
    ("diagnostics.effective_rank < 2", "yes", 1.2),  # last by default
    ("min:train_loss < 0.3 * first:train_loss", "yes", 0.5),  # 0.5 < 0.6
    ("min:train_loss < 0.2 * first:train_loss", "no", 0.5),  # 0.5 is not < 0.4
    ("max:train_loss >= 2", "yes", 2.0),
    ("last:diagnostics.probe_accuracy > 0.3", "yes", 0.4),  # the last recorded value, skipping epochs without one
    ("last:diagnostics.verdict.status == 'complete collapse'", "yes", "complete collapse"),
    ("first:diagnostics.verdict.status != 'healthy'", "no", "healthy"),
    ("last:diagnostics.std < 0.2", "yes", 0.1),  # a per-dimension list reads as its mean
    ("first:diagnostics.std == 2", "yes", 2.0),
    ("eval:learned.probe_accuracy > eval:handcrafted.probe_accuracy", "yes", 0.9),
    ("eval:learned.decode_vx > 0.5", "yes", 0.6),  # factor scores
    ("eval:learned.invariance < 0.5", "no", 0.7),  # property-card scores
])
def test_checks_answer_from_recorded_metrics(check, status, observed):
    a = L.answer(q(check), facts(EPOCHS, EVALUATION))
    assert a.status == status and a.observed == observed
    assert a.sentence.startswith("Yes" if status == "yes" else "No")


@pytest.mark.parametrize("check, hint", [
    ("last:diagnostics.knn_accuracy > 0.5", "train longer"),
    ("eval:learned.knn_accuracy > 0.5", "evaluate the run"),
    ("eval:random_init.probe_accuracy > 0.5", "evaluate the run"),
])
def test_a_check_the_run_cannot_answer_yet_says_what_to_do(check, hint):
    a = L.answer(q(check), facts(EPOCHS, EVALUATION))
    assert a.status == "not yet" and hint in a.sentence


def test_without_an_evaluation_eval_checks_wait_for_one():
    assert L.answer(q("eval:learned.probe_accuracy > 0.5"), facts(EPOCHS)).status == "not yet"


@pytest.mark.parametrize("bad", ["effective_rank", "last:x <", "median:train_loss < 1", "eval:learned < 1",
                                 "last:train loss < 1", "last:train_loss ~ 1"])
def test_malformed_checks_are_refused_with_a_message(bad):
    with pytest.raises(core.ConfigError):
        L.Check.parse(bad)


def test_a_lesson_file_without_questions_names_the_problem():
    with pytest.raises(core.ConfigError, match="questions"):
        L.lesson_from_mapping({"title": "t", "section": "s", "order": 1, "text": "x", "preset": "p"}, "x")


def test_evaluation_needs_follow_the_checks():
    lesson = L.load_lesson("07-self-supervised-video")
    evals, baselines = lesson.evaluation_needs()
    assert "properties" in evals and baselines == ["random_init"]


def test_every_lesson_loads_in_the_chapters_order_and_names_an_existing_preset():
    all_lessons = L.lessons()
    assert len(all_lessons) >= 20
    assert [x.order for x in all_lessons] == sorted(x.order for x in all_lessons)
    presets = set(core.preset_names())
    for lesson in all_lessons:
        assert lesson.preset in presets, lesson.id
        assert set(lesson.also) <= presets, lesson.id
        assert lesson.text and lesson.look and lesson.questions
    sections = L.sections(all_lessons)
    for needed in ("Foundations", "Self-supervised learning", "Contrastive learning", "Collapse", "Evaluation"):
        assert needed in sections
    # one lesson per anti-collapse mechanism, each with a preset that switches it off
    collapse = [x.id for x in sections["Collapse"]]
    for mechanism in ("negatives", "stop-gradient", "variance", "decorrelation", "predictor"):
        assert any(mechanism in i for i in collapse), mechanism


def test_unknown_lesson_suggests_a_name():
    with pytest.raises(core.UnknownNameError):
        L.load_lesson("01-useful-representation")


LESSON_PRESETS = sorted({x.preset for x in L.lessons()})


@pytest.mark.slow
@pytest.mark.parametrize("preset", LESSON_PRESETS)
def test_each_lessons_preset_runs_and_its_checks_can_be_answered(tmp_path, preset):
    """One short epoch of the preset (and the evaluations the lesson's questions read): every question gets a
    yes or a no, none 'not yet'."""
    exp = core.load_preset(preset)
    params = core.to_mapping(exp.data.params)  # generated data sets smaller, to keep the suite short
    params.update({k: min(v, 400) for k, v in params.items() if k in ("clips", "transitions", "sentences", "images")})
    exp = dataclasses.replace(exp, data=dataclasses.replace(exp.data, params=params),
                              output=core.OutputConfig(root=str(tmp_path)))
    exp = exp.with_training(epochs=1, device="cpu", snapshot_every=0, checkpoint_every=1, warmup_epochs=0,
                            eval_points=256)
    result = core.run_to_end(core.train(exp))
    using = [x for x in L.lessons() if x.preset == preset]
    evals = sorted({e for x in using for e in x.evaluation_needs()[0]})
    baselines = sorted({b for x in using for b in x.evaluation_needs()[1]})
    if evals:
        model = core.load_trained(result.run_dir)
        ev = core.run_to_end(core.evaluate(model, evals, baselines))
        core.RunDirectory.open(result.run_dir).write_evaluation(ev.to_record())
    for lesson in using:
        for a in L.check_run(lesson, result.run_dir):
            assert a.status in ("yes", "no"), f"{lesson.id}: {a.question.check_text}: {a.sentence}"
