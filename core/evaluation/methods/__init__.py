"""The evaluations, one file each; importing this package registers the built-in ones (see :mod:`.base`)."""
from core.evaluation.methods import (  # noqa: F401
                                     calibration,
                                     clustering,
                                     faithfulness,
                                     invariance,
                                     knn,
                                     layerwise,
                                     linear_probe,
                                     properties,
                                     reconstruction,
                                     retrieval,
                                     robustness,
                                     similarity,
)
