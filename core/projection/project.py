"""Running a projection with a disk cache, and aligned projections of a run's snapshots across epochs."""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.fileio import atomic_writer
from core.projection.methods import PROJECTIONS, ProjectionProgress


@dataclass(frozen=True, eq=False)
class ProjectionResult:
    method: str
    params: dict[str, Any]
    coords: np.ndarray  # (n, n_components) float32
    seconds: float
    cached: bool
    key: str


def embedding_hash(X: np.ndarray) -> str:
    X = np.ascontiguousarray(X, dtype=np.float32)
    h = hashlib.sha256()
    h.update(str(X.shape).encode())
    h.update(X.tobytes())
    return h.hexdigest()


def cache_key(X: np.ndarray, method: str, params: dict[str, Any], init: np.ndarray | None = None) -> str:
    parts = [embedding_hash(X), method, json.dumps(params, sort_keys=True)]
    if init is not None:
        parts.append(embedding_hash(init))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class ProjectionCache:
    """Projections on disk, one ``.npz`` per (embedding hash, method, parameters); written atomically."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> tuple[np.ndarray, dict] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return data["coords"], json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError):
            return None  # a damaged entry is recomputed, not trusted

    def put(self, key: str, coords: np.ndarray, meta: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_writer(self.path(key), "wb") as fh:
            np.savez(fh, coords=coords.astype(np.float32), meta=np.array(json.dumps(meta)))


def project(X: np.ndarray, method: str = "pca", params: dict[str, Any] | None = None, *,
            cache: ProjectionCache | None = None, init: np.ndarray | None = None
            ) -> Generator[ProjectionProgress, None, ProjectionResult]:
    """Project ``X`` with a registered method; a cached result returns at once (``cached=True``)."""
    entry = PROJECTIONS.get(method, field="projection.method")
    estimator = entry.cls(**entry.make_params(params or {}, path="projection.params").to_dict())
    full_params = estimator.get_params()
    key = cache_key(X, method, full_params, init) if cache is not None else ""  # hashing 50 MB costs 50 ms
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            coords, meta = hit
            yield ProjectionProgress(method, 1.0, "from cache", coords)
            return ProjectionResult(method, full_params, coords, meta.get("seconds", 0.0), True, key)
    start = time.perf_counter()
    coords = yield from estimator.run(X, init)
    seconds = time.perf_counter() - start
    if cache is not None:
        cache.put(key, coords, {"method": method, "params": full_params, "seconds": seconds, "n": len(X)})
    return ProjectionResult(method, full_params, coords, seconds, False, key)


def procrustes(reference: np.ndarray, moving: np.ndarray, scale: bool = False) -> np.ndarray:
    """``moving`` rotated / reflected, translated (and, with ``scale``, uniformly scaled) onto ``reference``,
    in the least-squares sense."""
    from scipy.linalg import orthogonal_procrustes

    ref_c, mov_c = reference - reference.mean(0), moving - moving.mean(0)
    R, singular_sum = orthogonal_procrustes(mov_c, ref_c)
    s = singular_sum / max(float((mov_c ** 2).sum()), 1e-12) if scale else 1.0
    return (s * mov_c @ R + reference.mean(0)).astype(np.float32)


def aligned_sequence(snapshots: Sequence[np.ndarray], method: str = "pca", params: dict[str, Any] | None = None, *,
                     cache: ProjectionCache | None = None
                     ) -> Generator[ProjectionProgress, None, list[np.ndarray]]:
    """Layouts of one run's snapshots (same points, successive epochs), aligned so that a point moves only
    when its representation moves: Procrustes for PCA; each t-SNE layout starts from the previous one; UMAP
    uses umap-learn's AlignedUMAP, which lays out all snapshots together with an alignment penalty (a UMAP
    restarted from the previous layout still moved points by a third of the layout's size on unchanged data)."""
    if method == "umap":
        return (yield from _aligned_umap(snapshots, params or {}, cache))
    layouts: list[np.ndarray] = []
    for i, Z in enumerate(snapshots):
        init = layouts[-1] if (layouts and method != "pca") else None
        result = yield from _scaled(project(Z, method, params, cache=cache, init=init), i, len(snapshots))
        coords = result.coords
        if layouts:
            # PCA: only rotation/reflection is arbitrary. UMAP rescales its start into a box, and t-SNE may
            # drift as a whole: a similarity transform removes what is not a change of the representation.
            coords = procrustes(layouts[-1], coords, scale=method != "pca")
        layouts.append(coords)
    return layouts


def _scaled(gen, i: int, n: int):
    """Re-express one projection's progress as a share of the whole sequence."""
    try:
        event = next(gen)
        while True:
            yield ProjectionProgress(event.method, (i + event.fraction) / n, f"snapshot {i + 1} of {n}: {event.message}",
                                     event.coords)
            event = next(gen)
    except StopIteration as stop:
        return stop.value


def _aligned_umap(snapshots, params, cache):
    from core.projection.methods import UMAP
    from core.projection.umap_epochs import describe, run_counted

    p = UMAP(**params).get_params()
    key = hashlib.sha256("|".join([embedding_hash(Z) for Z in snapshots] + ["aligned_umap", json.dumps(p, sort_keys=True)])
                         .encode()).hexdigest()[:32]
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            yield ProjectionProgress("umap", 1.0, "from cache")
            return list(hit[0])
    n = len(snapshots[0])

    def fit() -> list[np.ndarray]:
        import warnings

        import umap

        warnings.filterwarnings("ignore", message=".*(n_jobs|disconnected).*")
        model = umap.AlignedUMAP(n_neighbors=min(p["n_neighbors"], n - 1), min_dist=p["min_dist"],
                                 metric=p["metric"], n_components=p["n_components"],
                                 random_state=p["random_state"], alignment_regularisation=0.1,
                                 **({"n_epochs": p["n_epochs"]} if p["n_epochs"] else {}))
        model.fit([np.asarray(Z, dtype=np.float32) for Z in snapshots],
                  relations=[{i: i for i in range(n)}] * (len(snapshots) - 1))
        return [np.asarray(e, dtype=np.float32) for e in model.embeddings_]

    # AlignedUMAP lays out each snapshot alone, then all of them together; each loop reports its epochs
    yield ProjectionProgress("umap", 0.0, f"aligned UMAP: snapshot 1 of {len(snapshots)}: neighbour graph")
    worker, counter, box = run_counted(fit)
    while worker.is_alive():
        worker.join(timeout=0.2)
        done, message = describe(counter, snapshots=len(snapshots))
        yield ProjectionProgress("umap", done, f"aligned UMAP: {message}")
    if "error" in box:
        raise box["error"]
    layouts = box["value"]
    if cache is not None:
        cache.put(key, np.stack(layouts), {"method": "aligned_umap", "params": p})
    return layouts
