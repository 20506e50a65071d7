"""Diagnostics against formulas and known values."""
import numpy as np
import pytest

import core
from core.diagnostics.collapse import compute_diagnostics, effective_rank, mean_pairwise_cosine


def test_effective_rank_known_values():
    assert effective_rank(np.ones(7)) == pytest.approx(7.0, rel=1e-5)
    assert effective_rank(np.array([3.0, 0, 0, 0])) == pytest.approx(1.0, rel=1e-5)
    s = np.array([2.0, 1.0, 1.0])
    p = s / s.sum()
    assert effective_rank(s) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-5)
    assert effective_rank(np.zeros(3)) == 0.0


def test_mean_pairwise_cosine_matches_brute_force():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(50, 6)) + 0.5
    U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    C = U @ U.T
    brute = (C.sum() - np.trace(C)) / (50 * 49)
    assert mean_pairwise_cosine(Z) == pytest.approx(brute, rel=1e-10)
    assert mean_pairwise_cosine(np.tile([[1.0, 2.0]], (5, 1))) == pytest.approx(1.0)


def test_isotropic_embeddings_are_healthy_and_collapsed_ones_are_not():
    rng = np.random.default_rng(1)
    d = 32
    healthy = compute_diagnostics(rng.normal(size=(4000, d)))
    assert healthy.mean_normalized_std == pytest.approx(1 / np.sqrt(d), rel=0.05)
    assert healthy.effective_rank > 0.9 * d
    assert abs(healthy.mean_cosine) < 0.01
    # dimensional collapse: everything lives in a 2-D subspace
    low = rng.normal(size=(4000, 2)) @ rng.normal(size=(2, d))
    collapsed = compute_diagnostics(low)
    assert collapsed.effective_rank < 2.1
    assert collapsed.singular_values[2] < 1e-8 * collapsed.singular_values[0]
    assert not collapsed.std.flags.writeable


def test_diagnostics_need_two_points():
    with pytest.raises(ValueError, match="at least two"):
        compute_diagnostics(np.zeros((1, 4)))


def test_alignment_and_uniformity_known_values():
    from core.diagnostics.alignment import alignment, uniformity

    Z = np.random.default_rng(0).normal(size=(50, 8))
    assert alignment(Z, Z * 3) == pytest.approx(0.0, abs=1e-12)  # same directions
    assert alignment(Z, -Z) == pytest.approx(4.0)  # antipodal: ‖u − (−u)‖² = 4
    assert uniformity(np.tile([[1.0, 2.0, 3.0]], (20, 1))) == pytest.approx(0.0, abs=1e-12)  # collapsed points
    assert uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-8.0)  # one pair at distance² 4
    spread = uniformity(np.random.default_rng(1).normal(size=(500, 16)))
    assert -4.0 < spread < -3.0  # near the uniform-sphere value for d = 16 (about −3.5)


def test_collapse_verdicts():
    rng = np.random.default_rng(0)
    healthy = compute_diagnostics(rng.normal(size=(800, 32)))
    assert healthy.verdict.status == "healthy" and not healthy.verdict.collapsed
    low_rank = compute_diagnostics(rng.normal(size=(800, 2)) @ rng.normal(size=(2, 32)))
    assert low_rank.verdict.status == "dimensional collapse"
    assert "of 32" in low_rank.verdict.sentence
    point = compute_diagnostics(np.ones((800, 32)) + 1e-5 * rng.normal(size=(800, 32)))
    v = point.verdict
    assert v.status == "complete collapse" and dict(v.numbers)["mean_cosine"] > 0.99
    assert v.sentence.startswith("Complete collapse")
    half_dead = rng.normal(size=(800, 32))
    half_dead[:, 16:] *= 1e-4
    assert compute_diagnostics(half_dead).verdict.status == "dimensional collapse"


def test_covariance_and_cross_correlation():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(1000, 6))
    d = compute_diagnostics(Z, views=(Z, Z + 0.01 * rng.normal(size=Z.shape)))
    np.testing.assert_allclose(d.covariance, np.cov(Z, rowvar=False), atol=1e-10)
    np.testing.assert_allclose(np.diag(d.cross_correlation), 1.0, atol=1e-3)  # the views agree
    assert np.abs(d.cross_correlation - np.diag(np.diag(d.cross_correlation))).max() < 0.1
    assert compute_diagnostics(rng.normal(size=(10, 300))).covariance is None  # too large for events


def test_rankme_of_the_identity_is_its_size():
    sv = np.linalg.svd(np.eye(16), compute_uv=False)
    assert effective_rank(sv) == pytest.approx(16.0, rel=1e-4)


def test_live_effective_rank_is_rankme_of_the_uncentred_embeddings():
    # the paper's definition: I₁₆ has rank 16 (centring it first would give 15)
    assert compute_diagnostics(np.eye(16)).effective_rank == pytest.approx(16.0, rel=1e-4)
    Z = np.random.default_rng(0).normal(size=(200, 8)) + 5.0  # a large shared offset is one strong direction
    sv = np.linalg.svd(Z, compute_uv=False)
    assert compute_diagnostics(Z).effective_rank == pytest.approx(effective_rank(sv), rel=1e-9)


def test_view_task_equals_simclrs_contrastive_accuracy_and_says_when_views_are_too_easy():
    import torch

    from core.diagnostics.collapse import view_task
    from core.objectives.functional import contrastive_accuracy

    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 16))
    b = a + 0.9 * rng.normal(size=(64, 16))  # views that share some of each sample
    acc, positive = view_task(a, b, group=64)
    assert acc == pytest.approx(float(contrastive_accuracy(torch.as_tensor(a), torch.as_tensor(b))))
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert positive == pytest.approx(cos.mean())
    easy = compute_diagnostics(a, views=(a, a + 1e-3 * rng.normal(size=a.shape)))
    assert easy.view_accuracy == 1.0 and "easy to tell apart" in easy.view_hint
    hard = compute_diagnostics(a, views=(a, rng.normal(size=a.shape)))
    assert hard.view_accuracy < 0.05 and "share too little" in hard.view_hint
    assert compute_diagnostics(a, views=(a, b)).view_hint is None and 0.05 < acc < 0.95
    assert core_record_roundtrip(easy).view_accuracy == easy.view_accuracy


def core_record_roundtrip(d):
    from core.diagnostics.collapse import Diagnostics

    return Diagnostics.from_record(d.to_record())



def test_a_single_view_objective_gets_no_view_strength_metrics(tiny_experiment):
    """Supervised on images: the views still give alignment, but how easy they are to match says nothing about
    an objective that never sees two views, so it is not computed (the app showed it as "Views, epoch 2: ...")."""
    events = [e for e in core.train(tiny_experiment.with_training(epochs=2)) if isinstance(e, core.EpochEnded)]
    assert events
    for e in events:
        assert e.diagnostics is not None and e.diagnostics.alignment is not None
        assert e.diagnostics.view_accuracy is None and e.diagnostics.positive_similarity is None
