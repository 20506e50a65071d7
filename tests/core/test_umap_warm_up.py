"""UMAP's warm-up in core: one at a time, its phases readable from any thread, and a UMAP run started while it
compiles waits for it (saying so) instead of compiling beside it. The compile is a gated stand-in."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import core
from core.projection import methods


@pytest.fixture
def gated(monkeypatch):
    gate, compiling, calls = threading.Event(), threading.Event(), []

    def steps():
        calls.append(1)
        yield core.ProjectionProgress("umap", 0.5, "compiling the layout code")
        compiling.set()
        assert gate.wait(30)

    monkeypatch.setattr(methods, "_warm_up_steps", steps)
    monkeypatch.setattr(methods, "_UMAP_WARM", threading.Event())
    yield gate, compiling, calls
    gate.set()


def test_a_umap_during_the_warm_up_waits_for_it_and_a_second_warm_up_returns_at_once(gated):
    gate, compiling, calls = gated
    thread = threading.Thread(target=lambda: list(core.warm_up_umap()), daemon=True)
    thread.start()
    assert compiling.wait(10)
    assert core.umap_warm_up_progress().message == "compiling the layout code"
    assert list(core.warm_up_umap()) == [] and len(calls) == 1  # one compile at a time
    X = np.random.default_rng(0).normal(size=(80, 5)).astype(np.float32)
    run = core.project(X, "umap")
    messages = [next(run).message for _ in range(4)]  # neighbours, found, then waiting for the warm-up
    assert messages[-1] == "preparing UMAP (compiling its code, once per process): compiling the layout code"
    run.close()  # cancelled while waiting: returns at once, nothing compiled
    assert not core.umap_is_warm()
    gate.set()
    thread.join(10)
    assert core.umap_is_warm() and core.umap_warm_up_progress() is None and len(calls) == 1
    assert list(core.warm_up_umap()) == []  # warm: nothing to do
