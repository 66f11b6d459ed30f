"""nnx.text.learner: the ULMFiT Learners on the offline corpus — the language model's loss falls, its metrics
(flattened accuracy, perplexity = exp of the mean token loss), predict() writes n_words more words, save_encoder /
load_encoder round trip into a classifier, freeze_to(-2) trains only the last two groups, the callbacks (reset,
AR/TAR), match_embeds and decode_spec_tokens."""
import numpy as np
import pytest

import nnx
from nnx.text import (
    BOS,
    CrossEntropyLossFlat,
    Perplexity,
    RNNRegularizer,
    TextDataLoaders,
    corpus,
    decode_spec_tokens,
    language_model_learner,
    match_embeds,
    text_classifier_learner,
)
from nnx.text.models import awd_lstm_clas_config, awd_lstm_lm_config

pytest.importorskip("tokenizers")

TINY = dict(emb_sz=24, n_hid=48, n_layers=2)
LM_CONFIG = {**awd_lstm_lm_config, **TINY}
CLAS_CONFIG = {**awd_lstm_clas_config, **TINY}


@pytest.fixture(scope="module")
def lm_dls():
    return TextDataLoaders.from_texts(corpus.lm_texts()[:300], is_lm=True, bs=16, seq_len=20, seed=0, valid_pct=0.2)


@pytest.fixture(scope="module")
def clas_dls(lm_dls):
    texts, labels = corpus.topic_classification()
    return TextDataLoaders.from_texts(texts[:160], labels[:160], bs=16, seq_len=20, seed=0,
                                      text_vocab=lm_dls.text_vocab)


def test_language_model_loss_falls_and_metrics(lm_dls):
    nnx.manual_seed(0)
    learn = language_model_learner(lm_dls, config=LM_CONFIG, verbose=False)
    before = learn.validate()[0]
    learn.fit_one_cycle(2, 2e-2)
    valid_loss, acc, perplexity = learn.recorder.values[-1][1:]
    assert valid_loss < before - 0.5
    assert 0 < acc < 1 and np.isclose(perplexity, np.exp(valid_loss), rtol=0.02)
    assert [m.name for m in learn.metrics] == ["accuracy", "perplexity"]
    assert learn.moms == (0.8, 0.7, 0.8) and len(learn.opt.param_groups) == 3
    preds, targs = learn.get_preds()
    assert preds.shape == (*targs.shape, len(lm_dls.text_vocab)) and np.allclose(preds.sum(-1), 1, atol=1e-4)


def test_predict_generates_n_words(lm_dls, rng):
    nnx.manual_seed(int(rng.integers(1 << 30)))
    learn = language_model_learner(lm_dls, config=LM_CONFIG, verbose=False)
    text = "the value of the expression"
    n_words = int(rng.integers(1, 8))
    out = learn.predict(text, n_words=n_words, decoder=list)
    prompt = [t for t in lm_dls.text_vocab.textify(lm_dls.numericalize([text])[0]) if t != BOS]
    words = out.split(" ")
    assert words[:len(prompt)] == prompt and len(words) == len(prompt) + n_words
    assert "xxunk" not in words[len(prompt):]
    nnx.manual_seed(3)
    a = learn.predict(text, n_words=4, temperature=0.7)
    nnx.manual_seed(3)
    assert learn.predict(text, n_words=4, temperature=0.7) == a  # reproducible from the seed
    assert learn.predict("The value", n_words=3, only_last_word=True).startswith("The value ")
    with pytest.raises(ValueError, match="n_words"):
        learn.predict(text, n_words=-1)


def test_save_and_load_encoder_round_trip(lm_dls, clas_dls, tmp_path):
    nnx.manual_seed(1)
    lm = language_model_learner(lm_dls, config=LM_CONFIG, path=tmp_path, verbose=False)
    lm.fit(1, 1e-2)
    file = lm.save_encoder("enc")
    assert file.endswith("enc.pth") and str(tmp_path) in file
    clas = text_classifier_learner(clas_dls, seq_len=20, config=CLAS_CONFIG, path=tmp_path, verbose=False)
    clas.load_encoder("enc")
    saved = lm.model[0].state_dict()
    loaded = clas.model[0].module.state_dict()
    assert list(saved) == list(loaded)
    assert all(np.array_equal(saved[k].numpy(), loaded[k].numpy()) for k in saved)
    assert clas.frozen_idx == len(clas.opt.param_groups) - 1 == 3


def test_freeze_to_minus_two_trains_the_last_two_groups(clas_dls):
    nnx.manual_seed(2)
    learn = text_classifier_learner(clas_dls, seq_len=20, config=CLAS_CONFIG, verbose=False)
    learn.freeze_to(-2)
    groups = [[p.detach().numpy().copy() for p in g["params"]] for g in learn.opt.param_groups]
    learn.fit(1, 1e-2)
    changed = [any(not np.array_equal(a, p.detach().numpy()) for a, p in zip(before, g["params"]))
               for before, g in zip(groups, learn.opt.param_groups)]
    assert changed == [False, False, True, True]
    learn.unfreeze()
    learn.fit_one_cycle(1, slice(1e-4, 1e-2))
    lrs = [g["lr"] for g in learn.opt.param_groups]
    assert lrs == sorted(lrs) and lrs[0] < lrs[-1]  # discriminative rates
    label, index, probs = learn.predict(corpus.topic_classification()[0][0])
    assert label == clas_dls.classes[index] and probs.shape == (3,) and np.isclose(probs.sum(), 1, atol=1e-5)


def test_regularizer_adds_ar_and_tar_in_training_only(lm_dls):
    nnx.manual_seed(4)
    learn = language_model_learner(lm_dls, config=LM_CONFIG, verbose=False, alpha=3.0, beta=0.5)
    reg = learn.rnn_regularizer
    assert isinstance(reg, RNNRegularizer) and (reg.alpha, reg.beta) == (3.0, 0.5)
    seen = []

    class Spy(nnx.learner.Callback):
        order = reg.order + 1

        def after_loss(self):
            if self.learn.training:
                out, raw = self.learn.rnn.out.numpy(), self.learn.rnn.raw_out.numpy()
                penalty = 3.0 * np.mean(out ** 2) + 0.5 * np.mean((raw[:, 1:] - raw[:, :-1]) ** 2)
                seen.append((float(self.learn.loss_grad.item()), self.learn.loss + penalty))
            raise nnx.learner.CancelBatchException

    learn.fit(1, 1e-3, cbs=[Spy()])
    assert seen and all(np.isclose(a, b, rtol=1e-5) for a, b in seen)


def test_cross_entropy_flat_and_perplexity(rng):
    scores = rng.normal(size=(3, 5, 7)).astype(np.float32)
    targ = rng.integers(0, 7, (3, 5))
    loss = float(CrossEntropyLossFlat()(nnx.tensor(scores), nnx.tensor(targ)).item())
    shifted = scores - scores.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -np.take_along_axis(logp, targ[..., None], -1).mean()
    assert np.isclose(loss, expected, rtol=1e-5)
    metric = Perplexity()
    metric.reset()
    metric.accumulate(scores[:2], targ[:2])
    metric.accumulate(scores[2:], targ[2:])
    assert np.isclose(metric.value, np.exp(expected), rtol=1e-5)


def test_match_embeds_and_decode_spec_tokens(rng):
    old = {"0.encoder.weight": rng.normal(size=(4, 3)), "0.encoder_dp.emb.weight": np.zeros((4, 3)),
           "1.decoder.weight": np.zeros((4, 3)), "1.decoder.bias": rng.normal(size=4)}
    new = match_embeds(old, ["a", "b", "c", "d"], ["d", "z", "a"])
    w = new["0.encoder.weight"]
    assert np.allclose(w[0], old["0.encoder.weight"][3]) and np.allclose(w[2], old["0.encoder.weight"][0])
    assert np.allclose(w[1], old["0.encoder.weight"].mean(0)) and np.allclose(new["1.decoder.bias"][1],
                                                                               old["1.decoder.bias"].mean())
    assert np.array_equal(new["1.decoder.weight"], w) and np.array_equal(new["0.encoder_dp.emb.weight"], w)
    assert decode_spec_tokens(["xxmaj", "text"]) == ["Text"]
    assert decode_spec_tokens(["xxup", "text"]) == ["TEXT"]
    assert decode_spec_tokens(["xxrep", "3", "a", "b"]) == ["aaa", "b"]
    assert decode_spec_tokens(["xxwrep", "3", "word"]) == ["word"] * 3


def test_pretrained_weights_are_matched_to_the_vocabulary_and_frozen(lm_dls, rng):
    nnx.manual_seed(5)
    source = language_model_learner(lm_dls, config=LM_CONFIG, verbose=False)
    weights = {k: v.numpy().copy() for k, v in source.model.state_dict().items()}
    itos = list(lm_dls.text_vocab.itos)
    order = rng.permutation(len(itos))  # the same tokens in another order: rows must follow their tokens
    shuffled = {**weights, "0.encoder.weight": weights["0.encoder.weight"][order],
                "1.decoder.bias": weights["1.decoder.bias"][order]}
    learn = language_model_learner(lm_dls, config=LM_CONFIG, verbose=False, pretrained_weights=shuffled,
                                   pretrained_vocab=[itos[i] for i in order])
    loaded = learn.model.state_dict()
    assert all(np.allclose(loaded[k].numpy(), weights[k]) for k in weights)
    assert learn.frozen_idx == len(learn.opt.param_groups) - 1
