"""Supervised classification: the representation is whatever helps a linear layer predict the label."""
from __future__ import annotations

from dataclasses import dataclass

from core.data.base import DataSpec
from core.errors import ConfigError
from core.models.heads import LinearClassifier
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from core.params import BaseParams, param


@OBJECTIVES.register("supervised", data_kinds=("image", "sequence", "tabular", "graph", "tokens", "audio", "embeddings"),
                     needs_labels=True)
class Supervised(Objective):
    """Cross-entropy on the labels through a linear classifier on the representation.

    Loss: :math:`\\mathcal L = -\\frac1N\\sum_i \\log \\operatorname{softmax}(W z_i + b)_{y_i}`, with optional label
    smoothing ε (targets :math:`(1-ε)\\,\\mathrm{onehot}(y) + ε/C`; Szegedy et al., *Rethinking the Inception
    Architecture*, CVPR 2016). The pressure: keep exactly what separates the classes, and nothing is asked of
    anything else — the reference point that self-supervised objectives are compared with.
    """

    requires_labels = True

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        label_smoothing: float = param(0.0, label="Label smoothing", min=0.0, max=1.0, max_exclusive=True,
                                       help="Share of each target spread uniformly over all classes.")

    def __init__(self, params: Supervised.Params, encoder, data: DataSpec, views=None):
        super().__init__(params, encoder, data, views)
        if data.n_classes < 2:
            raise ConfigError("objective.name", "supervised training needs labels with at least two classes",
                              value="supervised")
        self.classifier = LinearClassifier(encoder.out_dim, data.n_classes)

    def forward(self, batch: Batch) -> LossOutput:
        assert batch.y is not None  # requires_labels: the engine refuses unlabelled data first
        logits = self.classifier(self.encoder(batch.x))
        loss = Fn.cross_entropy(logits, batch.y, self.params.label_smoothing)
        return LossOutput(loss=loss, terms={"cross_entropy": loss}, metrics={"accuracy": Fn.accuracy(logits, batch.y)})
