"""File → Export → Encoder… in the app, and the status bar saying which plugins are loaded."""
import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import core


def test_export_encoder_from_the_file_menu(window, qtbot, tiny_experiment, tmp_path):
    result = core.run_to_end(core.train(tiny_experiment.with_output(root=window.runs_root).with_training(epochs=1)))
    window.open_run(result.run_dir)
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)
    export_menu = next(a.menu() for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Export")
    assert window.export_encoder_action in export_menu.actions()
    window.export_encoder_action.trigger()
    dialog = window.export_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    dialog.folder.clear()
    QTest.keyClicks(dialog.folder, str(tmp_path / "out"))
    dialog.format.setFocus()
    QTest.keyClick(dialog.format, Qt.Key.Key_Down)  # safetensors → TorchScript
    assert dialog.format.currentData() == "torchscript"
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Written"), timeout=60000)
    assert "encoder.pt" in dialog.status.text() and "largest difference" in dialog.status.text()
    graph = torch.jit.load(str(tmp_path / "out" / "encoder.pt"))
    model = core.load_trained(result.run_dir)
    raw = np.asarray(model.data.dataset.X[:10], dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(graph(torch.from_numpy(raw)).numpy(), model.embed(np.arange(10)), atol=1e-4, rtol=1e-4)
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    (tmp_path / "blocker").write_text("a file where the folder should be")
    dialog.folder.setText(str(tmp_path / "blocker" / "inside"))
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Not exported"), timeout=60000)
    assert "cannot write the export into" in dialog.status.text() and "blocker" in dialog.status.text()
    dialog.reject()


def test_the_status_bar_names_the_loaded_plugins(window, qtbot, tmp_path, monkeypatch):
    (tmp_path / "gui_plugin_e.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    core.load_plugins(["gui_plugin_e"])
    window.show_plugins()
    assert window.plugins_label.isVisible() and "gui_plugin_e" in window.plugins_label.text()
    from core import plugins

    plugins._LOADED.pop("gui_plugin_e")
    window.show_plugins()
    assert not window.plugins_label.isVisible()


def test_embeddings_made_elsewhere_open_in_the_embeddings_tab_with_their_layout(window, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 6)).astype(np.float32)
    xy = np.stack([np.arange(40, dtype=np.float32), np.zeros(40, np.float32)], axis=1)
    core.write_embeddings_parquet(tmp_path / "atlas.parquet", {"label": ["a", "b"] * 20}, Z, xy)
    window.tabs.setCurrentWidget(window.embeddings)
    tab = window.embeddings
    with qtbot.waitSignal(tab.loaded, timeout=30000):
        tab.open_embeddings_file(str(tmp_path / "atlas.parquet"))
    view = tab.primary
    assert view.space.n == 40 and "its own 2-D layout" in tab.message.text()
    np.testing.assert_allclose(view.coords, xy)
    np.testing.assert_array_equal(view.space.embeddings, Z)
    with qtbot.waitSignal(tab.loaded, timeout=30000):
        tab.open_embeddings_file(str(tmp_path / "atlas.parquet"))  # again: the same, no error
    (tmp_path / "bad.parquet").write_text("not parquet")
    tab.open_embeddings_file(str(tmp_path / "bad.parquet"))
    qtbot.waitUntil(lambda: "Cannot show this space" in tab.message.text(), timeout=30000)
    assert "bad.parquet: is not a Parquet file" in tab.message.text()


def test_explorer_parquet_export_reopens_with_the_same_layout(qtbot, explored_run, tmp_path):
    import pyarrow.parquet as pq

    from replearn_gui.explorer.tab import EmbeddingsTab

    tab = EmbeddingsTab()
    qtbot.addWidget(tab)
    tab.resize(1200, 760)
    tab.show()
    tab.set_run(explored_run)
    qtbot.waitUntil(lambda: tab.primary.coords is not None and not tab.busy, timeout=60000)
    view = tab.primary
    view.export("parquet", str(tmp_path / "space.parquet"))
    qtbot.waitUntil(lambda: "Exported" in view.status.text(), timeout=30000)
    table = pq.read_table(tmp_path / "space.parquet")
    assert {"index", "label", "embedding", "x", "y"} <= set(table.column_names)
    shown = view.shown_xy().copy()
    with qtbot.waitSignal(tab.loaded, timeout=30000):
        tab.open_embeddings_file(str(tmp_path / "space.parquet"))
    np.testing.assert_allclose(tab.primary.coords, shown, rtol=1e-5, atol=1e-5)
    qtbot.waitUntil(lambda: not tab.busy, timeout=30000)
