"""Every loss term against its formula and known values."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import core
from core.objectives import functional as Fn


def test_nt_xent_of_collinear_embeddings_is_log_2n_minus_1():
    z = torch.ones(4, 5)
    assert Fn.nt_xent(z, z.clone(), temperature=0.5).item() == pytest.approx(math.log(7), abs=1e-6)
    assert math.log(7) == pytest.approx(1.9459, abs=1e-4)


def test_nt_xent_matches_the_papers_sum_and_is_symmetric():
    torch.manual_seed(0)
    z1, z2, tau = torch.randn(5, 3), torch.randn(5, 3), 0.3
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = (i + 5) % n2
        denom = sum(math.exp(float(z[i] @ z[k]) / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(float(z[i] @ z[j]) / tau) / denom)
    assert Fn.nt_xent(z1, z2, tau).item() == pytest.approx(total / n2, rel=1e-5)
    assert Fn.nt_xent(z2, z1, tau).item() == pytest.approx(total / n2, rel=1e-5)


def test_contrastive_accuracy_of_perfect_pairs():
    z = torch.eye(4)
    assert Fn.contrastive_accuracy(z, z.clone()).item() == 1.0


def test_nt_xent_with_accuracy_is_the_loss_and_the_accuracy_from_one_similarity_matrix():
    torch.manual_seed(1)
    z1 = torch.randn(64, 8)
    z2 = z1 + 0.8 * torch.randn(64, 8)  # some pairs found, some not
    loss, accuracy = Fn.nt_xent_with_accuracy(z1, z2, 0.2)
    assert loss.item() == Fn.nt_xent(z1, z2, 0.2).item()
    expected = Fn.contrastive_accuracy(z1, z2).item()
    assert 0.1 < expected < 0.9 and accuracy.item() == expected
    assert not accuracy.requires_grad


def test_vicreg_of_a_constant_output_is_24_75_with_default_weights():
    vicreg = core.OBJECTIVES.get("vicreg")
    params = vicreg.make_params()
    assert (params.sim_weight, params.var_weight, params.cov_weight) == (25.0, 25.0, 1.0)
    z = torch.full((8, 16), 3.0)
    from core.objectives.vicreg import vicreg_loss

    out = vicreg_loss(z, z.clone(), params)
    assert out.loss.item() == pytest.approx(24.75, abs=1e-5)
    assert out.terms["invariance"].item() == 0 and out.terms["covariance"].item() == 0
    assert sum(v for v in out.terms.values()).item() == pytest.approx(out.loss.item())


def test_vicreg_terms_against_formulas():
    torch.manual_seed(1)
    z, z2 = torch.randn(50, 4) * 3, torch.randn(50, 4)
    assert Fn.vicreg_invariance(z, z2).item() == pytest.approx(((z - z2) ** 2).mean().item(), rel=1e-6)
    std = torch.sqrt(z2.var(dim=0) + 1e-4)
    assert Fn.vicreg_variance(z2).item() == pytest.approx(torch.clamp(1 - std, min=0).mean().item(), rel=1e-6)
    assert Fn.vicreg_variance(z).item() < 0.05  # std ≈ 3: the hinge is almost inactive
    cov = np.cov(z.numpy(), rowvar=False)
    expected = (cov ** 2).sum() - (np.diag(cov) ** 2).sum()
    assert Fn.vicreg_covariance(z).item() == pytest.approx(expected / 4, rel=1e-4)


def hadamard_views():
    h = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float32)
    return h[:, 1:]  # zero-mean, unit-std, mutually orthogonal columns


def test_barlow_twins_of_identical_decorrelated_views_is_zero():
    z = hadamard_views() * 2 + 5  # standardisation removes scale and shift
    on, off = Fn.barlow_twins(z, z.clone(), 0.0051)
    assert on.item() == pytest.approx(0, abs=1e-10) and off.item() == pytest.approx(0, abs=1e-10)


def test_barlow_twins_against_formula():
    torch.manual_seed(2)
    z1, z2 = torch.randn(20, 3), torch.randn(20, 3)
    a = (z1 - z1.mean(0)) / z1.std(0, unbiased=False)
    b = (z2 - z2.mean(0)) / z2.std(0, unbiased=False)
    c = (a.T @ b / 20).numpy()
    on, off = Fn.barlow_twins(z1, z2, 0.0051)
    assert on.item() == pytest.approx(((1 - np.diag(c)) ** 2).sum(), rel=1e-5)
    assert off.item() == pytest.approx((c ** 2).sum() - (np.diag(c) ** 2).sum(), rel=1e-5)
    torch.testing.assert_close(Fn.cross_correlation(z1, z2), torch.from_numpy(c))


def test_vae_kl_is_half_per_dimension_for_mu_one_logvar_zero():
    assert Fn.kl_standard_normal(torch.ones(3, 7), torch.zeros(3, 7)).item() == pytest.approx(3.5)
    assert Fn.kl_standard_normal(torch.zeros(2, 4), torch.zeros(2, 4)).item() == 0.0
    # σ² = e: 0.5 (e − 1 − 1) per dimension
    assert Fn.kl_standard_normal(torch.zeros(1, 2), torch.ones(1, 2)).item() == pytest.approx(math.e - 2)


def test_vae_active_units():
    from core.objectives.vae import active_units

    mu = torch.cat([torch.randn(100, 2), torch.full((100, 3), 0.7)], dim=1)
    assert active_units(mu).item() == 2


def test_byol_and_simsiam_terms():
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert Fn.byol_regression(p, p * 3).item() == pytest.approx(0.0)
    assert Fn.byol_regression(p, -p).item() == pytest.approx(4.0)
    q = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert Fn.byol_regression(p, q).item() == pytest.approx(2.0)  # orthogonal: 2 − 0
    assert Fn.negative_cosine(p, p).item() == pytest.approx(-1.0)


def test_sparsity_penalties():
    code = torch.full((10, 4), 0.05)
    assert Fn.kl_sparsity(code, 0.05).item() == pytest.approx(0.0, abs=1e-6)
    rho, rho_hat = 0.05, 0.2
    expected = 4 * (rho * math.log(rho / rho_hat) + (1 - rho) * math.log((1 - rho) / (1 - rho_hat)))
    assert Fn.kl_sparsity(torch.full((10, 4), rho_hat), rho).item() == pytest.approx(expected, rel=1e-5)
    for extreme in (0.0, 1.0):  # saturated sigmoid units: large but finite, never NaN
        value = Fn.kl_sparsity(torch.full((5, 3), extreme), 0.05)
        assert torch.isfinite(value)
    assert Fn.l1_activity(torch.tensor([[1.0, -2.0], [0.0, 3.0]])).item() == pytest.approx(3.0)


def test_reconstruction_losses_and_masks():
    x = torch.tensor([[0.0, 1.0, 0.5]])
    x_hat = torch.tensor([[1.0, 1.0, 0.0]])
    assert Fn.mse_reconstruction(x_hat, x).item() == pytest.approx(1.25)
    assert Fn.mse_reconstruction(x_hat, x, torch.tensor([[1.0, 0.0, 0.0]])).item() == pytest.approx(1.0)
    logits = torch.zeros(1, 3)
    assert Fn.bce_reconstruction(logits, x).item() == pytest.approx(3 * math.log(2))


def test_off_diagonal():
    m = torch.arange(9.0).view(3, 3)
    assert Fn.off_diagonal(m).tolist() == [1, 2, 3, 5, 6, 7]


def test_edge_logistic_and_auc():
    from core.objectives.edge_prediction import roc_auc

    pos, neg = Fn.edge_logistic(torch.zeros(4), torch.zeros(4, 2))
    assert pos.item() == pytest.approx(math.log(2)) and neg.item() == pytest.approx(math.log(2))
    assert roc_auc(torch.tensor([3.0, 4.0]), torch.tensor([1.0, 2.0])).item() == 1.0
    assert roc_auc(torch.tensor([1.0]), torch.tensor([1.0])).item() == 0.5


def test_corruptions():
    from core.objectives.denoising_autoencoder import corrupt

    torch.manual_seed(0)
    x = torch.full((200, 50), 0.5)
    masked = corrupt(x, "masking", 0.3, (0.0, 1.0))
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    sp = corrupt(x, "salt_pepper", 0.4, (0.0, 1.0))
    changed = sp != 0.5
    assert changed.float().mean().item() == pytest.approx(0.4, abs=0.02)
    assert set(sp[changed].unique().tolist()) == {0.0, 1.0}
    g = corrupt(x, "gaussian", 0.2, None)
    assert (g - x).std().item() == pytest.approx(0.2, rel=0.05)


def test_masked_prediction_hides_whole_patches_and_at_least_one_unit():
    from core.objectives.masked_prediction import unit_mask

    torch.manual_seed(0)
    x = torch.zeros(64, 1, 8, 8)
    mask = unit_mask(x, "image", 0.5, patch=2)
    blocks = mask.view(64, 1, 4, 2, 4, 2)
    assert (blocks.amax(dim=(3, 5)) == blocks.amin(dim=(3, 5))).all()  # each 2x2 patch is all-or-nothing
    assert (mask.flatten(1).sum(1) >= 4).all()
    assert mask.mean().item() == pytest.approx(0.5, abs=0.1)
    seq = unit_mask(torch.zeros(10, 2, 30), "audio", 0.01, patch=1)
    assert (seq[:, 0] == seq[:, 1]).all() and (seq.sum(dim=(1, 2)) >= 2).all()
