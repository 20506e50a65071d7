"""The explorer's data: a run's spaces and snapshots, search, selection summaries, neighbourhood agreement."""
from __future__ import annotations

import numpy as np
import pytest

import core


def test_run_space_embeds_every_sample_with_the_trained_model(explored_run):
    space = core.run_space(explored_run)
    assert space.n == 1797 and space.embeddings.shape == (1797, 8)
    expected = core.load_trained(explored_run).embed(np.array([0, 5, 1796]))
    np.testing.assert_allclose(space.embeddings[[0, 5, 1796]], expected, rtol=1e-5, atol=1e-6)
    baseline = core.baseline_space(explored_run)
    assert baseline.n == space.n and not np.allclose(baseline.embeddings, space.embeddings)
    np.testing.assert_allclose(baseline.embeddings[:3], core.initialised(core.RunDirectory.open(explored_run)
                                                                          .read_config()).embed(np.arange(3)),
                               rtol=1e-5, atol=1e-6)


def test_snapshot_series_is_in_training_order_on_the_saved_subset(explored_run):
    series = core.snapshot_series(explored_run)
    assert series.names == ("epoch 0", "epoch 1", "epoch 2", "epoch 3") and series.epochs == (0, 1, 2, 3)
    assert len(series.indices) == 150 and all(a.shape == (150, 8) for a in series.arrays)
    final = core.run_space(explored_run)
    np.testing.assert_allclose(series.arrays[-1], final.embeddings[series.indices], rtol=1e-4, atol=1e-5)


def test_snapshot_series_reports_a_run_without_snapshots(tmp_path, tiny_experiment):
    run = core.RunDirectory.create(tmp_path, "empty")
    run.write_config(tiny_experiment)
    with pytest.raises(core.RunDirectoryError, match="no snapshots"):
        core.snapshot_series(run.path)


def make_space(labels, metadata=None, indices=None):
    y = np.array(labels)
    ds = core.Dataset(name="t", kind="tabular", X=np.zeros((len(y), 2), np.float32), y=y,
                      label_names=("cat", "dog", "bird"), metadata=metadata or {})
    indices = np.arange(len(y)) if indices is None else np.asarray(indices)
    return core.EmbeddingSpace("t", ds, indices, np.zeros((len(indices), 2), np.float32))


def test_search_by_index_label_metadata_and_regex():
    space = make_space([0, 1, 2, 1, 0, 2, 1, 0, 0, 0, 0, 0, 1],
                       {"colour": np.array(["red", "green", "Dark red", "blue", "red", "green", "x", "y", "z", "w",
                                            "v", "u", "t"])})
    assert space.n == 13
    assert core.search(space, "#12").tolist() == [12]
    assert core.search(space, "12").tolist() == [12]  # no label or colour contains "12"
    assert core.search(space, "DOG").tolist() == [1, 3, 6, 12]
    assert core.search(space, "red").tolist() == [0, 2, 4]
    assert core.search(space, r"^(red|blue)$", regex=True).tolist() == [0, 3, 4]
    assert core.search(space, "  ").tolist() == []
    with pytest.raises(core.ConfigError, match="regular expression"):
        core.search(space, "(", regex=True)


def test_positions_map_dataset_rows_between_spaces():
    space = make_space([0, 1, 2, 1, 0], indices=[4, 0, 2])
    assert space.positions_of(np.array([0, 1, 2, 4])).tolist() == [1, 2, 0]


def test_selection_summary_counts_labels_and_describes_metadata():
    space = make_space([0, 1, 1, 2, 1], {"size": np.array([1.0, 2.0, 3.0, 4.0, 10.0]),
                                         "site": np.array(["a", "b", "b", "c", "b"])})
    s = core.selection_summary(space, np.array([1, 2, 4, 3]))
    assert s.count == 4 and s.labels == (("dog", 3), ("bird", 1))
    meta = dict(s.metadata)
    assert meta["size"] == "mean 4.75, min 2, max 10" and meta["site"] == "b (3), c (1)"
    assert "4 selected" in s.text() and "dog 3" in s.text()


def test_label_agreement_is_the_share_of_neighbours_with_the_query_label():
    space = make_space([0, 0, 1, 0, 2])
    assert core.label_agreement(space, 0, np.array([1, 2, 3, 4])) == pytest.approx(0.5)
    assert core.label_agreement(space, 0, np.array([], dtype=int)) is None


def test_embeddings_are_written_batch_wise_and_reused(explored_run, tmp_path):
    trained = core.load_trained(explored_run)
    space = core.run_space(explored_run)
    (cached,) = (core.RunDirectory.open(explored_run).path / "embeddings").glob("*.npy")
    assert isinstance(space.embeddings, np.memmap)
    np.testing.assert_allclose(space.embeddings, trained.embed(), rtol=1e-5, atol=1e-6)
    stamp = cached.stat().st_mtime_ns
    again = core.run_space(explored_run)
    assert cached.stat().st_mtime_ns == stamp and np.array_equal(again.embeddings, space.embeddings)
    small = trained.embed_to_file(tmp_path / "part.npy", np.arange(10, 20), batch_size=3)
    np.testing.assert_allclose(small, trained.embed(np.arange(10, 20)), rtol=1e-5, atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["part.npy"]  # nothing half-written left behind


def test_cached_embeddings_of_pruned_checkpoints_are_deleted(explored_run, tmp_path):
    import shutil

    copy = shutil.copytree(explored_run, tmp_path / "copy")
    folder = copy / "embeddings"
    folder.mkdir(exist_ok=True)
    (folder / "step_0000001.npy").write_bytes(b"stale")  # a checkpoint the manifest no longer lists
    for f in folder.glob("step_*.npy"):
        if f.name != "step_0000001.npy":
            f.unlink()
    core.run_space(copy)
    names = sorted(f.name for f in folder.glob("*.npy"))
    newest = core.load_checkpoint(core.RunDirectory.open(copy).checkpoints).path.stem
    assert names == [f"{newest}.npy"]


def test_a_layer_of_the_encoder_is_a_space_of_its_own(explored_run):
    import torch

    layers = core.encoder_layers(explored_run)
    assert layers[-1] == "representation" and len(layers) >= 2
    first = layers[0]
    space = core.run_space(explored_run, layer=first)
    model = core.load_trained(explored_run)
    x = torch.from_numpy(model.data.X[[0, 7]])
    with torch.no_grad():
        expected = model.model.encoder.layer_outputs(x)[first].numpy()
    assert space.embeddings.shape[0] == 1797 and "layer" in space.name
    np.testing.assert_allclose(space.embeddings[[0, 7]], expected, rtol=1e-5, atol=1e-6)
    # the output layer is the representation itself
    np.testing.assert_allclose(core.run_space(explored_run, layer="representation").embeddings,
                               core.run_space(explored_run).embeddings)
    with pytest.raises(core.ConfigError, match="no layer"):
        core.run_space(explored_run, layer="conv9")
