"""What readers and encoders can do is registry metadata: reader_for, the file-dialog filter and the layer-wise
probes read it, so a new reader or encoder declares it in its own file."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import core


@pytest.mark.parametrize(("name", "reader"), [
    ("iris.csv", "csv"), ("Table.TSV", "csv"), ("vectors.tsv", "projector"), ("word_vectors.tsv", "projector"),
    ("x.npy", "npy"), ("mnist.npz", "npy"), ("train-images-idx3-ubyte", "idx"), ("t10k-labels-idx1-ubyte.gz", "idx"),
    ("images.idx", "idx"), ("sentences.txt", "text"), ("photo.jpeg", None), ("archive.gz", None),
])
def test_reader_for_a_file_comes_from_the_readers_patterns(tmp_path, name, reader):
    path = tmp_path / name
    path.write_bytes(b"")
    assert core.reader_for(str(path)) == reader


def test_reader_for_a_folder_looks_at_the_class_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    assert core.reader_for(str(tmp_path / "empty")) is None
    for cls in ("cat", "dog"):
        (tmp_path / "img" / cls).mkdir(parents=True)
        (tmp_path / "img" / cls / "a.png").write_bytes(b"")
        (tmp_path / "wav" / cls).mkdir(parents=True)
        (tmp_path / "wav" / cls / "a.WAV").write_bytes(b"")
    assert core.reader_for(str(tmp_path / "img")) == "image_folder"
    assert core.reader_for(str(tmp_path / "wav")) == "wav_folder"
    folder_readers = {e.name for e in core.DATASETS if e.info.get("folder")}
    assert folder_readers == {"image_folder", "wav_folder", "hf_arrow"}  # a saved Hugging Face dataset is a folder too


def test_file_dialog_patterns_cover_every_file_reader():
    patterns = core.file_patterns()
    for entry in core.DATASETS:
        for p in entry.info.get("patterns", ()):
            assert p in patterns
    assert "*.csv" in patterns and "*.npz" in patterns and "vectors.tsv" in patterns
    assert len(patterns) == len(set(patterns))


def test_a_new_reader_is_found_by_its_own_patterns(tmp_path):
    @core.DATASETS.register("feather_test", kind="tabular", file=True, patterns=("*.feather",))
    class Feather(core.DatasetSource):
        """Test reader."""

        @dataclass(frozen=True, kw_only=True)
        class Params(core.Params):
            path: str = core.param("", label="File")

    try:
        (tmp_path / "t.feather").write_bytes(b"")
        assert core.reader_for(str(tmp_path / "t.feather")) == "feather_test"
        assert "*.feather" in core.file_patterns()
    finally:
        core.DATASETS.unregister("feather_test")
    assert core.reader_for(str(tmp_path / "t.feather")) is None


def test_encoders_say_whether_their_layers_can_be_probed():
    assert all(e.info.get("layer_probes") is True for e in core.ENCODERS)


def test_layerwise_skips_an_encoder_that_does_not_offer_layer_probes(tmp_path, monkeypatch):
    exp = core.load_preset("digits-supervised").with_training(epochs=1, device="cpu", warmup_epochs=0)
    result = core.run_to_end(core.train(exp.with_output(root=str(tmp_path))))
    model = core.load_trained(result.run_dir)
    ev = core.run_to_end(core.evaluate(model, ("layerwise",), baselines=()))
    assert [layer for layer, _ in ev.learned.layerwise][-1] == "representation"
    entry = core.ENCODERS.get(model.experiment.encoder.name)
    monkeypatch.setitem(entry.info, "layer_probes", False)
    ev = core.run_to_end(core.evaluate(model, ("layerwise",), baselines=()))
    assert ev.learned.layerwise == []
    assert np.isfinite(model.embed()).all()
