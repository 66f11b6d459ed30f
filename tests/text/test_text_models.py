"""nnx.text.models: fastai's AWD-LSTM and its heads — shapes, fastai's state-dict keys, the three dropouts (weight
dropout really used by the LSTM, masks constant over the sequence, whole embedding rows), the carried and detached
hidden state, reset(), tied weights, and the classifier's pooling and sentence encoder against NumPy."""
import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.text.models import (
    AWD_LSTM,
    EmbeddingDropout,
    PoolingLinearClassifier,
    RNNDropout,
    SentenceEncoder,
    WeightDropout,
    awd_lstm_clas_config,
    awd_lstm_clas_split,
    awd_lstm_lm_config,
    awd_lstm_lm_split,
    dropout_mask,
    get_language_model,
    get_text_classifier,
    masked_concat_pool,
)

SMALL = dict(emb_sz=12, n_hid=20, n_layers=2)


def lm(vocab=30, **overrides):
    return get_language_model(AWD_LSTM, vocab, {**awd_lstm_lm_config, **SMALL, **overrides})


def ids(rng, shape, vocab=30, low=2):
    return nnx.tensor(rng.integers(low, vocab, shape))


def test_shapes_and_state_dict_keys_are_fastais(rng):
    model = lm()
    out, raw, dropped = model(ids(rng, (3, 7)))
    assert out.shape == (3, 7, 30) and raw.shape == (3, 7, 12) and dropped.shape == (3, 7, 12)
    rnn_keys = ["weight_hh_l0_raw", "module.weight_ih_l0", "module.bias_ih_l0", "module.bias_hh_l0"]
    assert list(model.state_dict()) == (["0.encoder.weight", "0.encoder_dp.emb.weight"]
                                        + [f"0.rnns.{i}.{k}" for i in range(2) for k in rnn_keys]
                                        + ["1.decoder.weight", "1.decoder.bias"])
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["0.rnns.0.weight_hh_l0_raw"] == (80, 20) and shapes["0.rnns.1.module.weight_ih_l0"] == (48, 20)
    clas = get_text_classifier(AWD_LSTM, 30, 4, seq_len=5, config={**awd_lstm_clas_config, **SMALL})
    keys = list(clas.state_dict())
    assert keys[:3] == ["0.module.encoder.weight", "0.module.encoder_dp.emb.weight", "0.module.rnns.0.weight_hh_l0_raw"]
    head = ["0.weight", "0.bias", "0.running_mean", "0.running_var", "0.num_batches_tracked", "2.weight"]
    assert keys[10:] == [f"1.layers.{i}.{k}" for i in range(2) for k in head]  # BatchNorm, Dropout, Linear
    assert shapes_of(clas)["1.layers.0.2.weight"] == (50, 36) and shapes_of(clas)["1.layers.1.2.weight"] == (4, 50)
    assert clas(ids(rng, (3, 11)))[0].shape == (3, 4)
    bidir = AWD_LSTM(30, 12, 20, 2, bidir=True)
    assert bidir(ids(rng, (2, 5))).shape == (2, 5, 12) and bidir.hidden[0][0].shape == (2, 2, 10)


def shapes_of(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_drop_mult_scales_every_dropout():
    model = lm(output_p=0.2, hidden_p=0.3, input_p=0.4, embed_p=0.1, weight_p=0.5)
    half = get_language_model(AWD_LSTM, 30, {**awd_lstm_lm_config, **SMALL, "weight_p": 0.5}, drop_mult=0.5)
    assert model[0].rnns[0].weight_p == 0.5 and half[0].rnns[0].weight_p == 0.25
    assert half[0].input_dp.p == awd_lstm_lm_config["input_p"] / 2 and half[1].output_dp.p == 0.05
    assert awd_lstm_lm_config["output_p"] == 0.1  # the default config is copied, never changed


def test_dropout_mask_and_rnn_dropout_constant_over_the_sequence(rng):
    p = float(rng.uniform(0.2, 0.8))
    x = nnx.tensor(rng.normal(size=(4, 9, 6)).astype(np.float32))
    mask = dropout_mask(x, (4, 1, 6), p).numpy()
    assert np.all(np.isclose(mask, 0) | np.isclose(mask, 1 / (1 - p)))
    drop = RNNDropout(p)
    y = drop(x).numpy()
    ratio = y / x.numpy()
    assert np.allclose(ratio, ratio[:, :1], atol=1e-5)  # the same mask at every step
    assert (ratio[:, 0] == 0).any() and (ratio[:, 0] != 0).any()
    drop.eval()
    assert np.array_equal(drop(x).numpy(), x.numpy())


def test_embedding_dropout_drops_whole_words(rng):
    emb = nn.Embedding(40, 8, padding_idx=1)
    dp = EmbeddingDropout(emb, 0.5)
    words = ids(rng, (5, 30), vocab=40)
    out = dp(words).numpy()
    expected = emb.weight.detach().numpy()[words.numpy()]
    ratio = out / expected
    dropped = np.isclose(ratio, 0).all(-1)
    kept = np.isclose(ratio, 2).all(-1)
    assert (dropped | kept).all() and dropped.any() and kept.any()
    for w in np.unique(words.numpy()):  # a word is dropped everywhere or nowhere
        assert len(set(dropped[words.numpy() == w])) == 1
    dp.eval()
    assert np.allclose(dp(words).numpy(), expected)


def test_weight_dropout_uses_the_dropped_weight_and_trains_the_raw_one(rng):
    lstm = nn.LSTM(5, 7, batch_first=True)
    wd = WeightDropout(lstm, 0.5)
    assert [n for n, _ in wd.named_parameters()] == ["weight_hh_l0_raw", "module.weight_ih_l0", "module.bias_ih_l0",
                                                     "module.bias_hh_l0"]
    x = nnx.tensor(rng.normal(size=(3, 4, 5)).astype(np.float32))
    out, _ = wd(x)
    used = lstm.weight_hh_l0.detach().numpy().copy()
    raw = wd.weight_hh_l0_raw.detach().numpy()
    dropped = used == 0
    assert dropped.any() and (~dropped).any()
    assert np.allclose(used[~dropped], 2 * raw[~dropped])
    # The output is an LSTM's with the dropped matrix.
    check = nn.LSTM(5, 7, batch_first=True)
    for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
        getattr(check, name).detach().numpy()[...] = getattr(lstm, name).detach().numpy()
    check.weight_hh_l0.detach().numpy()[...] = used
    assert np.allclose(out.detach().numpy(), check(x)[0].detach().numpy(), atol=1e-6)
    out.sum().backward()
    grad = wd.weight_hh_l0_raw.grad.numpy()
    assert np.all(grad[dropped] == 0) and np.abs(grad[~dropped]).sum() > 0
    wd.eval()
    out_eval, _ = wd(x)
    assert np.array_equal(lstm.weight_hh_l0.detach().numpy(), raw)
    check.weight_hh_l0.detach().numpy()[...] = raw
    assert np.allclose(out_eval.detach().numpy(), check(x)[0].detach().numpy(), atol=1e-6)


def test_hidden_state_is_carried_detached_and_reset(rng):
    model = AWD_LSTM(30, **SMALL)
    model.eval()
    x = ids(rng, (3, 10))
    whole = model(x).numpy()
    model.reset()
    first = model(x[:, :6]).numpy()
    assert all(not h.requires_grad and not c.requires_grad for h, c in model.hidden)
    second = model(x[:, 6:]).numpy()
    assert np.allclose(np.concatenate([first, second], 1), whole, atol=1e-5)
    model.reset()
    assert all(float(abs(h).sum()) == 0 and float(abs(c).sum()) == 0 for h, c in model.hidden)
    assert np.allclose(model(x).numpy(), whole, atol=1e-6)
    # Another batch size keeps the first rows' state.
    model.reset()
    model(x)
    kept = [h.numpy()[:, :2].copy() for h, _ in model.hidden]
    model(x[:2, :1])
    model.reset()
    model(x)
    assert model.bs == 3
    model._change_hidden(2)
    assert all(np.array_equal(h.numpy(), k) for (h, _), k in zip(model.hidden, kept))
    model._change_hidden(5)
    assert model.hidden[0][0].shape == (1, 5, 20) and float(abs(model.hidden[0][0][:, 2:]).sum()) == 0


def test_training_gradients_stop_at_the_batch(rng):
    model = lm()
    x = ids(rng, (2, 5))
    model(x)[0].sum().backward()
    model.zero_grad()
    out = model(x)[0]  # the carried state is detached: a second backward works alone
    out.sum().backward()
    assert model[0].rnns[0].weight_hh_l0_raw.grad is not None


def test_tied_weights_share_storage_and_gradient(rng):
    model = lm()
    enc, dec = model[0].encoder.weight, model[1].decoder.weight
    assert dec is enc
    enc.detach().numpy()[3, 0] = 7.0
    assert dec.detach().numpy()[3, 0] == 7.0
    model(ids(rng, (2, 5)))[0].sum().backward()
    assert enc.grad is not None and dec.grad is enc.grad
    untied = lm(tie_weights=False)
    assert untied[1].decoder.weight is not untied[0].encoder.weight
    assert len(list(model.parameters())) == len(list(untied.parameters())) - 1


def test_splitters_cover_every_parameter_once():
    model = lm()
    groups = awd_lstm_lm_split(model)
    assert len(groups) == 3
    flat = [id(p) for g in groups for p in g]
    assert len(flat) == len(set(flat)) == len(list(model.parameters()))
    clas = get_text_classifier(AWD_LSTM, 30, 3, config={**awd_lstm_clas_config, **SMALL})
    groups = awd_lstm_clas_split(clas)
    assert len(groups) == 4
    flat = [id(p) for g in groups for p in g]
    assert len(flat) == len(set(flat)) == len(list(clas.parameters()))


def pad_first_chunks(rng, lengths, bptt, pad=1, vocab=30):
    """Rows as pad_input_chunk lays them out: whole chunks of padding first, then the text, then the remainder."""
    width = max(lengths)
    x = np.full((len(lengths), width), pad, dtype=np.int64)
    texts = []
    for row, n in enumerate(lengths):
        text = rng.integers(2, vocab, n)
        start = ((width - n) // bptt) * bptt
        x[row, start:start + n] = text
        texts.append(text)
    return x, texts


def numpy_concat_pool(out, mask):
    rows = []
    for o, m in zip(out, mask):
        real = o[~m]
        last = np.flatnonzero(~m)[-1]
        rows.append(np.concatenate([o[last], real.max(0), real.mean(0)]))
    return np.stack(rows)


def test_masked_concat_pool_ignores_padding(rng):
    bptt = 4
    lengths = sorted(rng.integers(1, 15, 5).tolist(), reverse=True)
    x, _ = pad_first_chunks(rng, lengths, bptt)
    mask = x == 1
    out = rng.normal(size=(5, x.shape[1], 6)).astype(np.float32)
    expected = numpy_concat_pool(out, mask)
    got = masked_concat_pool(nnx.tensor(out), nnx.tensor(mask), bptt).numpy()
    assert np.allclose(got, expected, atol=1e-5)
    noisy = out.copy()
    noisy[mask] = rng.normal(size=(int(mask.sum()), 6)) * 100  # what lies under the padding does not matter
    head = PoolingLinearClassifier([18, 5, 3], [0.0, 0.0], bptt)
    head.eval()
    a = head((nnx.tensor(out), nnx.tensor(mask)))[0].numpy()
    b = head((nnx.tensor(noisy), nnx.tensor(mask)))[0].numpy()
    assert np.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        PoolingLinearClassifier([18, 5, 3], [0.1], bptt)


def test_sentence_encoder_reads_each_text_as_alone(rng):
    bptt = 4
    module = AWD_LSTM(30, **SMALL)
    encoder = SentenceEncoder(bptt, module, pad_idx=1)
    encoder.eval()
    lengths = sorted(rng.integers(1, 14, 4).tolist(), reverse=True)
    x, texts = pad_first_chunks(rng, lengths, bptt)
    out, mask = encoder(nnx.tensor(x))
    assert out.shape == (4, x.shape[1], 12) and np.array_equal(mask.numpy(), x == 1)
    for row, text in enumerate(texts):
        module.reset()
        alone = module(nnx.tensor(text[None])).numpy()[0]
        assert np.allclose(out.numpy()[row][~mask.numpy()[row]], alone, atol=1e-5)
    short = SentenceEncoder(bptt, module, pad_idx=1, max_len=bptt)
    assert short(nnx.tensor(x))[0].shape[1] <= 2 * bptt


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="weight_p"):
        WeightDropout(nn.LSTM(3, 4), 1.5)
    with pytest.raises(ValueError, match="no parameter named"):
        WeightDropout(nn.LSTM(3, 4), 0.5, "weight_hh_l7")
    with pytest.raises(ValueError, match="n_layers"):
        AWD_LSTM(10, 8, 8, 0)
    with pytest.raises(ValueError, match="no model_meta"):
        get_language_model(nn.Linear, 10)
