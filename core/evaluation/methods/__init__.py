"""The evaluations, one file each; importing this package registers the built-in ones (see :mod:`.base`)."""
from core.evaluation.methods import (calibration, clustering, faithfulness, invariance, knn,  # noqa: F401
                                     layerwise, linear_probe, properties, reconstruction, retrieval, robustness,
                                     similarity)
