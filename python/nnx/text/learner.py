"""fastai's text Learners (fastai/text/learner.py, fastai/callback/rnn.py): language_model_learner (an AWD-LSTM with
a tied decoder, flattened cross-entropy, accuracy and perplexity, predict() that writes text, save_encoder) and
text_classifier_learner (the same encoder under a pooling head, load_encoder, freeze_to(-2) and gradual unfreezing
with discriminative rates: ULMFiT). The callbacks reset the carried hidden state where fastai does and add the AR
and TAR penalties of the AWD-LSTM paper to the training loss."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import nn
from .._grad_mode import no_grad
from ..learner import Callback, Learner
from ..learner.inference import loss_activation, split_batch
from ..losses import CrossEntropyLossFlat  # (moved to nnx.losses; re-exported here, as before)
from ..metrics import Metric, accuracy, to_numpy
from ..random import numpy_generator
from ..serialization import load as _load
from ..serialization import save as _save
from ..tensor import Tensor
from .core import BOS, PAD, TK_MAJ, TK_REP, TK_UP, TK_WREP, UNK
from .models.awdlstm import AWD_LSTM
from .models.core import get_language_model, get_text_classifier, model_meta
from .vocab import Vocab

__all__ = ["CrossEntropyLossFlat", "Perplexity", "ModelResetter", "RNNCallback", "RNNRegularizer", "rnn_cbs",
           "match_embeds", "clean_raw_keys", "decode_spec_tokens", "TextLearner", "LMLearner",
           "language_model_learner", "text_classifier_learner"]


class Perplexity(Metric):
    """fastai's Perplexity: exp of the mean cross-entropy over every validation token (an average of the
    per-token losses over the whole set, then exp; computed here from the scores and targets)."""

    name = "perplexity"

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def accumulate(self, pred: Any, targ: Any) -> None:
        scores = to_numpy(pred).astype(np.float64)
        scores = scores.reshape(-1, scores.shape[-1])
        targ = to_numpy(targ).reshape(-1).astype(np.int64)
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted[np.arange(len(targ)), targ] - np.log(np.exp(shifted).sum(axis=1))
        self.total -= float(log_probs.sum())
        self.count += len(targ)

    @property
    def value(self) -> float:
        return float(np.exp(self.total / self.count)) if self.count else float("nan")


class ModelResetter(Callback):
    """Resets the model's carried hidden state before training, before validation and after the fit."""

    def before_train(self) -> None:
        """Reset before the training phase."""
        self.learn.model.reset()

    def before_validate(self) -> None:
        """Reset before validation."""
        self.learn.model.reset()

    def after_fit(self) -> None:
        """Reset after the fit."""
        self.learn.model.reset()


class RNNCallback(Callback):
    """Splits the model's (output, raw output, dropped output) so that the loss and metrics see the first; the
    other two stay here (learn.rnn.raw_out, learn.rnn.out) for RNNRegularizer."""

    raw_out: Any = None
    out: Any = None

    @property
    def name(self) -> str:
        return "rnn"

    def after_pred(self) -> None:
        """Keep the first output as learn.pred, the other two here."""
        pred = self.learn.pred
        if isinstance(pred, (tuple, list)) and len(pred) == 3:
            self.learn.pred, self.raw_out, self.out = (o[-1] if isinstance(o, (tuple, list)) else o for o in pred)


class RNNRegularizer(Callback):
    """Adds alpha * mean(out^2) (activation regularization, on the last layer's dropped output) and beta * mean of
    the squared step-to-step change of the raw output (temporal activation regularization) to the training loss.
    The recorded loss is the plain one (as fastai: the penalty is added after the loss is read)."""

    order = RNNCallback.order + 1
    run_valid = False

    def __init__(self, alpha: float = 0.0, beta: float = 0.0) -> None:
        self.alpha, self.beta = float(alpha), float(beta)

    @property
    def name(self) -> str:
        return "rnn_regularizer"

    def after_loss(self) -> None:
        """Add the penalties to learn.loss_grad (training only)."""
        learn = self.learn
        rnn = getattr(learn, "rnn", None)
        if not learn.training or rnn is None or rnn.out is None or learn.loss_grad is None:
            return
        if self.alpha:
            learn.loss_grad = learn.loss_grad + self.alpha * rnn.out.float().pow(2).mean()
        if self.beta:
            h = rnn.raw_out
            if h.shape[1] > 1:
                learn.loss_grad = learn.loss_grad + self.beta * (h[:, 1:] - h[:, :-1]).float().pow(2).mean()


def rnn_cbs(alpha: float = 0.0, beta: float = 0.0) -> list[Callback]:
    """The callbacks a recurrent model trains with: ModelResetter, RNNCallback, and RNNRegularizer when alpha or
    beta is nonzero."""
    reg = [RNNRegularizer(alpha=alpha, beta=beta)] if alpha or beta else []
    return [ModelResetter(), RNNCallback()] + reg


def _vocab_list(vocab: Any) -> list[str]:
    if isinstance(vocab, Vocab):
        return list(vocab.itos)
    if isinstance(vocab, (str, os.PathLike)):
        return list(Vocab.load(vocab).itos)
    return [str(t) for t in vocab]


def match_embeds(old_wgts: dict[str, Any], old_vocab: Any, new_vocab: Any) -> dict[str, Any]:
    """A language model's state dict (fastai's keys: 0.encoder.weight, 1.decoder.bias, ...) made to fit new_vocab:
    each new token's embedding row (and decoder bias) is the old one of the same token, or the mean of the old rows
    for tokens the old vocabulary lacks. Tied copies (encoder_dp, decoder weight) get the new matrix too."""
    old_itos, new_itos = _vocab_list(old_vocab), _vocab_list(new_vocab)
    wgts = to_numpy(old_wgts["0.encoder.weight"])
    bias = old_wgts.get("1.decoder.bias")
    bias = None if bias is None else to_numpy(bias)
    old_o2i = {w: i for i, w in enumerate(old_itos)}
    idx = np.array([old_o2i.get(w, -1) for w in new_itos], dtype=np.int64)
    known = idx >= 0
    new_wgts = np.empty((len(new_itos), wgts.shape[1]), dtype=wgts.dtype)
    new_wgts[known] = wgts[idx[known]]
    new_wgts[~known] = wgts.mean(0)
    out = dict(old_wgts)
    out["0.encoder.weight"] = new_wgts
    if "0.encoder_dp.emb.weight" in out:
        out["0.encoder_dp.emb.weight"] = new_wgts.copy()
    out["1.decoder.weight"] = new_wgts.copy()
    if bias is not None:
        new_bias = np.empty(len(new_itos), dtype=bias.dtype)
        new_bias[known] = bias[idx[known]]
        new_bias[~known] = bias.mean(0)
        out["1.decoder.bias"] = new_bias
    return out


def clean_raw_keys(wgts: dict[str, Any]) -> dict[str, Any]:
    """A state dict without the copies of weight-dropped matrices (`...module.weight_hh_l0` beside
    `...weight_hh_l0_raw`) that some saved fastai models hold."""
    keys = list(wgts.keys())
    out = dict(wgts)
    for k in keys:
        parts = k.split(".")
        if len(parts) >= 2 and parts[-2] == "module" and ".".join(parts[:-2] + [parts[-1] + "_raw"]) in wgts:
            del out[k]
    return out


def decode_spec_tokens(tokens: Sequence[str]) -> list[str]:
    """The tokens with the special-token rules undone: xxmaj w -> W, xxup w -> W (all caps), xxrep n c -> c * n,
    xxwrep n w -> w repeated n times."""
    new_toks, rule, arg = [], None, None
    for t in tokens:
        if t in (TK_MAJ, TK_UP, TK_REP, TK_WREP):
            rule = t
        elif rule is None:
            new_toks.append(t)
        elif rule == TK_MAJ:
            new_toks.append(t[:1].upper() + t[1:].lower())
            rule = None
        elif rule == TK_UP:
            new_toks.append(t.upper())
            rule = None
        elif arg is None:
            try:
                arg = int(t)
            except ValueError:
                rule = None
        else:
            new_toks.append(t * arg) if rule == TK_REP else new_toks.extend([t] * arg)
            rule, arg = None, None
    return new_toks


class TextLearner(Learner):
    """A Learner for recurrent text models: fastai's momentum (0.8, 0.7, 0.8), ModelResetter, RNNCallback and
    RNNRegularizer(alpha, beta) added; save_encoder/load_encoder move the encoder between a language model and a
    classifier; predict(text) of a classifier returns (label, index, probabilities)."""

    def __init__(self, dls: Any, model: nn.Module, alpha: float = 2.0, beta: float = 1.0,
                 moms: tuple[float, float, float] = (0.8, 0.7, 0.8), **kwargs: Any) -> None:
        super().__init__(dls, model, moms=moms, **kwargs)
        self.add_cbs(rnn_cbs(alpha=alpha, beta=beta))

    def _model_file(self, file):
        file = os.fspath(file)
        if not file.endswith(".pth"):
            file += ".pth"
        if os.path.isabs(file):
            return file
        return os.path.join(self.path or ".", self.model_dir, file)

    def _encoder(self):
        encoder = self.model[0]
        return encoder.module if hasattr(encoder, "module") else encoder

    def save_encoder(self, file: str | os.PathLike[str]) -> str:
        """Write the encoder's (the AWD_LSTM's) state dict to path/model_dir/file.pth; returns the file."""
        file = self._model_file(file)
        os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
        _save(self._encoder().state_dict(), file)
        return file

    def load_encoder(self, file: str | os.PathLike[str], device: Any = None) -> TextLearner:
        """Load an encoder saved by save_encoder (same vocabulary and sizes) and freeze to the last group."""
        wgts = _load(self._model_file(file), map_location=device)
        self._encoder().load_state_dict(clean_raw_keys(wgts))
        self.freeze()
        return self

    def load_pretrained(self, wgts: Any, vocab: Any, model: nn.Module | None = None) -> TextLearner:
        """Load a language model's state dict (a dict, or a file written by nnx.save) trained with vocabulary vocab
        (a Vocab, a list of tokens, or a Vocab file), its embedding matched to this Learner's vocabulary
        (match_embeds); into model (e.g. a classifier's encoder) when given, ignoring keys it lacks. Freezes."""
        if not isinstance(wgts, dict):
            wgts = _load(wgts)
        wgts = match_embeds(wgts, vocab, _text_vocab(self.dls))
        wgts = clean_raw_keys(wgts)
        if model is None:
            self.model.load_state_dict(wgts)
        else:
            # fastai's load_ignore_keys: matched by position (an LM's 0.encoder.* onto a classifier's module.*),
            # the decoder's entries at the end left over.
            own = model.state_dict()
            model.load_state_dict({k1: wgts[k2] for k1, k2 in zip(own.keys(), wgts.keys())}, strict=False)
        self.freeze()
        return self

    def get_preds(self, dl: Any = None, act: Callable[[np.ndarray], np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """(predictions, targets) over dl (the validation loader by default), the model reset first and only its
        first output kept; predictions through act (softmax by default)."""
        dl = self.dls.valid if dl is None else dl
        if dl is None:
            raise ValueError("get_preds needs a DataLoader: dl is None and the Learner has no validation set")
        activation = act if act is not None else loss_activation(self.loss_func)
        self._place_on_device()
        preds, targs = [], []
        was_training = self.model.training
        self.model.eval()
        self.model.reset()
        try:
            with no_grad():
                for batch in dl:
                    xb, yb = split_batch(batch)
                    out = self.model(self._to_batch_device(xb))
                    preds.append(np.array(to_numpy(out[0] if isinstance(out, (tuple, list)) else out)))
                    if yb is not None:
                        targs.append(np.array(to_numpy(yb)))
        finally:
            self.model.train(was_training)
            self.model.reset()
        if not preds:
            raise ValueError("get_preds: the DataLoader yielded no batches")
        return activation(np.concatenate(preds)), (np.concatenate(targs) if targs else None)

    def predict(self, text: Any, batch_size: int = 256) -> Any:  # type: ignore[override]
        """A classifier's prediction for one text: (label, class index, class probabilities)."""
        if not isinstance(text, str):
            raise TypeError(f"predict takes one text (a str), got {type(text).__name__}")
        ids = self.dls.numericalize([text])[0]
        probs, _ = self.get_preds(dl=[(Tensor._wrap(np.asarray(ids, dtype=np.int64)[None]),)])
        index = int(probs[0].argmax())
        classes = getattr(self.dls, "classes", None)
        return (classes[index] if classes else index), index, probs[0]


def _text_vocab(dls):
    vocab = getattr(dls, "text_vocab", None)
    if vocab is None:
        vocab = dls.vocab[0] if isinstance(dls.vocab, (list, tuple)) else dls.vocab
    return vocab


class LMLearner(TextLearner):
    """A TextLearner for a language model, whose predict writes text."""

    def predict(self, text: str, n_words: int = 1, no_unk: bool = True, temperature: float = 1.0,  # type: ignore[override]
                min_p: float | None = None, no_bar: bool = False,
                decoder: Callable[[list[str]], list[str]] = decode_spec_tokens,
                only_last_word: bool = False) -> str:
        """text followed by n_words generated words: each drawn from the model's next-token probabilities (never
        xxunk when no_unk; only those >= min_p when given; sharpened by 1/temperature), the whole text run through
        the model again for each (only_last_word: just the new token, the hidden state carried). Special tokens
        are decoded (decoder) and the tokens joined as the tokenizer joins them. Draws use nnx's random state
        (nnx.manual_seed makes it reproducible)."""
        if not isinstance(text, str):
            raise TypeError(f"predict: text must be a str, got {type(text).__name__}")
        if isinstance(n_words, bool) or not isinstance(n_words, (int, np.integer)) or n_words < 0:
            raise ValueError(f"predict: n_words must be a non-negative integer, got {n_words!r}")
        if not temperature > 0:
            raise ValueError(f"predict: temperature must be positive, got {temperature!r}")
        vocab = _text_vocab(self.dls)
        idxs_all = [int(i) for i in self.dls.numericalize([text])[0]]
        unk_idx = vocab.stoi.get(UNK) if no_unk else None
        rng = numpy_generator()
        was_training = self.model.training
        self._place_on_device()
        self.model.eval()
        self.model.reset()
        feed = idxs_all
        try:
            with no_grad():
                for _ in range(n_words):
                    if not only_last_word:
                        self.model.reset()
                    out = self.model(self._to_batch_device(Tensor._wrap(np.asarray(feed, dtype=np.int64)[None])))
                    logits = to_numpy(out[0] if isinstance(out, (tuple, list)) else out)[0, -1].astype(np.float64)
                    res = np.exp(logits - logits.max())
                    res /= res.sum()
                    if unk_idx is not None:
                        res[unk_idx] = 0.0
                    if min_p is not None:
                        if (res >= min_p).sum() == 0:
                            import warnings
                            warnings.warn(f"There is no item with probability >= {min_p}, try a lower value.",
                                          stacklevel=2)
                        else:
                            res[res < min_p] = 0.0
                    if temperature != 1.0:
                        res = res ** (1.0 / temperature)
                    idx = int(rng.choice(len(res), p=res / res.sum()))
                    idxs_all.append(idx)
                    feed = [idx] if only_last_word else idxs_all
        finally:
            self.model.train(was_training)
            self.model.reset()
        tokens = [vocab.itos[i] for i in idxs_all if vocab.itos[i] not in (BOS, PAD)]
        if getattr(self.dls, "backwards", False):
            tokens = tokens[::-1]
        tokenizer = getattr(self.dls, "tokenizer", None)
        words = decoder(tokens)
        return tokenizer.decode(words) if tokenizer is not None else " ".join(words)


def language_model_learner(dls: Any, arch: Callable[..., nn.Module] = AWD_LSTM, config: dict[str, Any] | None = None,
                           drop_mult: float = 1.0, pretrained_weights: Any = None, pretrained_vocab: Any = None,
                           metrics: Any = None, **kwargs: Any) -> LMLearner:
    """fastai's language_model_learner: an LMLearner over get_language_model(arch, len(vocab), config, drop_mult)
    with CrossEntropyLossFlat, the arch's LM splitter (each LSTM layer, then embedding + decoder) and metrics
    [accuracy, Perplexity()] by default. pretrained_weights (a state dict, or a file written by nnx.save) trained
    with pretrained_vocab (default: this vocabulary) are loaded with match_embeds and the model frozen to its last
    group, as fastai does with its WikiText-103 weights (nothing is downloaded here). kwargs go to Learner."""
    vocab = _text_vocab(dls)
    model = get_language_model(arch, len(vocab), config=config, drop_mult=drop_mult)
    meta = model_meta[arch]
    if metrics is None:
        metrics = [accuracy, Perplexity()]
    kwargs.setdefault("loss_func", CrossEntropyLossFlat())
    kwargs.setdefault("splitter", meta["split_lm"])
    learn = LMLearner(dls, model, metrics=metrics, **kwargs)
    if pretrained_weights is not None:
        learn.load_pretrained(pretrained_weights, vocab if pretrained_vocab is None else pretrained_vocab)
    return learn


def text_classifier_learner(dls: Any, arch: Callable[..., nn.Module] = AWD_LSTM, seq_len: int = 72,
                            config: dict[str, Any] | None = None, drop_mult: float = 0.5, n_out: int | None = None,
                            lin_ftrs: Sequence[int] | None = None, ps: Sequence[float] | None = None,
                            max_len: int | None = 72 * 20, y_range: tuple[float, float] | None = None,
                            metrics: Any = None, **kwargs: Any) -> TextLearner:
    """fastai's text_classifier_learner: a TextLearner over get_text_classifier(arch, len(vocab), n_out (dls.c),
    seq_len, config, drop_mult, lin_ftrs, ps, max_len, y_range) with the arch's classifier splitter (embedding,
    each LSTM layer, the head) and metrics [accuracy] by default. Load a fine-tuned language model's encoder with
    learn.load_encoder(name) (which freezes to the head), then freeze_to(-2), freeze_to(-3), unfreeze() with
    fit_one_cycle(..., slice(lo, hi)) as ULMFiT does. kwargs go to Learner."""
    vocab = _text_vocab(dls)
    if n_out is None:
        n_out = getattr(dls, "c", None)
    if not n_out:
        raise ValueError("n_out is not given and could not be inferred from dls (no dls.c)")
    pad_idx = getattr(dls, "pad_idx", 1)
    model = get_text_classifier(arch, len(vocab), n_out, seq_len=seq_len, config=config, drop_mult=drop_mult,
                                lin_ftrs=lin_ftrs, ps=ps, pad_idx=pad_idx, max_len=max_len, y_range=y_range)
    meta = model_meta[arch]
    if metrics is None:
        metrics = [accuracy]
    kwargs.setdefault("splitter", meta["split_clas"])
    return TextLearner(dls, model, metrics=metrics, **kwargs)
