"""Hand-designed features against values computed by hand and against reference libraries."""
from __future__ import annotations

import numpy as np
import pytest

from core.evaluation import handcrafted as H


def test_a_vertical_edge_puts_all_gradient_in_the_horizontal_orientation_bin():
    img = np.zeros((1, 4, 4))
    img[0, :, 2:] = 1.0  # columns 0, 1 dark; 2, 3 bright
    gx, gy = H.image_gradients(img)
    # central differences: columns 1 and 2 see (1 - 0) / 2; the borders one-sided differences of 0
    np.testing.assert_allclose(gx[0, 0], [0.0, 0.5, 0.5, 0.0])
    assert np.all(gy == 0)
    hog = H.orientation_histograms(img, cells=1, bins=9)
    # one cell: magnitude 0.5 × 8 pixels, all in bin 0 (0°), then L2-normalised to 1
    np.testing.assert_allclose(hog[0], [4.0 / np.sqrt(16 + 1e-6)] + [0.0] * 8)
    stats = H.edge_statistics(img)[0]
    mean, std = 8 * 0.5 / 16, np.sqrt(8 * 0.25 / 16 - (0.25) ** 2)
    np.testing.assert_allclose(stats, [mean, std, 0.25, 0.0, 0.5])


def test_a_diagonal_gradient_lands_in_the_45_degree_bin():
    yy, xx = np.mgrid[0:6, 0:6]
    img = (xx + yy)[None].astype(float)  # gx = gy = 1 everywhere: orientation 45°
    hog = H.orientation_histograms(img, cells=2, bins=4).reshape(4, 4)
    assert np.all(np.argmax(hog, axis=1) == 1)  # bins of 45°: [0, 45), [45, 90), ...
    np.testing.assert_allclose(hog[:, 1], 1.0, atol=1e-6)


def test_mel_scale_known_values():
    assert H.hz_to_mel(0.0) == 0.0
    assert H.hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)  # the scale is anchored at 1 kHz ≈ 1000 mel
    assert H.hz_to_mel(700.0) == pytest.approx(2595 * np.log10(2))
    np.testing.assert_allclose(H.mel_to_hz(H.hz_to_mel([50.0, 440.0, 3000.0])), [50.0, 440.0, 3000.0])


def test_mel_filters_are_triangles_that_peak_at_their_centres():
    bank = H.mel_filterbank(10, 512, 8000.0)
    assert bank.shape == (10, 257) and bank.min() >= 0 and bank.max() <= 1
    assert np.all(np.diff(np.argmax(bank, axis=1)) > 0)  # centres rise with the filter index


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_pure_tone_puts_its_energy_in_the_mel_band_centred_nearest_it(freq):
    rate, n_mels = 8000.0, 20
    t = np.arange(2048) / rate
    lm = H.log_mel(np.sin(2 * np.pi * freq * t)[None], rate, n_fft=256, n_mels=n_mels)
    centres = H.mel_to_hz(np.linspace(0, H.hz_to_mel(rate / 2), n_mels + 2))[1:-1]
    loudest = np.argmax(lm[0].mean(axis=0))
    assert abs(loudest - np.argmin(np.abs(centres - freq))) <= 1
    assert abs(centres[loudest] - freq) < 0.25 * freq


def test_dct_matches_scipy():
    from scipy.fft import dct

    x = np.random.default_rng(0).normal(size=(3, 5, 20))
    np.testing.assert_allclose(H.dct_ii(x), dct(x, type=2, norm="ortho", axis=-1), atol=1e-10)
    np.testing.assert_allclose(H.dct_ii(x, 13), dct(x, type=2, norm="ortho", axis=-1)[..., :13], atol=1e-10)


def test_mfcc_agrees_with_librosa_when_it_is_installed():
    librosa = pytest.importorskip("librosa")
    rate = 8000
    y = np.sin(2 * np.pi * 440 * np.arange(4096) / rate)
    ours = H.mel_filterbank(20, 256, rate)
    theirs = librosa.filters.mel(sr=rate, n_fft=256, n_mels=20, htk=True, norm=None)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert H.mfcc(y[None], rate).shape[-1] == 13


def test_tfidf_matches_the_formula():
    PAD = -1
    X = np.array([[0, 1, PAD], [0, 0, 2]], dtype=np.float32)
    f = H.tfidf_features(X)(X)
    # words w0 (in both documents), w1 (first), w2 (second); smoothed idf = ln((1 + 2) / (1 + df)) + 1
    idf = {0: 1.0, 1: np.log(1.5) + 1, 2: np.log(1.5) + 1}
    first = np.array([1 * idf[0], 1 * idf[1], 0.0])
    second = np.array([2 * idf[0], 0.0, 1 * idf[2]])
    np.testing.assert_allclose(f[0], first / np.linalg.norm(first))
    np.testing.assert_allclose(f[1], second / np.linalg.norm(second))


def test_graph_node_features_of_a_triangle_with_a_tail():
    edges = np.array([[0, 1], [1, 2], [0, 2], [2, 3]])  # triangle 0-1-2, node 3 hangs on node 2
    F = H.graph_node_features(4, edges, spectral=2)
    np.testing.assert_allclose(F[:, 0], [2, 2, 3, 1])
    np.testing.assert_allclose(F[:, 1], [1.0, 1.0, 1 / 3, 0.0])  # node 2: one triangle among 3 neighbour pairs
    # spectral columns are eigenvectors of the normalised Laplacian
    A = np.zeros((4, 4))
    A[edges[:, 0], edges[:, 1]] = A[edges[:, 1], edges[:, 0]] = 1
    d = A.sum(1)
    L = np.eye(4) - A / np.sqrt(np.outer(d, d))
    evals = np.linalg.eigvalsh(L)
    for j in range(2):
        v = F[:, 2 + j]
        np.testing.assert_allclose(L @ v, evals[1 + j] * v, atol=1e-8)


def test_tabular_baseline_is_the_standardised_columns():
    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]], dtype=np.float32)
    hand = H.handcrafted_baseline("tabular", X)
    assert hand.name == "hand-designed (standardised columns)"
    z = hand.transform(X)
    np.testing.assert_allclose(z[:, 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)], rtol=1e-6)
    np.testing.assert_allclose(z[:, 1], 0.0)  # a constant column stays 0


@pytest.mark.parametrize("kind, name", [("image", "HOG"), ("audio", "MFCC"), ("tokens", "TF-IDF"), ("graph", "clustering")])
def test_each_kind_names_its_features_and_gives_finite_standardised_vectors(kind, name):
    rng = np.random.default_rng(0)
    X = {"image": rng.random((20, 1, 8, 8)), "audio": rng.normal(size=(20, 1, 512)),
         "tokens": rng.integers(0, 6, (20, 5)).astype(float), "graph": np.arange(20.0)[:, None]}[kind]
    edges = np.stack([np.arange(19), np.arange(1, 20)], axis=1)
    hand = H.handcrafted_baseline(kind, X, n_nodes=20, edges=edges)
    Z = hand.transform(X)
    assert name in hand.name and Z.shape[0] == 20 and np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(0), 0.0, atol=1e-5)


def test_sample_rate_is_read_from_the_description():
    class D:
        description = "Short synthetic tones (8 kHz): ..."

    class W:
        description = "12 clips at 16000 Hz in 2 classes"

    assert H.sample_rate_of(D()) == 8000.0 and H.sample_rate_of(W()) == 16000.0
