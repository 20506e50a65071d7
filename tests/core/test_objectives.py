"""Objectives and encoders: every combination the registry allows trains, and stays finite."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import core
from core.compatibility import encoders_for, objectives_for

# tiny data of every kind, and tiny encoders
DATA = {
    "image": core.DataConfig(name="digits", params={"n_classes": 4}),
    "audio": core.DataConfig(name="tones", params={"clips": 240, "samples": 128}),
    "tokens": core.DataConfig(name="toy_language", params={"sentences": 240}),
    "graph": core.DataConfig(name="sbm", params={"communities": 3, "nodes_per_community": 30, "p_in": 0.3}),
    "tabular": core.DataConfig(name="wine"),
}
# objectives that need one kind of built-in data name it (registry info ``demo_data``): tiny versions of it
DEMO_DATA = {
    "moving_shapes": core.DataConfig(name="moving_shapes", params={"clips": 240, "size": 12, "frames": 3}),
    "gridworld": core.DataConfig(name="gridworld", params={"transitions": 240, "side": 4, "cell": 3}),
}
ENCODER_PARAMS = {
    "mlp": {"hidden": [32], "out_dim": 8},
    "cnn2d": {"channels": [8, 16], "out_dim": 8},
    "cnn1d": {"channels": [8, 16], "out_dim": 8},
    "embedding": {"dim": 8},
    "transformer": {"width": 16, "layers": 1, "heads": 2, "out_dim": 8, "dropout": 0.0},
}
SMALL_HEADS = {"projector_hidden": [32], "projector_dim": 16}
OBJECTIVE_PARAMS = {
    "simclr": SMALL_HEADS, "vicreg": SMALL_HEADS, "barlow_twins": SMALL_HEADS,
    "byol": {**SMALL_HEADS, "predictor_hidden": 16}, "simsiam": {**SMALL_HEADS, "predictor_hidden": 8},
    "vae": {"latent_dim": 4},
}


def combinations():
    combos = []
    for objective in core.OBJECTIVES.names():
        for encoder in core.ENCODERS.names():
            kind = next((k for k in DATA if encoder in encoders_for(k) and objective in objectives_for(k, encoder)), None)
            if kind is not None:
                combos.append(pytest.param(objective, encoder, kind, id=f"{objective}-{encoder}-{kind}"))
    return combos


def experiment(tmp_path, objective, encoder, kind, epochs=6):
    graph = kind == "graph"  # 90 nodes: smaller batches and a larger step, or there are too few steps to learn
    demo = core.OBJECTIVES.get(objective).info.get("demo_data")
    return core.Experiment(
        name="combo", data=DEMO_DATA[demo] if demo else DATA[kind], encoder=core.EncoderConfig(name=encoder, params=ENCODER_PARAMS[encoder]),
        objective=core.ObjectiveConfig(name=objective, params=OBJECTIVE_PARAMS.get(objective, {})),
        training=core.TrainingConfig(epochs=epochs, batch_size=8 if graph else 32, lr=1e-2 if graph else 3e-3,
                                     device="cpu", snapshot_every=0,
                                     checkpoint_every=0, snapshot_points=64, eval_points=64),
        output=core.OutputConfig(root=str(tmp_path)),
    )


def test_every_objective_and_encoder_is_covered():
    covered = {(c.values[0], c.values[1]) for c in combinations()}
    assert {o for o, _ in covered} == set(core.OBJECTIVES.names())
    assert {e for _, e in covered} == set(core.ENCODERS.names())


@pytest.mark.parametrize("objective, encoder, kind", combinations())
def test_combination_trains_with_finite_falling_loss(tmp_path, objective, encoder, kind):
    exp = experiment(tmp_path, objective, encoder, kind)
    events = []
    result = None
    gen = core.train(exp)
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        result = stop.value
    steps = [e.loss for e in events if isinstance(e, core.StepEnded)]
    assert np.isfinite(steps).all()
    epochs = [e for e in events if isinstance(e, core.EpochEnded)]
    first, last = epochs[0].train_loss, epochs[-1].train_loss
    assert last < first, f"loss did not fall: {first:.4f} -> {last:.4f}"
    diag = epochs[-1].diagnostics
    enc_dim = ENCODER_PARAMS[encoder].get("out_dim", ENCODER_PARAMS[encoder].get("dim"))
    expected_dim = OBJECTIVE_PARAMS.get(objective, {}).get("latent_dim", enc_dim)
    assert diag.dim == expected_dim
    assert result.status == "finished"


@pytest.mark.parametrize("encoder, kind", [("mlp", "image"), ("cnn2d", "image"), ("cnn1d", "audio"),
                                           ("embedding", "tokens"), ("transformer", "tokens"), ("embedding", "graph")])
def test_encoders_state_their_dimension_and_name_their_layers(encoder, kind):
    exp = experiment("/tmp", "supervised", encoder, kind)
    data = core.prepare(core.load_dataset(exp), val_fraction=0.1, test_fraction=0.2, stratify=True,
                        normalization="auto", seed=0)
    model = core.build_model(exp, data)
    enc = model.encoder
    x = torch.from_numpy(data.X[:5])
    z = enc(x)
    assert z.shape == (5, enc.out_dim)
    layers = enc.layer_outputs(x)
    assert list(layers)[-1] == "representation" and len(layers) >= 2
    assert enc.layer_names == tuple(layers)
    assert all(v.shape[0] == 5 and v.dim() == 2 for v in layers.values())
    torch.testing.assert_close(layers["representation"], z)


@pytest.mark.parametrize("size", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 20, 12)])
def test_cnn2d_and_its_decoder_handle_any_image_size(size):
    from core.models.encoders import CNN2dEncoder
    from core.models.heads import make_decoder

    spec = core.DataSpec(kind="image", sample_shape=size)
    enc = CNN2dEncoder(CNN2dEncoder.Params(channels=(8, 16, 32), out_dim=10), spec)
    x = torch.randn(3, *size)
    assert enc(x).shape == (3, 10)
    dec = make_decoder(enc, 10, size)
    assert dec(enc(x)).shape == (3, *size)


def test_default_cnn1d_sees_97_samples_at_its_last_block():
    """Kernel 7 and four halvings: 1 + 6 · (1 + 1 + 2 + 4 + 8) = 97 input samples reach one last-block output
    (the span a chirp's direction or a pulse's envelope needs to survive the global pooling)."""
    from core.models.encoders import CNN1dEncoder

    torch.manual_seed(0)
    enc = CNN1dEncoder(CNN1dEncoder.Params(), core.DataSpec(kind="audio", sample_shape=(256,))).eval()
    assert len(enc.blocks) == 5
    x = torch.randn(1, 1, 256, requires_grad=True)
    h = x
    for block in enc.blocks:
        h = block(h)
    assert h.shape[-1] == 16
    h[0, :, 8].sum().backward()  # one output position, all channels
    reached = torch.nonzero(x.grad[0, 0]).flatten()
    assert int(reached.max() - reached.min()) + 1 == 97


def test_transformer_ignores_padding():
    from core.models.encoders import TransformerEncoder

    spec = core.DataSpec(kind="tokens", sample_shape=(6,), vocab_size=10)
    enc = TransformerEncoder(TransformerEncoder.Params(width=16, heads=2, layers=2, dropout=0.0), spec).eval()
    a = torch.tensor([[1.0, 2.0, 3.0, core.PAD_ID, core.PAD_ID, core.PAD_ID]])
    b = torch.tensor([[1.0, 2.0, 3.0, core.PAD_ID, core.PAD_ID, core.PAD_ID]])
    b2 = b.clone()
    b2[0, 3:] = core.PAD_ID
    torch.testing.assert_close(enc(a), enc(b2))
    empty = torch.full((1, 6), float(core.PAD_ID))
    assert torch.isfinite(enc(empty)).all()


def test_masked_token_prediction_refuses_a_context_free_encoder(tmp_path):
    exp = experiment(tmp_path, "masked_prediction", "embedding", "tokens")
    with pytest.raises(core.ConfigError) as info:
        core.run_to_end(core.train(exp))
    assert info.value.field == "encoder.name" and "transformer" in str(info.value)


def test_incompatible_encoder_names_the_alternatives(tmp_path):
    exp = experiment(tmp_path, "supervised", "cnn1d", "image")
    with pytest.raises(core.ConfigError) as info:
        core.run_to_end(core.train(exp))
    assert info.value.field == "encoder.name" and "cnn2d" in str(info.value) and "mlp" in str(info.value)


@pytest.mark.parametrize("objective", ["simclr", "vicreg", "barlow_twins", "byol", "simsiam"])
def test_batch_of_one_is_refused_clearly(tmp_path, objective):
    exp = experiment(tmp_path, objective, "mlp", "image").with_training(batch_size=1)
    with pytest.raises(core.ConfigError) as info:
        core.run_to_end(core.train(exp))
    assert info.value.field == "training.batch_size" and "at least 2" in str(info.value)


def test_byol_target_follows_the_momentum_schedule():
    from core.objectives.byol import momentum_at

    assert momentum_at(0.99, 0.0) == pytest.approx(0.99)
    assert momentum_at(0.99, 0.5) == pytest.approx(0.995)
    assert momentum_at(0.99, 1.0) == pytest.approx(1.0)


def test_byol_target_receives_no_gradient_and_moves_by_ema(tmp_path):
    exp = experiment(tmp_path, "byol", "mlp", "image")
    data = core.prepare(core.load_dataset(exp), val_fraction=0.1, test_fraction=0.2, stratify=True,
                        normalization="auto", seed=0)
    model = core.build_model(exp, data)
    views = core.make_views([], core.data_spec(data, 0))
    model.views = views
    x = torch.from_numpy(data.X[:16])
    out = model(core.Batch(x=x, y=None, index=torch.arange(16)))
    out.loss.backward()
    assert all(p.grad is None for p in model.target_encoder.parameters())
    online = [p.detach().clone() for p in model.encoder.parameters()]
    target = [p.detach().clone() for p in model.target_encoder.parameters()]
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    model.on_step_end(0.0)  # τ = 0.99
    for t_new, t_old, o_old in zip(model.target_encoder.parameters(), target, online, strict=True):
        torch.testing.assert_close(t_new, 0.99 * t_old + 0.01 * (o_old + 1.0))


def every_declared_kind():
    params = []
    for entry in core.OBJECTIVES:
        for kind in entry.info["data_kinds"]:
            if kind not in DATA:
                continue
            encoder = next((e for e in encoders_for(kind) if entry.name in objectives_for(kind, e)), None)
            if encoder is not None:
                params.append(pytest.param(entry.name, encoder, kind, id=f"{entry.name}-{kind}"))
    return params


@pytest.mark.parametrize("objective, encoder, kind", every_declared_kind())
def test_every_objective_trains_on_every_kind_it_declares(tmp_path, objective, encoder, kind):
    exp = experiment(tmp_path, objective, encoder, kind, epochs=2)
    result = core.run_to_end(core.train(exp))
    assert result.status == "finished" and result.epochs_completed == 2
    status = core.RunDirectory.open(result.run_dir).read_status()
    assert all(v is None or np.isfinite(v) for v in status["test"].values())
