"""'Show layer k' in the Embeddings tab: the layer chooser lists the encoder's layers and shows one's outputs."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import core


def test_choosing_a_layer_shows_that_layers_outputs(qtbot, explored_run):
    from replearn_gui.explorer.tab import EmbeddingsTab

    t = EmbeddingsTab()
    qtbot.addWidget(t)
    t.resize(1300, 800)
    t.show()
    t.set_run(explored_run)
    qtbot.waitUntil(lambda: t.primary.coords is not None and not t.busy, timeout=60000)
    assert t.primary.space.embeddings.shape[1] == 8  # the representation
    names = [t.layer.itemText(i) for i in range(t.layer.count())]
    assert names == ["output (representation)", "layer hidden1"]
    t.layer.setFocus()
    with qtbot.waitSignal(t.loaded, timeout=60000):
        QTest.keyClick(t.layer, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: not t.busy, timeout=60000)
    assert t.layer.currentData() == "hidden1"
    shown = np.asarray(t.primary.space.embeddings)
    assert shown.shape == (1797, 32)  # the hidden layer is 32 wide
    np.testing.assert_allclose(shown, core.run_space(explored_run, layer="hidden1").embeddings, rtol=1e-5)
    t.cancel()
    qtbot.waitUntil(lambda: not t.busy, timeout=30000)
