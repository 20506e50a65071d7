"""The first import of pyarrow, done once under a lock.

Two background jobs that import pyarrow at the same moment (the GUI loading a run's space while a Parquet file
opens) can make Python hand one of them the half-initialised module ("partially initialized module 'pyarrow' has
no attribute 'Table'"). Every reader calls :func:`load_arrow` before its own ``import pyarrow...`` lines: after
the first call those are plain look-ups of finished modules."""
from __future__ import annotations

import threading

_LOCK = threading.Lock()


def load_arrow():
    """pyarrow, with the submodules the readers use fully imported."""
    with _LOCK:
        import pyarrow
        import pyarrow.compute
        import pyarrow.csv
        import pyarrow.parquet
        import pyarrow.types
    return pyarrow
