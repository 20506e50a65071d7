"""The model out: export to safetensors / TorchScript / ONNX, checked by loading each file back, and `embed`."""
import io
import json

import numpy as np
import pytest
import torch

import core
from core.cli import main

# float32 graphs against the eager encoder: the same maths in another summation order
TOL = dict(atol=1e-4, rtol=1e-4)


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    """A standardised tabular run (a CSV), so the exported graphs must apply a real mean and scale."""
    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    X = rng.normal(loc=5.0, scale=3.0, size=(120, 6))
    y = (X[:, 0] > 5).astype(int)
    lines = ["a,b,c,d,e,f,label"] + [",".join(f"{v:.5f}" for v in row) + f",{c}" for row, c in zip(X, y, strict=True)]
    (root / "table.csv").write_text("\n".join(lines) + "\n")
    exp = core.Experiment(
        name="exportable", data=core.DataConfig(name="csv", params={"path": str(root / "table.csv"), "label_column": "label"}),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 5, "norm": "batch"}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=2, batch_size=32, device="cpu", snapshot_points=50, eval_points=32,
                                     probe_every=0),
        output=core.OutputConfig(root=str(root / "runs")))
    result = core.run_to_end(core.train(exp))
    return root, result.run_dir, X.astype(np.float32)


def _reference(run_dir, X):
    """The encoder of the run on the raw rows, normalised by the saved preprocessing — by hand."""
    model = core.load_trained(run_dir)
    pre = json.loads((core.RunDirectory.open(run_dir).path / "preprocessing.json").read_text())
    shift, scale = np.array(pre["normalization"]["shift"]), np.array(pre["normalization"]["scale"])
    np.testing.assert_allclose(shift, model.data.X.mean(0) * 0 + model.data.normalizer.shift, rtol=1e-6)
    return model.embed_inputs(((X - shift) / scale).astype(np.float32)), pre


def test_the_run_saves_its_normaliser(tabular_run):
    _root, run_dir, X = tabular_run
    pre = json.loads((core.RunDirectory.open(run_dir).path / "preprocessing.json").read_text())
    model = core.load_trained(run_dir)
    train = model.data.splits.train
    assert pre["normalization"]["kind"] == "standardize" and pre["input_shape"] == [6] and pre["data_kind"] == "tabular"
    np.testing.assert_allclose(pre["normalization"]["shift"], X[train].mean(0), rtol=1e-4)
    np.testing.assert_allclose(pre["normalization"]["scale"], X[train].std(0), rtol=1e-4)


def test_torchscript_export_reproduces_the_encoder(tabular_run, tmp_path):
    _root, run_dir, X = tabular_run
    code, out, err = run_cli("export", run_dir, "--format", "torchscript", "--out", str(tmp_path))
    assert code == 0, err
    assert "largest difference" in out
    loaded = torch.jit.load(str(tmp_path / "encoder.pt"))
    expected, _ = _reference(run_dir, X)
    with torch.no_grad():
        got = loaded(torch.from_numpy(X[:37])).numpy()  # raw rows, a batch size it was not traced with
    np.testing.assert_allclose(got, expected[:37], **TOL)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["objective"]["name"] == "supervised" and card["encoder"]["output_dim"] == 5
    assert card["dataset"]["reader"] == "csv" and card["versions"]["torch"] == torch.__version__
    assert "final/test_accuracy" in card["metrics"] and card["check"]["max_abs_difference"] < 1e-4


def test_onnx_export_runs_in_onnxruntime(tabular_run, tmp_path):
    import onnxruntime as ort

    _root, run_dir, X = tabular_run
    code, _out, err = run_cli("export", run_dir, "--format", "onnx", "--out", str(tmp_path))
    assert code == 0, err
    session = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": X[:50]})[0]
    expected, _ = _reference(run_dir, X)
    np.testing.assert_allclose(got, expected[:50], **TOL)
    assert json.loads((tmp_path / "card.json").read_text())["versions"]["onnx"]


def test_safetensors_export_loads_into_the_encoder(tabular_run, tmp_path):
    from safetensors.torch import load_file

    _root, run_dir, _X = tabular_run
    code, _, err = run_cli("export", run_dir, "--out", str(tmp_path))
    assert code == 0, err
    weights = load_file(str(tmp_path / "encoder.safetensors"))
    model = core.load_trained(run_dir)
    own = model.model.encoder.state_dict()
    assert set(weights) == set(own) and all(torch.equal(weights[k], own[k]) for k in own)
    pre = json.loads((tmp_path / "preprocessing.json").read_text())
    assert pre["formula"].startswith("x_model = (x - shift) / scale")


def test_an_encoder_that_cannot_be_traced_exits_2_and_writes_nothing(tabular_run, tmp_path, monkeypatch):
    _root, run_dir, _X = tabular_run

    def untraceable(self, x):  # fine in eager PyTorch; ONNX has no operator for erfcx
        return self.head(torch.special.erfcx(self.blocks[0](x.flatten(1))))

    monkeypatch.setattr(core.ENCODERS.get("mlp").cls, "forward", untraceable)
    code, _, err = run_cli("export", run_dir, "--format", "onnx", "--out", str(tmp_path / "x"))
    assert code == 2
    assert "cannot be exported to ONNX" in err and "nothing was written" in err
    assert not (tmp_path / "x").exists()


def test_embed_new_data_to_npy_parquet_and_csv(tabular_run, tmp_path):
    import pyarrow.parquet as pq

    _root, run_dir, _X = tabular_run
    new = np.random.default_rng(5).normal(5.0, 3.0, size=(9, 6)).astype(np.float32)
    np.save(tmp_path / "new.npy", new)
    expected, _ = _reference(run_dir, new)
    code, _out, err = run_cli("embed", run_dir, str(tmp_path / "new.npy"), "--out", str(tmp_path / "z.npy"))
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "z.npy"), expected, rtol=1e-5, atol=1e-6)
    code, _, err = run_cli("embed", run_dir, str(tmp_path / "new.npy"), "--out", str(tmp_path / "z.parquet"))
    assert code == 0, err
    table = pq.read_table(tmp_path / "z.parquet")
    np.testing.assert_allclose(np.array(table.column("embedding").to_pylist()), expected, rtol=1e-5, atol=1e-6)
    code, _, err = run_cli("embed", run_dir, str(tmp_path / "new.npy"), "--out", str(tmp_path / "z.csv"))
    assert code == 0, err
    header = (tmp_path / "z.csv").read_text().splitlines()[0].split(",")
    assert header == ["index"] + [f"z{j}" for j in range(5)]
    np.save(tmp_path / "wide.npy", np.zeros((3, 7), np.float32))
    code, _, err = run_cli("embed", run_dir, str(tmp_path / "wide.npy"), "--out", str(tmp_path / "w.npy"))
    assert code == 2 and "wide.npy: samples of shape (7,), but the encoder" in err and not (tmp_path / "w.npy").exists()
    code, _, err = run_cli("embed", run_dir, str(tmp_path / "new.npy"), "--out", str(tmp_path / "z.xlsx"))
    assert code == 2 and "z.xlsx: unknown embeddings format '.xlsx'" in err


def test_embed_reads_new_data_with_the_runs_reader_settings(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)

    def table(n):
        return pa.table({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                         "species": np.array(["x", "y", "z"])[np.arange(n) % 3]})

    pq.write_table(table(60), tmp_path / "train.parquet")
    pq.write_table(table(9), tmp_path / "new.parquet")
    exp = core.Experiment(name="species", data=core.DataConfig(name="parquet", params={
        "path": str(tmp_path / "train.parquet"), "label_column": "species"}),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [8], "out_dim": 4}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=1, batch_size=16, device="cpu", probe_every=0),
        output=core.OutputConfig(root=str(tmp_path / "runs")))
    run_dir = core.run_to_end(core.train(exp)).run_dir
    code, _, err = run_cli("embed", str(run_dir), str(tmp_path / "new.parquet"), "--out", str(tmp_path / "z.parquet"))
    assert code == 0, err
    out = pq.read_table(tmp_path / "z.parquet")
    assert out.num_rows == 9 and "label" in out.column_names
    assert out.column("label").to_pylist()[:3] == ["x", "y", "z"]
    code, _, err = run_cli("embed", str(run_dir), str(tmp_path / "new.parquet"), "--out", str(tmp_path / "n.parquet"),
                           "--set", "label_column=nope")
    assert code == 2 and "nope" in err
