"""Hand-designed features: the engineered baseline that learned representations are measured against.

Before representation learning, features were designed by hand for each kind of data: gradient-orientation
histograms and edge statistics for images (Dalal & Triggs, 2005), log-mel spectra and MFCCs for sound (Davis &
Mermelstein, 1980), word counts weighted by TF-IDF for text (Salton & Buckley, 1988), degrees, clustering
coefficients and Laplacian eigenvectors for graph nodes. :func:`handcrafted_baseline` returns the features that fit
a data kind, fitted on the training split and standardised, with a name that says what they are.

Everything here is written from the formulas with numpy (scikit-learn for TF-IDF, networkx for graphs), so the
tests can check it against values computed by hand.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.data.base import PAD_ID


@dataclass(frozen=True)
class HandcraftedFeatures:
    """Features fitted on a training split: ``transform(X)`` maps samples (as the model sees them) to vectors."""

    name: str
    transform: Callable[[np.ndarray], np.ndarray]


# ---- images: gradient-orientation histograms and edge statistics ------------------------------------------


def image_gradients(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``gx = (I[:, x+1] − I[:, x−1]) / 2`` (one-sided at the border) of (n, H, W) images."""
    gy, gx = np.gradient(img.astype(np.float64), axis=(1, 2))
    return np.asarray(gx), np.asarray(gy)


def orientation_histograms(img: np.ndarray, cells: int = 4, bins: int = 9) -> np.ndarray:
    """HOG-like descriptor of (n, H, W) grey images: the image is cut into ``cells × cells`` cells; in each, the
    gradient magnitudes are summed into ``bins`` unsigned orientation bins over [0°, 180°) and the cell's histogram
    is L2-normalised (``h / sqrt(|h|² + 1e-6)``). Returns (n, cells² · bins)."""
    gx, gy = image_gradients(img)
    mag = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned: an edge and its reverse are the same orientation
    which = np.minimum((angle / np.pi * bins).astype(int), bins - 1)
    n, h, w = img.shape
    cells_y, cells_x = min(cells, h), min(cells, w)
    out = np.zeros((n, cells_y, cells_x, bins))
    for i, rows in enumerate(np.array_split(np.arange(h), cells_y)):
        for j, cols in enumerate(np.array_split(np.arange(w), cells_x)):
            m = mag[:, rows][:, :, cols].reshape(n, -1)
            b = which[:, rows][:, :, cols].reshape(n, -1)
            for k in range(bins):
                out[:, i, j, k] = np.where(b == k, m, 0.0).sum(axis=1)
    out /= np.sqrt((out ** 2).sum(axis=-1, keepdims=True) + 1e-6)
    return out.reshape(n, -1)


def edge_statistics(img: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Per image: mean and standard deviation of the gradient magnitude, mean |gx| and |gy| (horizontal versus
    vertical change), and the edge density (share of pixels whose magnitude exceeds ``threshold`` times the
    image's intensity range). Returns (n, 5)."""
    gx, gy = image_gradients(img)
    mag = np.hypot(gx, gy).reshape(len(img), -1)
    span = np.ptp(img.reshape(len(img), -1), axis=1, keepdims=True)
    density = (mag > threshold * np.maximum(span, 1e-12)).mean(axis=1)
    return np.stack([mag.mean(1), mag.std(1), np.abs(gx).reshape(len(img), -1).mean(1),
                     np.abs(gy).reshape(len(img), -1).mean(1), density], axis=1)


def image_features(X: np.ndarray) -> np.ndarray:
    grey = X.mean(axis=1) if X.ndim == 4 else X  # colour channels averaged: the descriptors read intensity
    return np.concatenate([orientation_histograms(grey), edge_statistics(grey)], axis=1)


# ---- audio and signals: log-mel statistics and MFCCs -----------------------------------------------------


def hz_to_mel(f):
    """The mel scale (O'Shaughnessy, 1987; HTK's form): ``m = 2595 · log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: float, f_min: float = 0.0, f_max: float | None = None) -> np.ndarray:
    """Triangular filters (n_mels, n_fft // 2 + 1) on the FFT bins: filter m rises from the mel point m−1 to 1
    at point m and falls to 0 at point m+1, the ``n_mels + 2`` points being equally spaced in mels."""
    f_max = sample_rate / 2 if f_max is None else f_max
    points = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    lower, centre, upper = points[:-2, None], points[1:-1, None], points[2:, None]
    rising = (freqs[None] - lower) / (centre - lower)
    falling = (upper - freqs[None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def dct_ii(x: np.ndarray, n_out: int | None = None) -> np.ndarray:
    """Orthonormal DCT-II along the last axis: ``X_k = s_k Σ_n x_n cos(π k (2n + 1) / 2N)`` with
    ``s_0 = sqrt(1/N)`` and ``s_k = sqrt(2/N)`` otherwise (the form MFCCs use)."""
    N = x.shape[-1]
    k = np.arange(N if n_out is None else n_out)[:, None]
    basis = np.cos(np.pi * k * (2 * np.arange(N)[None] + 1) / (2 * N))
    scale = np.where(k == 0, np.sqrt(1.0 / N), np.sqrt(2.0 / N))
    return x @ (basis * scale).T


def power_frames(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Hann-windowed power spectra |FFT|² of overlapping frames: (n, frames, n_fft // 2 + 1)."""
    _n, t = signal.shape
    if t < n_fft:
        signal = np.pad(signal, ((0, 0), (0, n_fft - t)))
        t = n_fft
    starts = np.arange(0, t - n_fft + 1, hop)
    frames = signal[:, starts[:, None] + np.arange(n_fft)[None]]  # (n, frames, n_fft)
    return np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2


def log_mel(signal: np.ndarray, sample_rate: float, n_fft: int = 256, n_mels: int = 20) -> np.ndarray:
    """log(mel energies + 1e-10) per frame: (n, frames, n_mels); frames of ``n_fft`` samples, half overlapping."""
    n_fft = int(min(n_fft, 2 ** int(np.log2(max(signal.shape[1], 8)))))
    bank = mel_filterbank(n_mels, n_fft, sample_rate)
    return np.log(power_frames(signal, n_fft, n_fft // 2) @ bank.T + 1e-10)


def mfcc(signal: np.ndarray, sample_rate: float, n_mfcc: int = 13, n_mels: int = 20) -> np.ndarray:
    """Mel-frequency cepstral coefficients: the first ``n_mfcc`` DCT-II coefficients of each frame's log-mel."""
    return dct_ii(log_mel(signal, sample_rate, n_mels=n_mels), n_mfcc)


def audio_features(X: np.ndarray, sample_rate: float) -> np.ndarray:
    mono = X.reshape(len(X), -1, X.shape[-1]).mean(axis=1) if X.ndim == 3 else X.reshape(len(X), -1)
    lm = log_mel(mono, sample_rate)
    cc = dct_ii(lm, 13)
    return np.concatenate([lm.mean(1), lm.std(1), cc.mean(1), cc.std(1)], axis=1)


# ---- text: TF-IDF bag of words ----------------------------------------------------------------------------


def _documents(X: np.ndarray) -> list[str]:
    ids = np.asarray(X).reshape(len(X), -1)
    return [" ".join(f"w{int(i)}" for i in row if i != PAD_ID and i >= 0) for row in ids]


def tfidf_features(X_train: np.ndarray, max_features: int = 2000) -> Callable[[np.ndarray], np.ndarray]:
    """scikit-learn's TF-IDF (smoothed idf ``ln((1 + n) / (1 + df)) + 1``, rows L2-normalised) over token ids,
    with the vocabulary of the training split (at most ``max_features`` most frequent words)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, max_features=max_features)
    vec.fit(_documents(X_train))
    return lambda X: vec.transform(_documents(X)).toarray()


# ---- graphs: degree, clustering coefficient, spectral coordinates ----------------------------------------


def graph_node_features(n_nodes: int, edges: np.ndarray, spectral: int = 8) -> np.ndarray:
    """Per node: degree, local clustering coefficient (triangles through the node / pairs of its neighbours),
    and its coordinates on the eigenvectors of the ``spectral`` smallest non-zero eigenvalues of the normalised
    Laplacian ``I − D^{-1/2} A D^{-1/2}`` (Laplacian eigenmaps). Returns (n_nodes, 2 + spectral)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n_nodes))
    g.add_edges_from(map(tuple, np.asarray(edges, dtype=np.int64)))
    degree = np.array([g.degree(i) for i in range(n_nodes)], dtype=np.float64)
    clustering = np.array([nx.clustering(g, i) for i in range(n_nodes)], dtype=np.float64)
    k = max(0, min(spectral, n_nodes - 1))
    L = nx.normalized_laplacian_matrix(g, nodelist=range(n_nodes)).astype(np.float64)
    if n_nodes <= 3000:
        _, vectors = np.linalg.eigh(L.toarray())
    else:
        from scipy.sparse.linalg import eigsh

        _, vectors = eigsh(L, k=k + 1, which="SM")
    coords = vectors[:, 1:k + 1]  # the first eigenvector is the trivial one
    signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(coords.shape[1])])
    return np.concatenate([degree[:, None], clustering[:, None], coords * signs], axis=1)  # signs fixed: reproducible


# ---- the baseline -----------------------------------------------------------------------------------------

NAMES = {"image": "hand-designed (HOG + edges)", "audio": "hand-designed (log-mel + MFCC)",
         "sequence": "hand-designed (log-mel + MFCC)", "tokens": "hand-designed (TF-IDF bag of words)",
         "graph": "hand-designed (degree + clustering + spectral)", "tabular": "hand-designed (standardised columns)",
         "embeddings": "hand-designed (standardised columns)"}


def sample_rate_of(dataset) -> float:
    """The clips' sample rate when the data says it (the WAV reader's description, the tones' rate); else 8 kHz."""
    found = re.search(r"(\d+(?:\.\d+)?) ?(k?)Hz", getattr(dataset, "description", ""))
    if not found:
        return 8000.0
    return float(found.group(1)) * (1000.0 if found.group(2) else 1.0)


def handcrafted_baseline(kind: str, X_train: np.ndarray, *, n_nodes: int = 0, edges: np.ndarray | None = None,
                         sample_rate: float = 8000.0, rows: np.ndarray | None = None,
                         batch_size: int = 2048) -> HandcraftedFeatures:
    """The hand-designed features of ``kind`` data, fitted (vocabulary, standardisation) on ``X_train`` — or, with
    ``rows``, on ``X_train[rows]``, read and featurised ``batch_size`` rows at a time (memory-mapped data is never
    loaded whole; only the features are kept)."""
    if kind == "tokens":
        raw: Callable[[np.ndarray], np.ndarray] = tfidf_features(X_train if rows is None else X_train[rows])
    elif kind == "graph":
        table = graph_node_features(n_nodes, edges if edges is not None else np.zeros((0, 2), np.int64))
        raw = lambda X: table[np.asarray(X).reshape(len(X), -1)[:, 0].round().astype(int)]  # noqa: E731
    elif kind == "image":
        raw = image_features
    elif kind in ("audio", "sequence"):
        raw = lambda X: audio_features(X, sample_rate)  # noqa: E731
    else:
        raw = lambda X: np.asarray(X, dtype=np.float64).reshape(len(X), -1)  # noqa: E731
    if rows is None:
        F = raw(X_train)
        mean, std = F.mean(axis=0), F.std(axis=0)
    elif kind in ("tabular", "embeddings"):  # the columns are as wide as the inputs: their moments a chunk at a time
        from core.data.splits import chunked_moments

        count, mean, m2, _, _ = chunked_moments(X_train, rows, batch_size)
        std = np.sqrt(m2 / max(count, 1))
    else:
        F = np.concatenate([raw(np.asarray(X_train[rows[s:s + batch_size]])) for s in range(0, len(rows), batch_size)])
        mean, std = F.mean(axis=0), F.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant feature stays 0 rather than dividing by zero
    return HandcraftedFeatures(NAMES.get(kind, "hand-designed"), lambda X: ((raw(X) - mean) / std).astype(np.float32))
