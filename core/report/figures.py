"""Report figures drawn with matplotlib (Agg, never a GUI backend), returned as standalone SVG strings.

One look for every figure: a title, labelled axes with one unit each, integer ticks on epochs and indices,
tick values rounded by matplotlib's locators, categorical axes for categories, a legend whenever there is more
than one series. Each function returns the ``<svg>…</svg>`` element (no XML prologue), which HTML embeds inline,
the Markdown writer saves as a file and :func:`svg_to_pdf_image` hands to the PDF writer.

Safety: user strings (class names, column names) are drawn as text, never parsed as mathtext (``$`` stays a
dollar sign), and the SVG writer escapes them; the output loads nothing from anywhere.

Other modules add figures with :func:`new_figure` and :func:`to_svg` (see :func:`heatmap` for the pattern).
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
SIZE = (6.4, 3.8)  # inches: two to an A4 page, readable at the HTML's 640 px
STYLE = {
    "svg.fonttype": "path",  # glyphs as paths: the figure looks the same in every browser, Qt and the PDF
    "svg.hashsalt": "replearn",  # the same figure gives the same file
    "text.parse_math": False,  # class names such as "$5" are text, not mathtext
    "font.size": 9, "axes.titlesize": 11, "axes.titleweight": "bold", "axes.labelsize": 9,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6, "axes.axisbelow": True, "legend.frameon": False, "legend.fontsize": 8,
    "figure.dpi": 100, "savefig.bbox": "tight", "savefig.pad_inches": 0.08,
}


@contextmanager
def _style() -> Iterator[None]:
    from cycler import cycler
    from matplotlib import rc_context

    with rc_context({**STYLE, "axes.prop_cycle": cycler(color=PALETTE)}):  # type: ignore[dict-item]
        yield


def new_figure(size: tuple[float, float] = SIZE, ncols: int = 1, nrows: int = 1, **kwargs):
    """A figure and its axes from matplotlib's object API: no pyplot, so no global state and no GUI backend
    (saving draws with Agg / the SVG writer)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


class Chart(str):
    """A report figure: the SVG text itself (a ``str``, what ``ReportData.figures`` holds and HTML embeds), which
    can also render the same matplotlib figure as a PNG (:meth:`png`) for writers whose SVG support is partial:
    fpdf2 misplaces images inside SVG (a heat map's pixels), so the PDF gets a 200-dpi raster instead."""

    _figure = None

    def png(self, dpi: int = 200) -> bytes | None:
        if self._figure is None:
            return None
        with _style():
            buf = io.BytesIO()
            self._figure.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()


def to_svg(fig) -> Chart:
    """The figure as one ``<svg>`` element (no XML declaration, no DOCTYPE, no creation date), keeping the
    figure so that :meth:`Chart.png` can raster it."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "RepLearn Studio"})
    text = buf.getvalue()
    chart = Chart(text[text.index("<svg"):])
    chart._figure = fig
    return chart


def svg_size(svg: str) -> tuple[float, float]:
    """Width and height of an SVG written by :func:`to_svg`, in points."""
    m = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return (float(m.group(1)), float(m.group(2))) if m else (460.8, 273.6)


def _integer_x(ax, xs: np.ndarray) -> None:
    """Ticks on whole numbers only (epochs, indices); a short range is widened so that there are some."""
    from matplotlib.ticker import MaxNLocator

    xs = xs[np.isfinite(xs)]
    if len(xs) and xs.max() - xs.min() < 2:
        ax.set_xlim(xs.min() - 1, xs.max() + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins="auto", min_n_ticks=1))


def _plain_log_y(ax) -> None:
    """A log y axis labelled with plain rounded numbers (0.01, 1, 100), not mathtext powers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _finish(ax, title: str, xlabel: str, ylabel: str, legend: bool) -> None:
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc="best")


def line_chart(title: str, series: Mapping[str, tuple[Any, Any]], xlabel: str, ylabel: str,
               y_range: tuple[float, float] | None = None, *, integer_x: bool | None = None,
               log_y: bool = False) -> str:
    """One line per series (name → (x, y)); ``None`` / NaN leave gaps. ``integer_x`` (default: when every x is
    a whole number, e.g. epochs or indices) keeps the x ticks on integers."""
    with _style():
        fig, ax = new_figure()
        xs_all = []
        for name, (x, y) in series.items():
            x = np.asarray(x, dtype=float)
            y = np.asarray([np.nan if v is None else v for v in y], dtype=float)
            xs_all.append(x)
            ax.plot(x, y, label=name, linewidth=1.6, marker="o" if len(x) <= 30 else None, markersize=3)
        xs = np.concatenate(xs_all) if xs_all else np.zeros(0)
        if integer_x if integer_x is not None else (len(xs) and np.all(np.isfinite(xs)) and np.all(xs == np.round(xs))):
            _integer_x(ax, xs)
        if log_y:
            _plain_log_y(ax)
        if y_range is not None:
            ax.set_ylim(*y_range)
        _finish(ax, title, xlabel, ylabel, legend=len(series) > 1)
        return to_svg(fig)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None], ylabel: str,
              y_range: tuple[float, float] | None = (0.0, 1.0), *, xlabel: str = "",
              errors: Sequence[tuple[Any, Any] | None] | None = None) -> str:
    """One bar per category (a categorical x axis), its value written above it; ``errors`` = (low, high)
    interval per bar, drawn as error bars. Missing values are marked "n/a"."""
    with _style():
        width = max(SIZE[0], 0.55 * len(labels) + 1.5)
        fig, ax = new_figure((min(width, 10.0), SIZE[1]))
        pos = np.arange(len(labels))
        vals = np.array([np.nan if v is None else v for v in values], dtype=float)
        bars = ax.bar(pos, np.nan_to_num(vals), color=PALETTE[0], width=0.65)
        if errors is not None:
            lo = [v - e[0] if e is not None and np.isfinite(v) else 0 for v, e in zip(vals, errors, strict=True)]
            hi = [e[1] - v if e is not None and np.isfinite(v) else 0 for v, e in zip(vals, errors, strict=True)]
            ax.errorbar(pos, np.nan_to_num(vals), yerr=[lo, hi], fmt="none", ecolor="#333", capsize=3, linewidth=1)
        for k, (bar, v) in enumerate(zip(bars, vals, strict=True)):
            top = bar.get_height()
            err = errors[k] if errors is not None else None
            if err is not None and np.isfinite(v):
                top = max(top, err[1])  # above the error bar's cap
            ax.annotate("n/a" if not np.isfinite(v) else f"{v:.3g}", (bar.get_x() + bar.get_width() / 2, top),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(pos, [str(label) for label in labels], rotation=30 if len(labels) > 4 else 0,
                      ha="right" if len(labels) > 4 else "center")
        ax.grid(axis="x", visible=False)
        if y_range is not None:
            ax.set_ylim(y_range[0], y_range[1] * 1.08 if y_range[1] > 0 else y_range[1])
        _finish(ax, title, xlabel, ylabel, legend=False)
        return to_svg(fig)


def small_multiples(title: str, panels: Mapping[str, Mapping[str, tuple[Any, Any]]],
                    xlabels: dict[str, str], ylabel: str, y_range: tuple[float, float] | None = None,
                    ncols: int = 3) -> str:
    """One panel per kind (panel name → series name → (x, y)), each with its own x axis and unit (``xlabels``
    per panel) and a shared y axis — e.g. probe accuracy against the level of each corruption kind."""
    with _style():
        n = max(len(panels), 1)
        ncols = min(ncols, n)
        nrows = -(-n // ncols)
        fig, axes = new_figure((SIZE[0], 2.3 * nrows + 0.6), ncols=ncols, nrows=nrows, sharey=True)
        axes = np.atleast_1d(axes).ravel()
        names = list(dict.fromkeys(s for p in panels.values() for s in p))
        for ax, (panel, series) in zip(axes, panels.items(), strict=False):
            for name, (x, y) in series.items():
                ax.plot(np.asarray(x, float), np.asarray(y, float), marker="o", markersize=3, linewidth=1.4,
                        color=PALETTE[names.index(name) % len(PALETTE)], label=name)
            ax.set_title(panel, fontsize=9, loc="left")
            ax.set_xlabel(xlabels.get(panel, "level"))
            if y_range is not None:
                ax.set_ylim(*y_range)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for row in range(nrows):
            axes[row * ncols].set_ylabel(ylabel)
        fig.suptitle(title, x=0.02, ha="left", fontsize=11, fontweight="bold")
        if len(names) > 1:
            handles, labels = axes[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", ncols=min(len(names), 5))
        return to_svg(fig)


def reliability_diagram(confidence: np.ndarray, accuracy: np.ndarray, share: np.ndarray,
                        title: str = "Reliability diagram of the linear probe") -> str:
    """Accuracy per confidence bin (bars, at each bin's range) against the diagonal of perfect calibration;
    the bins' shares of the samples below."""
    with _style():
        fig, (ax, ax_share) = new_figure((SIZE[0], 4.4), nrows=2, sharex=True, height_ratios=(3, 1))
        bins = len(confidence)
        edges = np.linspace(0, 1, bins + 1)
        used = np.asarray(share) > 0
        ax.bar(edges[:-1][used], np.asarray(accuracy)[used], width=1 / bins, align="edge", color=PALETTE[0],
               edgecolor="white", label="accuracy in the bin")
        ax.plot([0, 1], [0, 1], linestyle="--", color="#777", linewidth=1, label="perfect calibration")
        ax.plot(np.asarray(confidence)[used], np.asarray(accuracy)[used], "o", color=PALETTE[1], markersize=3,
                label="mean confidence of the bin")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy")
        ax.set_title(title, loc="left")
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3)
        ax_share.bar(edges[:-1], share, width=1 / bins, align="edge", color="#999", edgecolor="white")
        ax_share.set_ylabel("share")
        ax_share.set_xlabel("confidence (max probability)")
        return to_svg(fig)


def scatter(title: str, coords: np.ndarray, labels: np.ndarray | None, names: Sequence[str] = (),
            max_points: int = 3000, xlabel: str = "component 1", ylabel: str = "component 2") -> str:
    """A 2-D map coloured by class (one legend entry per class, up to 20); at most ``max_points`` points, a
    seeded sample of them when there are more (the title says so: a report is not the explorer)."""
    coords = np.asarray(coords, float)
    idx = np.arange(len(coords))
    if len(idx) > max_points:
        idx = np.sort(np.random.default_rng(0).choice(len(idx), max_points, replace=False))
        title += f" ({max_points} of {len(coords)} points)"
    with _style():
        fig, ax = new_figure((SIZE[0], 4.6))
        if labels is None:
            ax.scatter(coords[idx, 0], coords[idx, 1], s=5, alpha=0.7, color=PALETTE[0], linewidths=0)
        else:
            lab = np.asarray(labels)[idx]
            classes = np.unique(lab)
            cmap = PALETTE if len(classes) <= len(PALETTE) else None
            for k, c in enumerate(classes):
                sel = lab == c
                color = cmap[k] if cmap else _many_colours(len(classes))[k]
                name = str(names[int(c)]) if len(names) > int(c) >= 0 else str(c)
                ax.scatter(coords[idx[sel], 0], coords[idx[sel], 1], s=5, alpha=0.75, color=color, linewidths=0,
                           label=name[:24] if k < 20 else None)
            if len(classes) > 1:
                ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2.5, title="class")
        ax.set_aspect("equal", adjustable="datalim")
        _finish(ax, title, xlabel, ylabel, legend=False)
        return to_svg(fig)


def heatmap(title: str, matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], *,
            value_label: str = "", vmin: float | None = None, vmax: float | None = None, annotate: bool | None = None,
            xlabel: str = "", ylabel: str = "", cmap: str = "viridis", integer_values: bool = False) -> str:
    """A matrix as a heat map with categorical axes (a confusion matrix, CKA between layers): a colour bar
    labelled ``value_label``; every cell's value written in it when the matrix is small (``annotate``)."""
    m = np.asarray(matrix, dtype=float)
    with _style():
        side = min(5.0, max(3.4, 0.35 * max(m.shape) + 1.8))
        fig, ax = new_figure((side + 1.0, side))
        image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.grid(False)
        ax.set_xticks(np.arange(m.shape[1]), [str(c)[:20] for c in col_labels], rotation=45 if m.shape[1] > 3 else 0,
                      ha="right" if m.shape[1] > 3 else "center")
        ax.set_yticks(np.arange(m.shape[0]), [str(r)[:20] for r in row_labels])
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.85)
        bar.set_label(value_label)
        if annotate if annotate is not None else max(m.shape) <= 12:
            for (i, j), v in np.ndenumerate(m):
                if np.isfinite(v) and not (integer_values and v == 0):  # zero counts stay blank: less clutter
                    r, g, b, _ = image.cmap(image.norm(v))
                    dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5  # the cell's luminance
                    ax.text(j, i, f"{int(v)}" if integer_values else f"{v:.2f}", ha="center", va="center",
                            fontsize=7, color="white" if dark else "black")
        _finish(ax, title, xlabel, ylabel, legend=False)
        return to_svg(fig)


def _many_colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20"] if n <= 20 else colormaps["turbo"]
    return [cmap(i / max(n - 1, 1)) if n > 20 else cmap(i) for i in range(n)]
