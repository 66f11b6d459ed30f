"""fastai's text model heads over an encoder (fastai/text/models/core.py): LinearDecoder and get_language_model for a
language model, SentenceEncoder, masked_concat_pool, PoolingLinearClassifier and get_text_classifier for a
classifier, SequentialRNN to pass reset() down."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ... import _tensor_factories as factories
from ... import nn
from ...tabular.model import LinBnDrop, SigmoidRange
from ...tensor import Tensor
from .awdlstm import (
    AWD_LSTM,
    RNNDropout,
    awd_lstm_clas_config,
    awd_lstm_clas_split,
    awd_lstm_lm_config,
    awd_lstm_lm_split,
)

__all__ = ["LinearDecoder", "SequentialRNN", "get_language_model", "SentenceEncoder", "masked_concat_pool",
           "PoolingLinearClassifier", "get_text_classifier", "model_meta"]

# Per architecture (fastai's _model_meta): the config entry giving the encoder's output size, the default configs and
# the splitters (no pretrained URLs: nothing is downloaded).
model_meta: dict[Any, dict[str, Any]] = {
    AWD_LSTM: {"hid_name": "emb_sz", "config_lm": awd_lstm_lm_config, "split_lm": awd_lstm_lm_split,
               "config_clas": awd_lstm_clas_config, "split_clas": awd_lstm_clas_split},
}


def _meta(arch):
    if arch not in model_meta:
        raise ValueError(f"no model_meta for architecture {getattr(arch, '__name__', arch)!r}: "
                         f"known are {[getattr(a, '__name__', a) for a in model_meta]}")
    return model_meta[arch]


class LinearDecoder(nn.Module):
    """The language model's head: RNNDropout(output_p) then a Linear n_hid -> n_out (weights uniform in +-0.1, bias
    zero), its weight tied to tie_encoder's (an Embedding: the same Parameter) when given. forward(input) ->
    (logits, input, dropped input): the last two for the AR/TAR regularizer."""

    initrange = 0.1

    def __init__(self, n_out: int, n_hid: int, output_p: float = 0.1, tie_encoder: nn.Module | None = None,
                 bias: bool = True) -> None:
        super().__init__()
        self.decoder = nn.Linear(n_hid, n_out, bias=bias)
        nn.init.uniform_(self.decoder.weight, -self.initrange, self.initrange)
        self.output_dp = RNNDropout(output_p)
        if bias:
            nn.init.zeros_(self.decoder.bias)
        if tie_encoder is not None:
            if tuple(tie_encoder.weight.shape) != (n_out, n_hid):
                raise ValueError(f"LinearDecoder: tie_encoder's weight is {tuple(tie_encoder.weight.shape)}, the "
                                 f"decoder needs ({n_out}, {n_hid})")
            self.decoder.weight = tie_encoder.weight

    def forward(self, input: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        dp_inp = self.output_dp(input)
        return self.decoder(dp_inp), input, dp_inp


class SequentialRNN(nn.Sequential):
    """A Sequential whose reset() resets every child that has one."""

    def reset(self) -> None:
        """Reset every child that can be reset (the encoder's hidden state)."""
        for child in self.children():
            if hasattr(child, "reset"):
                child.reset()


def _scaled_config(config, default, drop_mult):
    config = dict(default if config is None else config)
    for key in config:
        if key.endswith("_p"):
            config[key] *= drop_mult
    return config


def get_language_model(arch: Callable[..., nn.Module], vocab_sz: int, config: dict[str, Any] | None = None,
                       drop_mult: float = 1.0) -> SequentialRNN:
    """SequentialRNN(arch(vocab_sz, **config), LinearDecoder): config defaults to the arch's LM config, every `*_p`
    dropout multiplied by drop_mult; tie_weights, output_p and out_bias go to the decoder, init (a function) is
    applied to the model when given."""
    meta = _meta(arch)
    config = _scaled_config(config, meta["config_lm"], drop_mult)
    tie_weights, output_p, out_bias = (config.pop(k) for k in ("tie_weights", "output_p", "out_bias"))
    init = config.pop("init", None)
    encoder = arch(vocab_sz, **config)
    enc = encoder.encoder if tie_weights else None
    decoder = LinearDecoder(vocab_sz, config[meta["hid_name"]], output_p, tie_encoder=enc, bias=out_bias)
    model = SequentialRNN(encoder, decoder)
    return model if init is None else model.apply(init)


def _pad_tensor(t, bs):
    """t with zero rows appended up to bs rows."""
    if t.shape[0] < bs:
        return factories.cat([t, factories.zeros((bs - t.shape[0], *t.shape[1:]), dtype=t.dtype, device=t.device)])
    return t


class SentenceEncoder(nn.Module):
    """Runs `module` (an AWD_LSTM) over whole texts bptt tokens at a time, its state reset first and carried along;
    the rows whose text has not begun yet (pad_first loaders sort each batch longest first and put whole chunks of
    padding first) are left out of that chunk, their outputs zero.
    Only the chunks that start within the last max_len tokens are kept (the earlier ones only set the state, which
    the encoder detaches between chunks). forward(input (bs, sl)) ->
    (outputs (bs, kept, emb), padding mask (bs, kept))."""

    def __init__(self, bptt: int, module: nn.Module, pad_idx: int = 1, max_len: int | None = None) -> None:
        super().__init__()
        if isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1:
            raise ValueError(f"SentenceEncoder: bptt must be a positive integer, got {bptt!r}")
        self.bptt, self.module, self.pad_idx, self.max_len = bptt, module, pad_idx, max_len

    def reset(self) -> None:
        """Reset the wrapped module's hidden state."""
        if hasattr(self.module, "reset"):
            self.module.reset()

    def forward(self, input: Tensor) -> tuple[Tensor, Tensor]:
        bs, sl = input.shape
        self.reset()
        mask = input == self.pad_idx
        outs, masks = [], []
        started = ~mask
        for i in range(0, sl, self.bptt):
            # The rows whose text has begun by the end of this chunk: a prefix of a batch sorted longest first with
            # whole padding chunks first. (fastai counts the rows not padding at step i, which is not a prefix when
            # a longer text's remainder padding falls there: a text then ran on another row's state.)
            end = min(i + self.bptt, sl)
            real_bs = int((started[:, :end].long().sum(dim=1) > 0).long().sum().item())
            if real_bs == 0:  # no row has begun: nothing to read yet
                continue
            o = self.module(input[:real_bs, i:end])
            if self.max_len is None or sl - i <= self.max_len:
                outs.append(o)
                masks.append(mask[:, i:end])
        outs = factories.cat([_pad_tensor(o, bs) for o in outs], 1)
        mask = factories.cat(masks, 1)
        return outs, mask


def masked_concat_pool(output: Tensor, mask: Tensor, bptt: int) -> Tensor:
    """[last real output, max over the real steps, mean over the real steps] of output (bs, sl, n), concatenated to
    (bs, 3n); mask (bs, sl) is True at padding. bptt is fastai's argument, unused here (see below)."""
    lens = output.shape[1] - mask.long().sum(dim=1)
    avg_pool = output.masked_fill(mask[:, :, None], 0).sum(dim=1)
    avg_pool = avg_pool / lens.to(avg_pool.dtype)[:, None]
    max_pool = output.masked_fill(mask[:, :, None], -float("inf")).max(dim=1)[0]
    # The last real step: fastai takes -(padding in the last bptt steps) - 1, which lands on padding when a short
    # text's leading padding chunks reach into those steps (a width not a multiple of bptt); the position of the
    # last non-padding token is what it means.
    steps = factories.arange(0, output.shape[1], device=output.device)
    last_idx = ((~mask).long() * steps[None, :]).max(dim=1)[0]
    last = output[factories.arange(0, output.shape[0], device=output.device), last_idx]
    return factories.cat([last, max_pool, avg_pool], 1)


class PoolingLinearClassifier(nn.Module):
    """The classifier's head: masked_concat_pool of the SentenceEncoder's (outputs, mask), then LinBnDrop blocks
    (BatchNorm1d, Dropout(p), Linear, ReLU but the last) through dims, SigmoidRange(*y_range) when given.
    forward((out, mask)) -> (logits, out, out)."""

    def __init__(self, dims: Sequence[int], ps: Sequence[float], bptt: int,
                 y_range: tuple[float, float] | None = None) -> None:
        super().__init__()
        if len(ps) != len(dims) - 1:
            raise ValueError("Number of layers and dropout values do not match.")
        acts = [nn.ReLU(inplace=True) for _ in range(len(dims) - 2)] + [None]
        layers = [LinBnDrop(i, o, p=p, act=a) for i, o, p, a in zip(dims[:-1], dims[1:], ps, acts)]
        if y_range is not None:
            layers.append(SigmoidRange(*y_range))
        self.layers = nn.Sequential(*layers)
        self.bptt = bptt

    def forward(self, input: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        out, mask = input
        x = masked_concat_pool(out, mask, self.bptt)
        x = self.layers(x)
        return x, out, out


def get_text_classifier(arch: Callable[..., nn.Module], vocab_sz: int, n_class: int, seq_len: int = 72,
                        config: dict[str, Any] | None = None, drop_mult: float = 1.0,
                        lin_ftrs: Sequence[int] | None = None, ps: Sequence[float] | None = None, pad_idx: int = 1,
                        max_len: int | None = 72 * 20, y_range: tuple[float, float] | None = None) -> SequentialRNN:
    """SequentialRNN(SentenceEncoder(seq_len, arch(vocab_sz, **config)), PoolingLinearClassifier): config defaults to
    the arch's classifier config (`*_p` times drop_mult); the head's sizes are [3 * emb_sz, *lin_ftrs (50),
    n_class] with dropouts [output_p, *ps (0.1 each)]."""
    meta = _meta(arch)
    config = _scaled_config(config, meta["config_clas"], drop_mult)
    if lin_ftrs is None:
        lin_ftrs = [50]
    if ps is None:
        ps = [0.1] * len(lin_ftrs)
    layers = [config[meta["hid_name"]] * 3] + list(lin_ftrs) + [n_class]
    ps = [config.pop("output_p")] + list(ps)
    init = config.pop("init", None)
    encoder = SentenceEncoder(seq_len, arch(vocab_sz, **config), pad_idx=pad_idx, max_len=max_len)
    model = SequentialRNN(encoder, PoolingLinearClassifier(layers, ps, bptt=seq_len, y_range=y_range))
    return model if init is None else model.apply(init)
