"""Next-token prediction: a causal transformer, a loss that matches its formula, presets that train."""
from __future__ import annotations

import numpy as np
import torch

import core
from core.models.encoders import TransformerEncoder
from core.objectives.next_token import NextToken, next_token_targets

PAD = core.PAD_ID


def _model():
    torch.manual_seed(0)
    spec = core.DataSpec(kind="tokens", sample_shape=(5,), vocab_size=7)
    enc = TransformerEncoder(TransformerEncoder.Params(width=16, heads=2, layers=2, dropout=0.0, out_dim=8), spec)
    return NextToken(NextToken.Params(), enc, spec).eval()


def test_a_later_token_does_not_change_earlier_states():
    model = _model()
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0, PAD]])
    b = a.clone()
    b[0, 3] = 6.0
    sa, sb = model.encoder.sequence_outputs(a), model.encoder.sequence_outputs(b)
    torch.testing.assert_close(sa[:, :3], sb[:, :3])  # positions 0..2 cannot see position 3
    assert not torch.allclose(sa[:, 3], sb[:, 3])


def test_the_representation_is_the_state_at_the_last_real_token():
    model = _model()
    x = torch.tensor([[1.0, 2.0, 3.0, PAD, PAD]])
    enc = model.encoder
    expected = enc.head(enc.sequence_outputs(x)[:, 2])
    torch.testing.assert_close(model.embed(x), expected)
    # what follows the last word (padding) changes nothing
    torch.testing.assert_close(model.embed(torch.tensor([[1.0, 2.0, 3.0, PAD, PAD]])), model.embed(x))


def test_targets_pair_each_position_with_the_next_real_token():
    ids = torch.tensor([[1, 2, 3, PAD, PAD], [4, 5, PAD, PAD, PAD]])
    targets, valid = next_token_targets(ids)
    assert targets.tolist() == [[2, 3, PAD, PAD], [5, PAD, PAD, PAD]]
    assert valid.tolist() == [[True, True, False, False], [True, False, False, False]]


def test_loss_is_the_mean_cross_entropy_of_the_next_tokens():
    model = _model()
    x = torch.tensor([[1.0, 2.0, 3.0, PAD, PAD], [4.0, 5.0, 6.0, 1.0, PAD]])
    out = model(core.Batch(x=x, y=None, index=torch.arange(2)))
    logp = torch.log_softmax(model.token_head(model.encoder.sequence_outputs(x)), dim=-1)
    pairs = [(0, 0, 2), (0, 1, 3), (1, 0, 5), (1, 1, 6), (1, 2, 1)]  # (sentence, position, next token)
    expected = -torch.stack([logp[i, t, tok] for i, t, tok in pairs]).mean()
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(out.metrics["perplexity"], torch.exp(expected))


def test_a_context_free_encoder_is_refused(tmp_path):
    exp = core.load_preset("toy-language-next-token")
    exp = exp.__class__(**{**exp.__dict__, "encoder": core.EncoderConfig(name="embedding", params={"dim": 8}),
                           "output": core.OutputConfig(root=str(tmp_path))})
    with np.testing.assert_raises(core.ConfigError):
        core.run_to_end(core.train(exp.with_training(epochs=1, device="cpu")))
    assert not any(tmp_path.iterdir())  # refused before a run directory was made


def test_the_toy_language_preset_learns_what_follows_what(tmp_path):
    exp = core.load_preset("toy-language-next-token")
    exp = exp.__class__(**{**exp.__dict__, "data": core.DataConfig(name="toy_language", params={"sentences": 300}),
                           "encoder": core.EncoderConfig(name="transformer", params={
                               "width": 32, "layers": 1, "heads": 2, "dropout": 0.0, "out_dim": 16}),
                           "output": core.OutputConfig(root=str(tmp_path))})
    events = list(_events(core.train(exp.with_training(epochs=6, lr=0.01, batch_size=32, device="cpu", snapshot_every=0,
                                                                checkpoint_every=0))))
    epochs = [e for e in events if isinstance(e, core.EpochEnded)]
    assert epochs[-1].train_loss < epochs[0].train_loss
    # far better than guessing among the vocabulary's words
    assert epochs[-1].train_loss < 0.7 * np.log(len(core.load_dataset(exp).vocab))


def test_the_text_file_preset_reads_the_users_file(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 20))
    exp = core.load_preset("text-file-next-token")
    assert exp.data.name == "text" and exp.objective.name == "next_token"
    exp = exp.__class__(**{**exp.__dict__, "data": core.DataConfig(name="text", params={"path": str(text)}),
                           "output": core.OutputConfig(root=str(tmp_path))})
    result = core.run_to_end(core.train(exp.with_training(epochs=2, batch_size=16, device="cpu", snapshot_every=0,
                                                                checkpoint_every=0)))
    assert result.status == "finished"


def _events(gen):
    try:
        while True:
            yield next(gen)
    except StopIteration:
        return
