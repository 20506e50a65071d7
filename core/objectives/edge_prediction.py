"""Edge prediction: node embeddings whose dot products tell which nodes are linked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.errors import ConfigError
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from core.params import BaseParams, param


def roc_auc(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Probability that a random positive scores above a random negative (ties count half)."""
    diff = pos.view(-1, 1) - neg.view(1, -1)
    return ((diff > 0).float() + 0.5 * (diff == 0).float()).mean()


@OBJECTIVES.register("edge_prediction", data_kinds=("graph",))
class EdgePrediction(Objective):
    """Predict the graph's edges from node embeddings with a dot-product decoder and negative sampling
    (as in the graph auto-encoder of Kipf & Welling, 2016, and node2vec's objective, Grover & Leskovec, 2016).

    For each node u of the batch, one training neighbour v and k random nodes v′:
    :math:`\\mathcal L = -\\log\\sigma(z_u\\cdot z_v) - \\frac1k\\sum_{v'}\\log\\sigma(-z_u\\cdot z_{v'})`. A tenth of the
    edges is held out; evaluation scores them against as many random pairs (ROC AUC). The pressure: nodes
    that share edges — communities — get nearby, aligned embeddings.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        negatives: int = param(5, label="Negative samples per node", min=1, max=1000)

    neighbours: torch.Tensor  # buffers: the edge list sorted by source node,
    held_out: torch.Tensor  # the held-out edges,
    offsets: torch.Tensor  # and: where each node's neighbours start in the edge list

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        if data.edges is None or len(data.edges) == 0:
            raise ConfigError("objective.name", "edge prediction needs a graph with edges", value="edge_prediction")
        n = data.vocab_size
        both = np.concatenate([data.edges, data.edges[:, ::-1]])
        both = both[np.lexsort((both[:, 1], both[:, 0]))]
        counts = np.bincount(both[:, 0], minlength=n)
        # CSR adjacency of the training edges (not saved in checkpoints: it is derived from the data)
        self.register_buffer("offsets", torch.from_numpy(np.concatenate([[0], np.cumsum(counts)])), persistent=False)
        self.register_buffer("neighbours", torch.from_numpy(both[:, 1].copy()), persistent=False)
        held = data.held_out_edges if data.held_out_edges is not None else np.zeros((0, 2), np.int64)
        self.register_buffer("held_out", torch.from_numpy(held.copy()), persistent=False)
        self.n_nodes = n

    def _embed_nodes(self, nodes: torch.Tensor) -> torch.Tensor:
        return self.encoder(nodes.to(torch.float32).view(-1, *self.data.sample_shape))

    def forward(self, batch: Batch) -> LossOutput:
        u = batch.x.reshape(len(batch.x), -1)[:, 0].round().long()
        z_u = self.encoder(batch.x)
        start, degree = self.offsets[u], self.offsets[u + 1] - self.offsets[u]
        has = degree > 0
        pick = start + (torch.rand(len(u), device=u.device) * degree.clamp_min(1)).long()
        v = self.neighbours[pick.clamp_max(len(self.neighbours) - 1)]
        z_v = self._embed_nodes(v)
        neg = torch.randint(0, self.n_nodes, (len(u), self.params.negatives), device=u.device)
        z_neg = self._embed_nodes(neg.flatten()).view(len(u), self.params.negatives, -1)
        pos_logits = (z_u * z_v).sum(-1)[has]
        neg_logits = (z_u.unsqueeze(1) * z_neg).sum(-1)
        pos, negative = Fn.edge_logistic(pos_logits, neg_logits)
        loss = pos + negative
        metrics = {}
        if not self.training and len(self.held_out):
            a, b = self.held_out[:, 0], self.held_out[:, 1]
            held_scores = (self._embed_nodes(a) * self._embed_nodes(b)).sum(-1)
            ra = torch.randint(0, self.n_nodes, (len(a),), device=a.device)
            rb = torch.randint(0, self.n_nodes, (len(a),), device=a.device)
            rand_scores = (self._embed_nodes(ra) * self._embed_nodes(rb)).sum(-1)
            metrics["held_out_edge_auc"] = roc_auc(held_scores, rand_scores)
        return LossOutput(loss=loss, terms={"positive": pos, "negative": negative}, metrics=metrics)
