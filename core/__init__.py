"""RepLearn Studio's core library: data, models, objectives, the training engine, diagnostics and evaluation.

Pure Python (torch, numpy, scikit-learn); never imports Qt. Everything public is re-exported from
:mod:`core.api`::

    import core
    result = core.run_to_end(core.train(core.load_preset("digits-supervised")))
"""
__version__ = "0.1.0"

from core.api import *  # noqa: E402,F401,F403
from core.api import __all__ as _api_all  # noqa: E402

__all__ = ["__version__", *_api_all]
