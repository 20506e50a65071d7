"""A small, drawable preview of one sample: what the explorer's tooltips and the wizard show.

Pure data (no Qt): an 8-bit image for images (and a spectrogram for audio), a sparkline for signals, a short
text for tokens and graph nodes, bars for tabular rows and embedding vectors. The GUI turns it into pixels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from core.data.base import MASK_ID, PAD_ID, Dataset


@dataclass(frozen=True, eq=False)
class Preview:
    kind: Literal["image", "sparkline", "text", "bars"]
    title: str
    image: np.ndarray | None = None  # uint8, (H, W) grey or (H, W, 3) RGB
    values: np.ndarray | None = None  # sparkline (T,) or bar heights (k,)
    names: tuple[str, ...] = ()  # bar labels
    text: str = ""
    spectrogram: np.ndarray | None = field(default=None, repr=False)  # uint8 (freq, time), audio only


def to_uint8(a: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    lo, hi = value_range if value_range is not None else (float(np.min(a)), float(np.max(a)))
    scale = (hi - lo) or 1.0
    return np.clip((a - lo) / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)


def spectrogram(wave: np.ndarray, n_fft: int = 64, hop: int = 16) -> np.ndarray:
    """Log-magnitude short-time Fourier transform (Hann window), shape (n_fft // 2 + 1, frames)."""
    wave = np.asarray(wave, dtype=np.float64).ravel()
    if len(wave) < n_fft:
        wave = np.pad(wave, (0, n_fft - len(wave)))
    frames = 1 + (len(wave) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(wave[idx] * np.hanning(n_fft), axis=1)).T
    return np.log1p(spec)


def tokens_text(ids: np.ndarray, vocab: tuple[str, ...]) -> str:
    words = []
    for v in np.asarray(ids).ravel():
        v = round(float(v))
        if v == PAD_ID:
            continue
        words.append("[MASK]" if v == MASK_ID else vocab[v] if 0 <= v < len(vocab) else f"<{v}>")
    return " ".join(words)


def preview(dataset: Dataset, i: int, max_bars: int = 16) -> Preview:
    """The preview of sample ``i``; its title names the sample and its label."""
    x = np.asarray(dataset.X[i])
    title = f"#{i}"
    if dataset.y is not None:
        title += f" · {dataset.label_names[int(dataset.y[i])]}"
    kind = dataset.kind
    if kind == "image":
        img = x if x.ndim == 2 else (x[0] if x.shape[0] == 1 else np.moveaxis(x[:3], 0, -1))
        return Preview("image", title, image=to_uint8(img, dataset.value_range))
    if kind in ("sequence", "audio"):
        signal = x.reshape(-1, x.shape[-1])[0] if x.ndim > 1 else x
        spec = to_uint8(spectrogram(signal)[::-1], None) if kind == "audio" else None
        return Preview("sparkline", title, values=signal.astype(np.float32), spectrogram=spec)
    if kind == "tokens":
        return Preview("text", title, text=tokens_text(x, dataset.vocab))
    if kind == "graph":
        node = round(float(x.ravel()[0]))
        name = dataset.vocab[node] if node < len(dataset.vocab) else f"node {node}"
        degree = dataset.metadata.get("degree")
        extra = f" · degree {int(degree[i])}" if degree is not None else ""
        return Preview("text", title, text=f"{name}{extra}")
    flat = x.ravel()[:max_bars].astype(np.float32)
    names = dataset.feature_names[:max_bars] if dataset.feature_names else tuple(str(j) for j in range(len(flat)))
    return Preview("bars", title, values=flat, names=tuple(names))
