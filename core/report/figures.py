"""Small, dependency-free SVG charts for reports: lines, bars, a reliability diagram and a scatter.

Every label is XML-escaped (user data may hold ``<script>``); the output is a standalone ``<svg>`` string that
HTML embeds inline and fpdf2 draws into PDFs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
W, H, L, R, T, B = 480, 300, 56, 16, 28, 44  # size and margins


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _frame(title: str, xlabel: str, ylabel: str, x0: float, x1: float, y0: float, y1: float) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">{escape(xlabel)}</text>',
           f'<text x="14" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 {(T + H - B) / 2})">'
           f'{escape(ylabel)}</text>']
    for k in range(5):
        fx, fy = x0 + (x1 - x0) * k / 4, y0 + (y1 - y0) * k / 4
        px, py = _sx(fx, x0, x1), _sy(fy, y0, y1)
        out.append(f'<text x="{px:.1f}" y="{H - B + 14}" text-anchor="middle">{_fmt(fx)}</text>')
        out.append(f'<text x="{L - 4}" y="{py + 4:.1f}" text-anchor="end">{_fmt(fy)}</text>')
        out.append(f'<line x1="{L}" y1="{py:.1f}" x2="{W - R}" y2="{py:.1f}" stroke="#e0e0e0"/>')
    return out


def _sx(x, x0, x1):
    return L + (x - x0) / ((x1 - x0) or 1) * (W - L - R)


def _sy(y, y0, y1):
    return H - B - (y - y0) / ((y1 - y0) or 1) * (H - T - B)


def _range(values: np.ndarray, pad: float = 0.05) -> tuple[float, float]:
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    return lo - pad * span, hi + pad * span


def line_chart(title: str, series: Mapping[str, tuple[Any, Any]], xlabel: str, ylabel: str,
               y_range: tuple[float, float] | None = None) -> str:
    xs = np.concatenate([np.asarray(x, float) for x, _ in series.values()])
    ys = np.concatenate([np.asarray(y, float) for _, y in series.values()])
    x0, x1 = _range(xs, 0)
    y0, y1 = y_range or _range(ys)
    out = _frame(title, xlabel, ylabel, x0, x1, y0, y1)
    for k, (name, (x, y)) in enumerate(series.items()):
        pts = " ".join(f"{_sx(a, x0, x1):.1f},{_sy(b, y0, y1):.1f}" for a, b in zip(x, y, strict=True) if np.isfinite(b))
        color = PALETTE[k % len(PALETTE)]
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
        out.append(f'<rect x="{W - R - 150}" y="{T + 4 + 14 * k}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{W - R - 136}" y="{T + 13 + 14 * k}">{escape(name)}</text>')
    return "\n".join(out + ["</svg>"])


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], ylabel: str,
              y_range: tuple[float, float] = (0.0, 1.0)) -> str:
    y0, y1 = y_range
    out = _frame(title, "", ylabel, 0, 1, y0, y1)
    n = max(len(labels), 1)
    width = (W - L - R) / n
    for k, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = L + k * width
        if v is not None and np.isfinite(v):
            top = _sy(min(max(v, y0), y1), y0, y1)
            out.append(f'<rect x="{x + width * 0.15:.1f}" y="{top:.1f}" width="{width * 0.7:.1f}" '
                       f'height="{H - B - top:.1f}" fill="{PALETTE[0]}"/>')
            out.append(f'<text x="{x + width / 2:.1f}" y="{top - 3:.1f}" text-anchor="middle">{v:.2f}</text>')
        out.append(f'<text x="{x + width / 2:.1f}" y="{H - B + 26}" text-anchor="middle" font-size="9">'
                   f'{escape(label[:18])}</text>')
    return "\n".join(out + ["</svg>"])


def reliability_diagram(confidence: np.ndarray, accuracy: np.ndarray, share: np.ndarray) -> str:
    out = _frame("Reliability diagram", "confidence", "accuracy", 0, 1, 0, 1)
    out.append(f'<line x1="{_sx(0, 0, 1)}" y1="{_sy(0, 0, 1)}" x2="{_sx(1, 0, 1)}" y2="{_sy(1, 0, 1)}" '
               'stroke="#999" stroke-dasharray="4 3"/>')
    bins = len(confidence)
    for b in range(bins):
        if share[b] <= 0:
            continue
        x = _sx(b / bins, 0, 1)
        w = (W - L - R) / bins
        top = _sy(accuracy[b], 0, 1)
        out.append(f'<rect x="{x + 1:.1f}" y="{top:.1f}" width="{w - 2:.1f}" height="{H - B - top:.1f}" '
                   f'fill="{PALETTE[0]}" fill-opacity="{0.3 + 0.7 * min(1.0, share[b] * bins):.2f}"/>')
    return "\n".join(out + ["</svg>"])


def scatter(title: str, coords: np.ndarray, labels: np.ndarray | None, names: Sequence[str] = (),
            max_points: int = 3000) -> str:
    coords = np.asarray(coords, float)
    idx = np.arange(len(coords))
    if len(idx) > max_points:  # the figure says so: a report is not the explorer
        idx = np.random.default_rng(0).choice(len(idx), max_points, replace=False)
        title += f" ({max_points} of {len(coords)} points)"
    x0, x1 = _range(coords[:, 0])
    y0, y1 = _range(coords[:, 1])
    out = _frame(title, "", "", x0, x1, y0, y1)
    for i in idx:
        color = PALETTE[int(labels[i]) % len(PALETTE)] if labels is not None else PALETTE[0]
        out.append(f'<circle cx="{_sx(coords[i, 0], x0, x1):.1f}" cy="{_sy(coords[i, 1], y0, y1):.1f}" r="1.8" '
                   f'fill="{color}" fill-opacity="0.7"/>')
    for k, name in enumerate(names[:10]):
        out.append(f'<rect x="{W - R - 90}" y="{T + 4 + 13 * k}" width="9" height="9" fill="{PALETTE[k % len(PALETTE)]}"/>')
        out.append(f'<text x="{W - R - 77}" y="{T + 12 + 13 * k}" font-size="10">{escape(str(name)[:14])}</text>')
    return "\n".join(out + ["</svg>"])
