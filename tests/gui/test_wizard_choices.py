"""The wizard keeps what the user chose, driven as a person does: clicks on Next / Back / Load and keys on the
combo boxes and fields (never a page's private handler)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWizard

import core


def click(widget) -> None:
    assert widget.isVisible() and widget.isEnabled(), f"{widget.objectName() or widget.text()} cannot be clicked"
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def choose(combo, data) -> None:
    """Pick an entry with the keyboard, as a person does on a focused combo box."""
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentData() == data:
            return
        QTest.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == data, f"{data!r} is not offered"


def type_into(widget, text: str) -> None:
    """Select what is there and type over it."""
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def next_page(wiz) -> None:
    click(wiz.button(QWizard.WizardButton.NextButton))


def back_page(wiz) -> None:
    click(wiz.button(QWizard.WizardButton.BackButton))


def open_wizard(window, qtbot):
    window.new_action.trigger()
    wiz = window.wizard
    qtbot.waitUntil(wiz.isVisible, timeout=5000)
    return wiz


def load(page, qtbot) -> None:
    with qtbot.waitSignal(page.loaded, timeout=30000):
        click(page.load_button)
    qtbot.waitUntil(page.load_button.isEnabled, timeout=5000)  # the worker has finished, too


def test_back_and_next_keep_encoder_and_objective(window, qtbot):
    wiz = open_wizard(window, qtbot)
    load(wiz.data_page, qtbot)
    next_page(wiz)
    enc = wiz.encoder_page
    assert wiz.currentPage() is enc and enc.combo.currentData() == "mlp"
    choose(enc.combo, "cnn2d")
    type_into(enc.form.widgets["out_dim"], "12")
    assert enc.form.params().out_dim == 12
    next_page(wiz)
    obj = wiz.objective_page
    choose(obj.combo, "autoencoder")
    next_page(wiz)
    type_into(wiz.training_page.form.widgets["epochs"], "3")
    back_page(wiz)
    back_page(wiz)
    back_page(wiz)
    assert wiz.currentPage() is wiz.data_page
    next_page(wiz)
    next_page(wiz)
    assert wiz.currentPage() is obj
    assert enc.combo.currentData() == "cnn2d" and enc.form.params().out_dim == 12
    assert obj.combo.currentData() == "autoencoder"
    next_page(wiz)
    assert wiz.training_page.form.params().epochs == 3
    next_page(wiz)
    toml = wiz.review_page.toml.toPlainText()
    assert 'name = "cnn2d"' in toml and "out_dim = 12" in toml and 'name = "autoencoder"' in toml
    # switching the encoder away and back keeps what was typed for it
    back_page(wiz)
    back_page(wiz)
    back_page(wiz)
    choose(enc.combo, "mlp")
    choose(enc.combo, "cnn2d")
    assert enc.form.params().out_dim == 12
    wiz.reject()


def test_new_experiment_gets_its_own_name_and_description(window, qtbot):
    wiz = open_wizard(window, qtbot)
    page = wiz.data_page
    choose(page.presets, "digits-simclr")
    preset = core.load_preset("digits-simclr")
    load(page, qtbot)
    next_page(wiz)
    next_page(wiz)
    assert wiz.objective_page.combo.currentData() == "simclr"
    next_page(wiz)
    next_page(wiz)
    review = wiz.review_page
    assert review.name.text() == "digits-simclr" and review.description.toPlainText() == preset.description
    back_page(wiz)
    back_page(wiz)
    choose(wiz.objective_page.combo, "vicreg")
    next_page(wiz)
    next_page(wiz)
    exp = wiz.experiment()
    assert exp.name == "digits-vicreg" and exp.description != preset.description
    assert "vicreg" in exp.description and "SimCLR" not in review.toml.toPlainText()
    # what the user types is what is saved, and survives going back and forth
    type_into(review.name, "my run")
    type_into(review.description, "Trying VICReg on digits.")
    back_page(wiz)
    next_page(wiz)
    assert review.name.text() == "my run"
    toml = review.toml.toPlainText()
    assert 'name = "my run"' in toml and 'description = "Trying VICReg on digits."' in toml
    type_into(review.name, "../bad")
    assert "name" in review.error.text() and not wiz.button(QWizard.WizardButton.FinishButton).isEnabled()
    wiz.reject()


def test_previews_follow_the_data(window, qtbot, tmp_path):
    wiz = open_wizard(window, qtbot)
    page = wiz.data_page
    load(page, qtbot)
    assert page.gallery.count() == 8 and "1797 samples" in page.status.text()
    choose(page.source, "iris")
    assert page.gallery.count() == 0 and "1797" not in page.status.text() and not page.isComplete()
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    # a file that loads, then (changed on disk) fails: the old pictures must not stay
    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n" + "\n".join(f"{i},{i % 3},{'x' if i % 2 else 'y'}" for i in range(30)) + "\n")
    choose(page.source, "csv")
    type_into(page.form.widgets["path"], str(table))
    type_into(page.form.widgets["label_column"], "label")
    load(page, qtbot)
    assert page.gallery.count() > 0 and "30 samples" in page.status.text()
    table.write_text("a,b\n1,2\n3\n")
    click(page.load_button)
    qtbot.waitUntil(lambda: "line 3 has 1 fields" in page.status.text(), timeout=30000)
    assert page.gallery.count() == 0 and not page.isComplete()
    wiz.reject()


def test_a_load_answered_after_the_data_changed_is_dropped(window, qtbot):
    wiz = open_wizard(window, qtbot)
    page = wiz.data_page
    click(page.load_button)
    choose(page.source, "iris")  # before the worker's answer can arrive (it needs the event loop)
    qtbot.waitUntil(page.load_button.isEnabled, timeout=30000)
    assert page.dataset is None and page.gallery.count() == 0 and "changed while loading" in page.status.text()
    load(page, qtbot)
    assert page.dataset.name == "iris"
    wiz.reject()


def strip_bytes(label) -> bytes:
    image = label.pixmap().toImage()
    return bytes(image.constBits())


def test_views_of_a_multi_view_objective_are_edited_and_saved(window, qtbot):
    wiz = open_wizard(window, qtbot)
    load(wiz.data_page, qtbot)
    next_page(wiz)
    next_page(wiz)
    obj = wiz.objective_page
    editor = obj.views_editor
    assert not editor.isVisible()  # supervised learns from labels, not from views
    choose(obj.combo, "simclr")
    assert editor.isVisible()
    assert [r.combo.currentData() for r in editor.rows] == [n for n, _ in core.DEFAULT_VIEWS["image"]]
    before = strip_bytes(obj.views)
    rotation = next(r for r in editor.rows if r.combo.currentData() == "rotation")
    type_into(rotation.form.widgets["degrees"], "90")
    assert strip_bytes(obj.views) != before  # the strip shows the views being edited
    # remove the noise, add a flip at the end
    noise = next(r for r in editor.rows if r.combo.currentData() == "gaussian_noise")
    click(noise.remove)
    click(editor.add_button)
    choose(editor.rows[-1].combo, "flip")
    assert [r.combo.currentData() for r in editor.rows][-1] == "flip" and len(editor.rows) == 4
    type_into(rotation.form.widgets["degrees"], "-5x")
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()  # an invalid view blocks Next
    type_into(rotation.form.widgets["degrees"], "90")
    next_page(wiz)
    back_page(wiz)
    assert len(editor.rows) == 4 and rotation.form.params().degrees == 90  # kept over Back / Next
    next_page(wiz)
    next_page(wiz)
    exp = wiz.experiment()
    assert [v.name for v in exp.views] == ["random_resized_crop", "rotation", "brightness_contrast", "flip"]
    assert exp.views[1].params.degrees == 90
    assert 'name = "flip"' in wiz.review_page.toml.toPlainText()
    wiz.reject()


def test_split_settings_and_a_tables_text_columns(window, qtbot, tmp_path):
    wiz = open_wizard(window, qtbot)
    page = wiz.data_page
    table = tmp_path / "cities.csv"
    rows = [f"{i},{i % 5},{['Paris', 'Rome', 'Oslo'][i % 3]},{'ab'[i % 2]}" for i in range(60)]
    table.write_text("x,y,city,kind\n" + "\n".join(rows) + "\n")
    choose(page.source, "csv")
    type_into(page.form.widgets["path"], str(table))
    qtbot.waitUntil(lambda: page.columns_box.isVisible(), timeout=20000)
    assert set(page.column_roles) == {"city", "kind"}
    # both text columns start as metadata (no column is named like a label): choose "kind" as the label
    assert page.form.params().metadata_columns == ("city", "kind")
    choose(page.column_roles["kind"], "label")
    assert page.form.params().label_column == "kind" and page.form.params().metadata_columns == ("city",)
    type_into(page.split_form.widgets["test_fraction"], "0.3")
    page.split_form.widgets["stratify"].click()
    load(page, qtbot)
    assert page.dataset.n == 60 and page.dataset.label_names == ("a", "b") and "city" in page.dataset.metadata
    next_page(wiz)
    next_page(wiz)
    next_page(wiz)
    type_into(wiz.training_page.form.widgets["batch_size"], "16")
    type_into(wiz.training_page.form.widgets["epochs"], "1")
    next_page(wiz)
    exp = wiz.experiment()
    assert exp.data.split.test_fraction == 0.3 and exp.data.split.stratify is False
    assert exp.data.params.label_column == "kind" and exp.data.params.metadata_columns == ("city",)
    type_into(wiz.review_page.name, "cities")
    with qtbot.waitSignal(window.controller.finished, timeout=90000) as finished:
        click(wiz.button(QWizard.WizardButton.FinishButton))
    saved = core.RunDirectory.open(finished.args[0].run_dir).read_config()
    assert saved.data.split.test_fraction == 0.3 and saved.name == "cities"
