"""Augmentations: per kind, on one sample or a batch, seeded, and doing what they say."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import core

SHAPES = {"image": (1, 8, 8), "sequence": (2, 40), "audio": (1, 64), "tabular": (6,), "embeddings": (5,), "tokens": (9,)}


def sample_batch(kind: str, n: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if kind == "tokens":
        x = torch.randint(0, 20, (n, *SHAPES[kind]), generator=g).float()
        x[:, 6:] = core.PAD_ID
        return x
    if kind == "image":
        return torch.rand((n, *SHAPES[kind]), generator=g)
    return torch.randn((n, *SHAPES[kind]), generator=g)


def every_augmentation():
    return [pytest.param(entry.name, kind, id=f"{entry.name}-{kind}")
            for entry in core.AUGMENTATIONS for kind in entry.info["data_kinds"]]


@pytest.mark.parametrize("name, kind", every_augmentation())
def test_each_augmentation_on_a_batch_and_on_one_sample(name, kind):
    entry = core.AUGMENTATIONS.get(name)
    spec = core.DataSpec(kind=kind, sample_shape=SHAPES[kind], value_range=(0.0, 1.0) if kind == "image" else None,
                         vocab_size=20 if kind == "tokens" else 0)
    aug = entry.cls(entry.make_params(), spec)
    x = sample_batch(kind)
    torch.manual_seed(1)
    a = aug(x)
    torch.manual_seed(1)
    b = aug(x)
    assert a.shape == x.shape and torch.isfinite(a).all()
    torch.testing.assert_close(a, b)  # the global seed fixes the view
    one = aug(x[0])
    assert one.shape == x[0].shape
    if kind == "image":
        assert a.min() >= -1e-6 and a.max() <= 1 + 1e-6  # pixels stay in their range
    if kind == "tokens":
        assert (a[x == core.PAD_ID] == core.PAD_ID).all()  # padding stays padding


def test_views_change_samples_independently():
    spec = core.DataSpec(kind="image", sample_shape=(1, 8, 8), value_range=(0.0, 1.0))
    views = core.make_views([], spec)
    assert views.names == [n for n, _ in core.DEFAULT_VIEWS["image"]]
    x = sample_batch("image", 4)
    same = x[:1].repeat(4, 1, 1, 1)
    out = views(same)
    assert not torch.allclose(out[0], out[1])
    assert not torch.allclose(views(x), views(x))


def test_flip_twice_is_identity_and_zero_rotation_keeps_the_image():
    spec = core.DataSpec(kind="image", sample_shape=(1, 8, 8))
    x = sample_batch("image", 3)
    flip = core.AUGMENTATIONS.get("flip").cls(core.AUGMENTATIONS.get("flip").make_params({"p": 1.0}), spec)
    torch.testing.assert_close(flip(flip(x)), x)
    torch.testing.assert_close(flip(x), x.flip(-1))
    rot = core.AUGMENTATIONS.get("rotation").cls(core.AUGMENTATIONS.get("rotation").make_params({"degrees": 0.0}), spec)
    torch.testing.assert_close(rot(x), x, atol=1e-5, rtol=0)


def test_feature_resample_draws_from_the_same_column():
    spec = core.DataSpec(kind="tabular", sample_shape=(4,))
    entry = core.AUGMENTATIONS.get("feature_resample")
    aug = entry.cls(entry.make_params({"p": 1.0}), spec)
    x = torch.arange(40, dtype=torch.float32).view(10, 4)  # column j holds values ≡ j (mod 4)
    out = aug(x)
    assert ((out % 4) == torch.arange(4)).all()
    assert not torch.equal(out, x)


def test_token_dropout_keeps_the_first_token_and_mask_uses_the_mask_id():
    spec = core.DataSpec(kind="tokens", sample_shape=(9,), vocab_size=20)
    x = sample_batch("tokens", 50)
    drop = core.AUGMENTATIONS.get("token_dropout")
    out = drop.cls(drop.make_params({"p": 1.0}), spec)(x)
    torch.testing.assert_close(out[:, 0], x[:, 0])
    assert (out[:, 1:] == core.PAD_ID).all()
    mask = core.AUGMENTATIONS.get("token_mask")
    masked = mask.cls(mask.make_params({"p": 1.0}), spec)(x)
    assert set(masked.unique().tolist()) == {core.MASK_ID, core.PAD_ID}


def test_time_shift_is_a_circular_roll():
    spec = core.DataSpec(kind="audio", sample_shape=(1, 10))
    entry = core.AUGMENTATIONS.get("time_shift")
    x = torch.arange(10, dtype=torch.float32).view(1, 1, 10).repeat(5, 1, 1)
    out = entry.cls(entry.make_params({"max_shift": 0.3}), spec)(x)
    for row in out[:, 0]:
        k = int(row[0].item())
        torch.testing.assert_close(row, torch.roll(torch.arange(10, dtype=torch.float32), -k))


def test_time_crop_stretches_a_window_back_to_full_length():
    spec = core.DataSpec(kind="sequence", sample_shape=(1, 21))
    entry = core.AUGMENTATIONS.get("time_crop")
    ramp = torch.arange(21, dtype=torch.float32).view(1, 1, 21).repeat(8, 1, 1)
    whole = entry.cls(entry.make_params({"scale_min": 1.0}), spec)(ramp)
    torch.testing.assert_close(whole, ramp)  # the full window is the signal itself
    out = entry.cls(entry.make_params({"scale_min": 0.5}), spec)(ramp)[:, 0]
    steps = out[:, 1:] - out[:, :-1]
    # a linear ramp stays linear: a window of w samples stretched over 20 steps rises w/20 per step
    torch.testing.assert_close(steps, steps[:, :1].expand_as(steps), atol=1e-4, rtol=0)
    assert ((steps[:, 0] >= 0.5 - 1e-4) & (steps[:, 0] <= 1 + 1e-4)).all()
    assert (out[:, 0] >= 0).all() and (out[:, -1] <= 20 + 1e-4).all()


def test_augmentation_for_the_wrong_kind_is_refused_with_the_alternatives():
    spec = core.DataSpec(kind="tabular", sample_shape=(4,))
    with pytest.raises(core.ConfigError) as info:
        core.make_views([("rotation", {})], spec)
    assert info.value.field == "views[0].name"
    assert "feature_resample" in str(info.value)
    with pytest.raises(core.ConfigError) as info:
        core.make_views([("gaussian_noise", {"sigma": -1})], spec)
    assert info.value.field == "views[0].params.sigma"


def test_views_round_trip_through_toml_and_errors_name_the_item(tmp_path):
    exp = core.load_preset("digits-simclr")
    assert [v.name for v in exp.views] == ["random_resized_crop", "rotation", "brightness_contrast", "gaussian_noise"]
    path = tmp_path / "e.toml"
    core.save_experiment(exp, path)
    assert core.load_experiment(path) == exp
    text = path.read_text().replace('name = "rotation"', 'name = "rotate"')
    with pytest.raises(core.ConfigError) as info:
        core.loads_experiment(text)
    assert info.value.field == "views[1].name" and "rotation" in str(info.value)
    text = path.read_text().replace("degrees = 15.0", "degrees = 400.0")
    with pytest.raises(core.ConfigError) as info:
        core.loads_experiment(text)
    assert info.value.field == "views[1].params.degrees"


def test_seeded_views_keep_resume_exact_for_a_multi_view_objective(tmp_path):
    """The augmentations draw from the checkpointed RNG: a resumed SimCLR run matches a straight one."""
    exp = core.load_preset("digits-simclr").with_training(epochs=3, warmup_epochs=0, batch_size=256, device="cpu")
    exp = exp.with_output(root=str(tmp_path))
    straight = [e.loss for e in core.train(exp) if isinstance(e, core.StepEnded)]
    gen = core.train(exp)
    for event in gen:
        if isinstance(event, core.CheckpointSaved) and event.epoch == 1:
            break
    gen.close()
    resumed = [e.loss for e in core.resume(event.path.rsplit("/checkpoints/", 1)[0]) if isinstance(e, core.StepEnded)]
    assert resumed == straight[-len(resumed):]
    assert np.isfinite(straight).all()
