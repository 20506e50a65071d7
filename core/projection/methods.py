"""PCA, t-SNE and UMAP as registered, scikit-learn-style estimators that also run as generators.

``Method(**params).run(X, init=None)`` yields :class:`ProjectionProgress` (t-SNE with a partial layout after
every chunk of iterations) and returns the coordinates; closing the generator cancels. ``fit_transform`` drives
it to the end. Parameters live in ``__init__`` (validated by the method's ``Params``), fitted results end in
``_``. Each method's neighbour graph comes from our exact kNN (:mod:`core.projection.neighbors`) below the
approximate threshold, which also spares UMAP the numba compilation of pynndescent (~45 s cold).
"""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from core.errors import ConfigError
from core.params import BaseParams, Params, param
from core.projection.neighbors import knn
from core.projection.umap_epochs import describe, run_counted
from core.registry import Registry


@dataclass(frozen=True, eq=False)
class ProjectionProgress:
    method: str
    fraction: float  # 0..1
    message: str
    coords: np.ndarray | None = None  # a partial layout, where the method has one


class Projection:
    """Base of registered projections."""

    Params: type[Params]
    method: str = ""

    if TYPE_CHECKING:  # the parameters become attributes (scikit-learn's convention), set in __init__
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, **params: Any):
        self.params = self.Params(**params)
        for k, v in self.get_params().items():
            setattr(self, k, v)

    def get_params(self) -> dict[str, Any]:
        return {f.name: getattr(self.params, f.name) for f in dataclasses.fields(self.params)}

    def run(self, X: np.ndarray, init: np.ndarray | None = None) -> Generator[ProjectionProgress, None, np.ndarray]:
        raise NotImplementedError

    def fit_transform(self, X: np.ndarray, init: np.ndarray | None = None) -> np.ndarray:
        gen = self.run(X, init)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            self.embedding_ = stop.value
        return self.embedding_

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ConfigError("projection", f"expected embeddings of shape (n, d), got {X.shape}")
        if len(X) < 3:
            raise ConfigError("projection", f"a projection needs at least 3 points, got {len(X)}")
        return X


PROJECTIONS: Registry[Projection] = Registry("projection", base=Projection)


@PROJECTIONS.register("pca")
class PCA(Projection):
    """Principal component analysis: the linear map that keeps the most variance. Distances along the kept
    components are exact; everything orthogonal to them is dropped."""

    method = "pca"

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        n_components: int = param(2, label="Dimensions", min=1, max=3)
        random_state: int = param(0, label="Seed", min=0)

    def run(self, X, init=None):
        from sklearn.decomposition import PCA as SkPCA

        X = self._check(X)
        yield ProjectionProgress("pca", 0.0, "computing principal components")
        n_comp = min(self.n_components, X.shape[1], len(X))
        pca = SkPCA(n_components=n_comp, random_state=self.random_state)
        coords = pca.fit_transform(X).astype(np.float32)
        if n_comp < self.n_components:  # fewer dimensions than asked: pad with zeros, say so in the variance
            coords = np.pad(coords, ((0, 0), (0, self.n_components - n_comp)))
        self.explained_variance_ratio_ = pca.explained_variance_ratio_
        # a deterministic sign: the largest-magnitude loading of each component is positive
        signs = np.sign(pca.components_[np.arange(n_comp), np.abs(pca.components_).argmax(axis=1)])
        coords[:, :n_comp] *= signs
        yield ProjectionProgress("pca", 1.0, "done", coords)
        return coords


# The neighbour graph behind t-SNE and UMAP is exact up to here and NN-descent above, as the libraries do on
# their own (umap-learn switches at 4096 points, openTSNE at 1000): exact search costs n² — 35 s at 70k points
# on 2 cores where NN-descent takes 1.5-3.3 s — while below this size it is faster than building an index.
GRAPH_EXACT_UP_TO = 50_000


@PROJECTIONS.register("tsne")
class TSNE(Projection):
    """t-SNE (van der Maaten & Hinton, 2008) with openTSNE (Poličar et al., 2019): keeps each point's nearest
    neighbours close; distances between clusters and cluster sizes mean little. Optimised in chunks, so the
    layout can be watched forming and cancelled between chunks."""

    method = "tsne"

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        n_components: int = param(2, label="Dimensions", min=1, max=3)
        perplexity: float = param(30.0, label="Perplexity", min=1.0, max=1000.0,
                                  help="Roughly the number of neighbours each point keeps close.")
        metric: Literal["euclidean", "cosine"] = param("euclidean", label="Metric")
        early_exaggeration_iter: int = param(250, label="Early-exaggeration iterations", min=0, max=5000)
        n_iter: int = param(500, label="Iterations", min=1, max=10000)
        chunk: int = param(25, label="Iterations per update", min=1, max=1000)
        random_state: int = param(0, label="Seed", min=0)

    def run(self, X, init=None):
        X = self._check(X)
        n = len(X)
        if 3 * self.perplexity >= n:
            raise ConfigError("projection.params.perplexity",
                              f"{self.perplexity:g} is too large for {n} points (t-SNE uses 3 × perplexity neighbours)",
                              value=self.perplexity, allowed=f"value < {max(1, (n - 1) // 3)}")
        try:
            from openTSNE import TSNEEmbedding, affinity, initialization
            from openTSNE.nearest_neighbors import PrecomputedNeighbors
        except ImportError:  # scikit-learn's t-SNE: slower, and no partial layouts
            return (yield from self._run_sklearn(X, init))
        yield ProjectionProgress("tsne", 0.0, "finding neighbours")
        k = min(n - 1, int(3 * self.perplexity))
        nb = knn(X, k, self.metric, random_state=self.random_state, approximate=n > GRAPH_EXACT_UP_TO)
        distances = nb.distances.astype(np.float64)
        aff = affinity.PerplexityBasedNN(perplexity=self.perplexity, random_state=self.random_state,
                                         knn_index=PrecomputedNeighbors(nb.indices, distances))
        if init is None:
            start = initialization.pca(X, n_components=self.n_components, random_state=self.random_state)
            phases = [(self.early_exaggeration_iter, 12.0, 0.5), (self.n_iter, None, 0.8)]
        else:  # continuing from a previous layout (aligned sequences): no early exaggeration, no big jumps
            start = np.array(init, dtype=np.float64)[:, : self.n_components]  # as is: rescaling would undo it
            phases = [(self.n_iter, None, 0.8)]
        gradient = "fft" if self.n_components <= 2 else "bh"
        embedding = TSNEEmbedding(start, aff, negative_gradient_method=gradient, random_state=self.random_state,
                                  n_jobs=1)
        total = sum(p[0] for p in phases)
        done = 0
        for n_iter, exaggeration, momentum in phases:
            left = n_iter
            while left > 0:
                step = min(self.chunk, left)
                embedding = embedding.optimize(step, exaggeration=exaggeration, momentum=momentum)
                left -= step
                done += step
                coords = np.asarray(embedding, dtype=np.float32)
                phase = "early exaggeration" if exaggeration else "optimising"
                yield ProjectionProgress("tsne", done / total, f"{phase}: iteration {done} of {total}", coords.copy())
        return np.asarray(embedding, dtype=np.float32)

    def _run_sklearn(self, X, init):
        from sklearn.manifold import TSNE as SkTSNE

        yield ProjectionProgress("tsne", 0.0, "scikit-learn t-SNE (openTSNE is not installed)")
        start = "pca" if init is None else np.asarray(init, dtype=np.float32)[:, : self.n_components]
        coords = SkTSNE(n_components=self.n_components, perplexity=self.perplexity, metric=self.metric,
                        init=start, random_state=self.random_state,
                        max_iter=self.early_exaggeration_iter + self.n_iter).fit_transform(X)
        coords = coords.astype(np.float32)
        yield ProjectionProgress("tsne", 1.0, "done", coords)
        return coords


_UMAP_WARM = threading.Event()  # set once UMAP's numba code is compiled in this process


class _WarmUpState:
    """What the one UMAP warm-up under way is doing; a UMAP run that finds it running waits for it (one compile)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one warm-up compiles at a time
        self.running = False
        self.progress: ProjectionProgress | None = None


_WARMING = _WarmUpState()
_HERE = threading.local()  # .warming: this thread is the warm-up (its own tiny UMAP must not wait for itself)


@PROJECTIONS.register("umap")
class UMAP(Projection):
    """UMAP (McInnes, Healy & Melville, 2018) with umap-learn: a fuzzy neighbour graph laid out by attraction
    and repulsion; keeps local structure and more of the global arrangement than t-SNE. The first run in a
    process compiles numba code (about 15-20 s here): call :func:`warm_up_umap` early, in the background."""

    method = "umap"

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        n_components: int = param(2, label="Dimensions", min=1, max=3)
        n_neighbors: int = param(15, label="Neighbours", min=2, max=500)
        min_dist: float = param(0.1, label="Minimum distance", min=0.0, max=1.0)
        metric: Literal["euclidean", "cosine"] = param("euclidean", label="Metric")
        n_epochs: int | None = param(None, label="Epochs", min=1, max=10000, help="Empty = umap-learn's default.")
        random_state: int = param(0, label="Seed", min=0)

    def run(self, X, init=None):
        X = self._check(X)
        n = len(X)
        k = min(self.n_neighbors, n - 1)
        yield ProjectionProgress("umap", 0.0, "finding neighbours")
        nb = knn(X, k - 1, self.metric, random_state=self.random_state, approximate=n > GRAPH_EXACT_UP_TO)
        indices = np.concatenate([np.arange(n)[:, None], nb.indices], axis=1)  # UMAP wants each point first
        distances = np.concatenate([np.zeros((n, 1), np.float32), nb.distances], axis=1)
        yield ProjectionProgress("umap", 0.1, f"found the {k} nearest neighbours of every point")
        if not _UMAP_WARM.is_set() and not getattr(_HERE, "warming", False):
            # a warm-up compiling in the background: wait for it rather than compile a second time beside it
            while _WARMING.running and not _UMAP_WARM.wait(0.2):
                stage = _WARMING.progress
                yield ProjectionProgress("umap", 0.1 + 0.1 * (stage.fraction if stage else 0.0),
                                         "preparing UMAP (compiling its code, once per process): "
                                         + (stage.message if stage else "starting"))
        warm = _UMAP_WARM.is_set()

        def fit() -> np.ndarray:
            import warnings

            import umap

            warnings.filterwarnings("ignore", message=".*(n_jobs|precomputed_knn|disconnected).*")
            # continuing from a previous layout: a gentle step size, so points only move as far as they must
            continuing = init is not None
            model = umap.UMAP(n_components=self.n_components, n_neighbors=k, min_dist=self.min_dist,
                              metric=self.metric, n_epochs=self.n_epochs, random_state=self.random_state,
                              learning_rate=0.1 if continuing else 1.0,
                              precomputed_knn=(indices, distances, None),
                              init=np.asarray(init, dtype=np.float32)[:, : self.n_components] if init is not None else "spectral",
                              verbose=False)
            coords = model.fit_transform(X).astype(np.float32)
            _UMAP_WARM.set()
            return coords

        # umap-learn's fit cannot be interrupted; it runs in a thread so that closing this generator returns at
        # once (the abandoned fit finishes in the background and its result is dropped). Its layout loop reports
        # each epoch (umap_epochs), so the bar shows the real phases: neighbours, graph and start, epochs.
        graph = "building the fuzzy neighbour graph and the spectral start"
        yield ProjectionProgress("umap", 0.2, graph if warm else f"compiling UMAP's code (first time in this process), "
                                                               f"then {graph}")
        worker, counter, box = run_counted(fit)
        while worker.is_alive():
            worker.join(timeout=0.2)
            done, message = describe(counter)
            if counter.loops_started == 0 and not warm:
                message = "compiling UMAP's code (first time in this process), then " + message
            yield ProjectionProgress("umap", 0.2 + 0.8 * done, message)
        if "error" in box:
            raise box["error"]
        yield ProjectionProgress("umap", 1.0, "done", box["value"])
        return box["value"]


def umap_warm_up_progress() -> ProjectionProgress | None:
    """The progress of the UMAP warm-up running now, or None when none runs."""
    return _WARMING.progress if _WARMING.running else None


def umap_is_warm() -> bool:
    return _UMAP_WARM.is_set()


def _warm_up_steps() -> Generator[ProjectionProgress, None, None]:
    """The warm-up's real phases, compiling the code a UMAP of any size runs (our precomputed-neighbour path)."""
    yield ProjectionProgress("umap", 0.0, "importing umap-learn and numba")
    import umap  # noqa: F401  (numba and pynndescent come with it: a third of the warm-up)

    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    for p in UMAP(n_neighbors=5, n_epochs=10).run(X):
        what = ("compiling the neighbour-graph code" if p.fraction < 0.25 else "compiling the layout code")
        yield ProjectionProgress("umap", 0.35 + 0.65 * p.fraction, what)


def warm_up_umap() -> Generator[ProjectionProgress, None, None]:
    """Compile UMAP's numba code on a tiny problem, yielding its phases (drive it off the GUI thread, early: a
    cold first UMAP otherwise waits 15-25 s here). One warm-up runs at a time; a UMAP started meanwhile waits for
    it (showing its phase) instead of compiling beside it. Returns at once when UMAP is already warm."""
    if _UMAP_WARM.is_set() or not _WARMING.lock.acquire(blocking=False):
        return
    try:
        _WARMING.running, _HERE.warming = True, True
        for progress in _warm_up_steps():
            _WARMING.progress = progress
            yield progress
        _UMAP_WARM.set()
        yield ProjectionProgress("umap", 1.0, "UMAP is ready")
    finally:
        _WARMING.running, _HERE.warming, _WARMING.progress = False, False, None
        _WARMING.lock.release()
