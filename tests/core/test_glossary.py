"""The glossary: every term the lessons and the cockpit use is defined, and recorded metric names find theirs."""
from __future__ import annotations

import pytest

import core
from core.glossary import explain_metric, glossary


def test_the_chapters_terms_are_defined():
    for term in ("effective rank", "uniformity", "alignment", "trustworthiness", "RankMe", "InfoNCE", "collapse",
                 "linear probe", "MFCC", "HOG", "TF-IDF"):
        assert core.define(term), term


def test_every_term_a_lesson_lists_is_in_the_glossary():
    missing = {(lesson.id, t) for lesson in core.all_lessons() for t in lesson.glossary if not core.define(t)}
    assert not missing


@pytest.mark.parametrize("metric, term", [
    ("effective_rank", "effective rank"), ("probe_accuracy", "linear probe"), ("knn_majority_accuracy", "knn probe"),
    ("pca_2d_trustworthiness", "trustworthiness"), ("robustness_drop[gaussian_noise]", "robustness"),
    ("probe_accuracy[layer1]", "linear probe"), ("ece", "calibration"), ("decode_vx", "probe"),
    ("uniformity", "uniformity"), ("nmi", "clustering"),
])
def test_recorded_metric_names_find_their_term(metric, term):
    assert explain_metric(metric).startswith(f"{term}:")


def test_an_unknown_metric_has_no_explanation():
    assert explain_metric("something_else_entirely") is None


def test_every_entry_has_text():
    assert all(isinstance(e["text"], str) and len(e["text"]) > 20 for e in glossary().values())
