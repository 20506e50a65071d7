"""Built-in synthetic datasets with known structure: graphs, a toy language and tones.

Each is generated deterministically from its seed, so every user sees the same data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.base import DATASETS, PAD_ID, Dataset, DatasetSource
from core.errors import ConfigError
from core.params import BaseParams, param


def _graph_dataset(name: str, n: int, edges: np.ndarray, labels: np.ndarray, label_names: tuple[str, ...],
                   description: str, metadata: dict | None = None) -> Dataset:
    """Nodes are the samples: X holds each node's id, and the edge list travels with the dataset."""
    degree = np.bincount(edges.ravel(), minlength=n)
    return Dataset(
        name=name, kind="graph", X=np.arange(n, dtype=np.float32)[:, None], y=labels.astype(np.int64),
        label_names=label_names, vocab=tuple(f"node {i}" for i in range(n)), edges=edges,
        metadata={"degree": degree, **(metadata or {})}, recommended_normalization="none", description=description,
    )


@DATASETS.register("sbm", kind="graph")
class StochasticBlockModel(DatasetSource):
    """A stochastic block model: nodes in planted communities, linked with probability p_in inside a
    community and p_out across (Holland, Laskey & Leinhardt, 1983). The community is the label."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        communities: int = param(4, label="Communities", min=2, max=50)
        nodes_per_community: int = param(50, label="Nodes per community", min=2, max=10_000)
        p_in: float = param(0.15, label="Edge probability inside", min=0.0, max=1.0)
        p_out: float = param(0.005, label="Edge probability across", min=0.0, max=1.0)
        seed: int = param(0, label="Generator seed", min=0)

    def load(self) -> Dataset:
        p = self.params
        rng = np.random.default_rng(p.seed)
        n = p.communities * p.nodes_per_community
        # node ids in random order, so an id says nothing about its community
        labels = rng.permutation(np.repeat(np.arange(p.communities), p.nodes_per_community))
        iu, ju = np.triu_indices(n, k=1)
        prob = np.where(labels[iu] == labels[ju], p.p_in, p.p_out)
        keep = rng.random(len(iu)) < prob
        edges = np.stack([iu[keep], ju[keep]], axis=1)
        if len(edges) == 0:
            raise ConfigError("data.params.p_in", "these probabilities drew a graph without edges", value=p.p_in)
        return _graph_dataset("sbm", n, edges, labels, tuple(f"community {c}" for c in range(p.communities)),
                              (self.__doc__ or "").split("\n")[0])


@DATASETS.register("karate", kind="graph")
class KarateClub(DatasetSource):
    """Zachary's karate club (1977): 34 members, 78 friendships; the label is the faction each member joined
    after the club split (networkx's copy)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        pass

    def load(self) -> Dataset:
        import networkx as nx

        g = nx.karate_club_graph()
        n = g.number_of_nodes()
        factions = sorted({g.nodes[i]["club"] for i in range(n)})
        labels = np.array([factions.index(g.nodes[i]["club"]) for i in range(n)])
        edges = np.array(sorted(tuple(sorted(e)) for e in g.edges()), dtype=np.int64)
        return _graph_dataset("karate", n, edges, labels, tuple(factions), (self.__doc__ or "").split("\n")[0])


# ---- toy language ----------------------------------------------------------------------------------------

ANIMALS = {
    "mammal": ("dog", "cat", "horse", "mouse"),
    "bird": ("eagle", "sparrow", "owl", "crow"),
    "fish": ("salmon", "trout", "shark", "carp"),
}
VERBS = {
    "mammal": ("runs", "sleeps", "walks"),
    "bird": ("flies", "sings", "nests"),
    "fish": ("swims", "dives", "glides"),
}
PLACES = {
    "mammal": ("field", "barn", "forest"),
    "bird": ("sky", "tree", "nest"),
    "fish": ("river", "lake", "sea"),
}
COLOURS = ("red", "brown", "grey", "black", "white", "golden")
FUNCTION_WORDS = ("the", "a", "in", "near", "quietly", "quickly")


def toy_vocabulary() -> tuple[tuple[str, ...], dict[str, str]]:
    """All words and the category of each (animal / verb / place per class, colour, function word)."""
    category: dict[str, str] = {}
    for cls in ANIMALS:
        category.update({w: f"animal:{cls}" for w in ANIMALS[cls]})
        category.update({w: f"verb:{cls}" for w in VERBS[cls]})
        category.update({w: f"place:{cls}" for w in PLACES[cls]})
    category.update({w: "colour" for w in COLOURS})
    category.update({w: "function" for w in FUNCTION_WORDS})
    return tuple(category), category


@DATASETS.register("toy_language", kind="tokens")
class ToyLanguage(DatasetSource):
    """Sentences from a small grammar — "the grey owl sings quietly in the tree" — about mammals, birds or
    fish. The label is the animal class; every word has a known category, so learned token embeddings can be
    checked against them. Nuisance: colour, adverb, determiners, word order of the optional parts."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        sentences: int = param(1500, label="Sentences", min=10, max=1_000_000)
        noise: float = param(0.1, label="Off-class word share", min=0.0, max=1.0,
                             help="Chance that the verb or the place comes from another class.")
        seed: int = param(0, label="Generator seed", min=0)

    LENGTH = 9

    def load(self) -> Dataset:
        p = self.params
        rng = np.random.default_rng(p.seed)
        vocab, category = toy_vocabulary()
        index = {w: i for i, w in enumerate(vocab)}
        classes = list(ANIMALS)
        X = np.full((p.sentences, self.LENGTH), PAD_ID, dtype=np.float32)
        y = rng.integers(0, len(classes), p.sentences)
        animal_words, lengths = [], []
        for s in range(p.sentences):
            cls = classes[y[s]]

            def other(table, cls=cls):
                return table[classes[rng.integers(len(classes))]] if rng.random() < p.noise else table[cls]

            animal = ANIMALS[cls][rng.integers(4)]
            words = [FUNCTION_WORDS[rng.integers(2)]]
            if rng.random() < 0.7:
                words.append(COLOURS[rng.integers(len(COLOURS))])
            words += [animal, other(VERBS)[rng.integers(3)]]
            if rng.random() < 0.5:
                words.append(FUNCTION_WORDS[4 + rng.integers(2)])
            if rng.random() < 0.8:
                words += [FUNCTION_WORDS[2 + rng.integers(2)], "the", other(PLACES)[rng.integers(3)]]
            X[s, : len(words)] = [index[w] for w in words]
            animal_words.append(animal)
            lengths.append(len(words))
        return Dataset(
            name="toy_language", kind="tokens", X=X, y=y, label_names=tuple(classes), vocab=vocab,
            metadata={"animal": np.array(animal_words), "length": np.array(lengths)},
            vocab_metadata={"category": np.array([category[w] for w in vocab])}, source="built-in (generated)",
            recommended_normalization="none", description=(self.__doc__ or "").split("\n")[0],
        )


# ---- tones -----------------------------------------------------------------------------------------------

TONE_PATTERNS = ("rising", "falling", "steady low", "steady high", "warble")


@DATASETS.register("tones", kind="audio")
class Tones(DatasetSource):
    """Short synthetic tones (8 kHz): the class is the pitch pattern (rising, falling, steady low, steady high,
    warble); gain, phase, start frequency and background noise are nuisance factors, recorded as metadata."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        clips: int = param(1000, label="Clips", min=10, max=1_000_000)
        samples: int = param(512, label="Samples per clip", min=64, max=1_000_000)
        noise: float = param(0.1, label="Noise std", min=0.0, max=10.0)
        seed: int = param(0, label="Generator seed", min=0)

    RATE = 8000

    def load(self) -> Dataset:
        p = self.params
        rng = np.random.default_rng(p.seed)
        t = np.arange(p.samples) / self.RATE
        duration = p.samples / self.RATE
        y = rng.integers(0, len(TONE_PATTERNS), p.clips)
        gain = rng.uniform(0.3, 1.0, p.clips)
        phase = rng.uniform(0, 2 * np.pi, p.clips)
        base = rng.uniform(0.9, 1.1, p.clips)
        X = np.empty((p.clips, 1, p.samples), dtype=np.float32)
        for i in range(p.clips):
            lo, hi = 300 * base[i], 900 * base[i]
            f = {
                0: lo + (hi - lo) * t / duration,
                1: hi - (hi - lo) * t / duration,
                2: np.full_like(t, lo),
                3: np.full_like(t, hi),
                4: (lo + hi) / 2 + 150 * np.sin(2 * np.pi * 30 * t),
            }[int(y[i])]
            wave = np.sin(2 * np.pi * np.cumsum(f) / self.RATE + phase[i])
            X[i, 0] = gain[i] * wave + p.noise * rng.standard_normal(p.samples)
        return Dataset(
            name="tones", kind="audio", X=X, y=y, label_names=TONE_PATTERNS,
            metadata={"gain": gain, "phase": phase, "base_frequency": base},
            recommended_normalization="none", description=(self.__doc__ or "").split("\n")[0],
        )


# ---- factors: shapes with known generative factors --------------------------------------------------------

SHAPES = ("square", "circle", "triangle", "cross")


def _signed_distance(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) to a unit-sized shape centred at the origin, in its own frame."""
    if shape == "circle":
        return np.hypot(u, v) - 0.8
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - 0.7
    if shape == "triangle":  # equilateral, inscribed radius 0.5, pointing up
        normals = [(0.0, -1.0), (np.sqrt(3) / 2, 0.5), (-np.sqrt(3) / 2, 0.5)]
        return np.max([nu * u + nv * v for nu, nv in normals], axis=0) - 0.5
    if shape == "cross":
        bar_h = np.maximum(np.abs(u) - 0.85, np.abs(v) - 0.25)
        bar_v = np.maximum(np.abs(u) - 0.25, np.abs(v) - 0.85)
        return np.minimum(bar_h, bar_v)
    raise ValueError(shape)


def draw_shapes(shape_idx: np.ndarray, scale: np.ndarray, rotation: np.ndarray, x: np.ndarray, y: np.ndarray,
                brightness: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased images (n, 1, size, size) of the given shapes; positions are the centre in [0, 1]."""
    coords = (np.arange(size) + 0.5) / size
    px, py = np.meshgrid(coords, coords)  # px to the right, py downwards
    half = 0.3 * scale[:, None, None]  # a unit shape spans ±half of the image
    dx, dy = (px[None] - x[:, None, None]) / half, (py[None] - y[:, None, None]) / half
    c, s = np.cos(rotation)[:, None, None], np.sin(rotation)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy
    pixel = (1.0 / size) / half  # one pixel, in shape units
    images = np.zeros((len(shape_idx), size, size))
    for k, name in enumerate(SHAPES):
        sel = shape_idx == k
        if sel.any():
            d = _signed_distance(name, u[sel], -v[sel])  # -v: image rows grow downwards
            images[sel] = np.clip(0.5 - d / pixel[sel], 0.0, 1.0)
    return (images * brightness[:, None, None]).astype(np.float32)[:, None]


@DATASETS.register("factors", kind="image")
class Factors(DatasetSource):
    """Shapes with known generative factors: square, circle, triangle or cross, drawn at a random scale,
    rotation, position and brightness, each recorded as metadata. The ground truth for measuring invariance,
    equivariance and compositionality. The label is the shape."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        images: int = param(3000, label="Images", min=10, max=1_000_000)
        size: int = param(32, label="Image side (pixels)", min=8, max=512)
        seed: int = param(0, label="Generator seed", min=0)

    def load(self) -> Dataset:
        p = self.params
        rng = np.random.default_rng(p.seed)
        n = p.images
        shape = rng.integers(0, len(SHAPES), n)
        scale = rng.uniform(0.5, 1.0, n)
        rotation = rng.uniform(0, 2 * np.pi, n)
        margin = 0.3 * scale * 0.9
        x = rng.uniform(margin, 1 - margin)
        y = rng.uniform(margin, 1 - margin)
        brightness = rng.uniform(0.4, 1.0, n)
        X = draw_shapes(shape, scale, rotation, x, y, brightness, p.size)
        return Dataset(
            name="factors", kind="image", X=X, y=shape, label_names=SHAPES,
            metadata={"shape": np.array(SHAPES)[shape], "scale": scale, "rotation_degrees": np.degrees(rotation),
                      "x": x, "y": y, "brightness": brightness},
            value_range=(0.0, 1.0), recommended_normalization="none", description=(self.__doc__ or "").split("\n")[0],
            source="built-in (generated)",
        )
