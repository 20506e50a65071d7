"""Real progress from inside umap-learn: its layout loops report each epoch to a listener of the calling thread.

umap-learn has no progress callback; its layout functions (``umap.layouts.optimize_layout_*``, used by UMAP and
AlignedUMAP) iterate ``tqdm(range(n_epochs))``. We replace that module's ``tqdm`` name once by a wrapper that,
on a thread with a registered listener, tells the listener which loop it is in and which epoch it has reached,
and otherwise behaves as tqdm did. Several fits in parallel threads each see only their own loops.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_listeners: dict[int, EpochCounter] = {}
_lock = threading.Lock()


@dataclass
class EpochCounter:
    """What a fit's layout loops have reported so far (written by the fit's thread, read by the generator)."""

    loops_started: int = 0  # layout loops begun (AlignedUMAP: one per snapshot, then the joint one)
    epoch: int = 0  # epochs done in the current loop
    total: int = 0  # epochs of the current loop


def _install() -> None:
    import umap.layouts

    if getattr(umap.layouts.tqdm, "_replearn_counts_epochs", False):
        return
    original = umap.layouts.tqdm

    def counted(iterable: Iterable, *args, **kwds):
        counter = _listeners.get(threading.get_ident())
        if counter is None:
            return original(iterable, *args, **kwds)
        return _count(iterable, counter)

    counted._replearn_counts_epochs = True  # type: ignore[attr-defined]
    umap.layouts.tqdm = counted


def _count(iterable: Iterable, counter: EpochCounter) -> Iterator:
    items = list(iterable)  # a range of epochs
    counter.loops_started += 1
    counter.epoch, counter.total = 0, len(items)
    for i, item in enumerate(items):
        yield item
        counter.epoch = i + 1


@contextmanager
def counting_epochs() -> Iterator[EpochCounter]:
    """Within this block, umap-learn's layout loops on the current thread report to the counter yielded."""
    with _lock:
        _install()
    counter = EpochCounter()
    _listeners[threading.get_ident()] = counter
    try:
        yield counter
    finally:
        _listeners.pop(threading.get_ident(), None)


def describe(counter: EpochCounter, snapshots: int = 1) -> tuple[float, str]:
    """(fraction of the fit done, what it is doing) from a counter; for AlignedUMAP the first ``snapshots``
    loops lay out each snapshot alone and the last one lays them out together (weighted as all of them)."""
    loops, epoch, total = counter.loops_started, counter.epoch, max(counter.total, 1)
    if snapshots == 1:
        if loops == 0:
            return 0.0, "building the fuzzy neighbour graph and the spectral start"
        return epoch / total, f"layout epoch {epoch} of {total}"
    units = 2 * snapshots
    if loops == 0:
        return 0.0, f"snapshot 1 of {snapshots}: neighbour graph"
    if loops <= snapshots:
        done = loops - 1 + epoch / total
        if epoch >= total and loops < snapshots:
            return done / units, f"snapshot {loops + 1} of {snapshots}: neighbour graph"
        return done / units, f"snapshot {loops} of {snapshots}: layout epoch {epoch} of {total}"
    return (snapshots + snapshots * epoch / total) / units, (
        f"aligning the {snapshots} layouts together: epoch {epoch} of {total}")


def run_counted(fit: Callable[[], object]) -> tuple[threading.Thread, EpochCounter, dict]:
    """Start ``fit`` in a daemon thread whose layout loops are counted; the result (or the error) lands in the
    returned dict under "value" (or "error")."""
    ready = threading.Event()
    box: dict = {}

    def body() -> None:
        try:
            with counting_epochs() as counter:
                box["counter"] = counter
                ready.set()
                box["value"] = fit()
        except BaseException as err:  # noqa: BLE001 - handed to the generator's thread
            box["error"] = err
        finally:
            ready.set()

    thread = threading.Thread(target=body, name="umap-fit", daemon=True)
    thread.start()
    ready.wait()
    return thread, box.get("counter", EpochCounter()), box
