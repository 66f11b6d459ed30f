"""fastai's AWD-LSTM (Merity et al., https://arxiv.org/abs/1708.02182): an embedding with whole-word dropout, a stack
of one-layer LSTMs whose hidden-to-hidden matrices are weight-dropped, and dropout masks that stay the same along the
sequence. The hidden state is carried from batch to batch (detached), as the LM loader's contiguous streams expect;
reset() zeroes it. Names, defaults and state-dict keys are fastai v2's (fastai/text/models/awdlstm.py)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ... import _tensor_factories as factories
from ... import nn
from ..._functions import bernoulli
from ...nn import functional as F
from ...tensor import Tensor

__all__ = ["dropout_mask", "RNNDropout", "WeightDropout", "EmbeddingDropout", "AWD_LSTM", "awd_lstm_lm_split",
           "awd_lstm_lm_config", "awd_lstm_clas_split", "awd_lstm_clas_config", "awd_lstm_small_config"]


def _check_p(p: Any, name: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    return float(p)


def dropout_mask(x: Tensor, sz: Iterable[int], p: float) -> Tensor:
    """A mask of x's dtype and device, of shape sz, holding 0 with probability p and 1/(1-p) elsewhere (all zeros
    when p is 1), so that x * mask keeps the expected value."""
    p = _check_p(p, "p")
    shape = tuple(int(s) for s in sz)
    if p == 1:
        return factories.zeros(shape, dtype=x.dtype, device=x.device)
    keep = factories.full(shape, 1.0 - p, dtype=x.dtype, device=x.device)
    return bernoulli(keep) / (1.0 - p)


class RNNDropout(nn.Module):
    """Dropout with probability p whose mask is the same at every step of the sequence: one mask per (batch row,
    feature) of an (N, L, ...) input, broadcast over L (dim 1)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p(p, "p")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * dropout_mask(x.detach(), (x.shape[0], 1, *x.shape[2:]), self.p)


class WeightDropout(nn.Module):
    """Wraps `module` (an LSTM) and drops entries of its weights named in layer_names (the hidden-to-hidden matrix
    by default) with probability weight_p at each training forward. The trained parameter is `<name>_raw` on this
    wrapper; the wrapped module's `<name>` becomes a plain tensor, recomputed from it before every forward (dropped
    in training, a copy in eval), which the recurrent layer reads at call time, so gradients reach the raw weight."""

    def __init__(self, module: nn.Module, weight_p: float, layer_names: str | Iterable[str] = "weight_hh_l0") -> None:
        super().__init__()
        self.module, self.weight_p = module, _check_p(weight_p, "weight_p")
        self.layer_names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
        for layer in self.layer_names:
            w = getattr(self.module, layer, None)
            if not isinstance(w, nn.Parameter):
                raise ValueError(f"WeightDropout: {type(module).__name__} has no parameter named {layer!r}")
            delattr(self.module, layer)
            self.register_parameter(f"{layer}_raw", nn.Parameter(w.detach()))
            setattr(self.module, layer, w.detach().clone())

    def _setweights(self) -> None:
        """Put the (dropped, in training) raw weights on the wrapped module."""
        for layer in self.layer_names:
            raw_w = getattr(self, f"{layer}_raw")
            w = F.dropout(raw_w, p=self.weight_p, training=True) if self.training else raw_w.clone()
            setattr(self.module, layer, w)

    def forward(self, *args: Any) -> Any:
        self._setweights()
        return self.module(*args)

    def reset(self) -> None:
        """The raw weights (undropped) back on the module, and the module's own reset if it has one."""
        for layer in self.layer_names:
            setattr(self.module, layer, getattr(self, f"{layer}_raw").detach().clone())
        if hasattr(self.module, "reset"):
            self.module.reset()


class EmbeddingDropout(nn.Module):
    """Looks words up in emb's weight after dropping whole rows (words) with probability embed_p in training, the
    kept rows scaled by 1/(1-embed_p); `scale` multiplies the whole matrix when given."""

    def __init__(self, emb: nn.Embedding, embed_p: float) -> None:
        super().__init__()
        self.emb, self.embed_p = emb, _check_p(embed_p, "embed_p")

    def forward(self, words: Tensor, scale: float | None = None) -> Tensor:
        weight = self.emb.weight
        if self.training and self.embed_p != 0:
            masked_embed = weight * dropout_mask(weight.detach(), (weight.shape[0], 1), self.embed_p)
        else:
            masked_embed = weight
        if scale:
            masked_embed = masked_embed * scale
        return F.embedding(words, masked_embed, self.emb.padding_idx, self.emb.max_norm, self.emb.norm_type,
                           self.emb.scale_grad_by_freq, self.emb.sparse)


class AWD_LSTM(nn.Module):  # noqa: N801 (fastai's name)
    """AWD_LSTM(vocab_sz, emb_sz=400, n_hid=1152, n_layers=3, pad_token=1, hidden_p=0.2, input_p=0.6, embed_p=0.1,
    weight_p=0.5, bidir=False): embedding (emb_sz, rows uniform in +-0.1) -> EmbeddingDropout(embed_p) ->
    RNNDropout(input_p) -> n_layers one-layer batch-first LSTMs (n_hid features, the last emb_sz so the decoder can
    tie its weight to the embedding; halved per direction when bidir), each WeightDropout(weight_p) and followed but
    the last by RNNDropout(hidden_p). forward(inp (bs, seq) token ids, or (bs, seq, emb_sz) with from_embeds) ->
    the last layer's output (bs, seq, emb_sz). Each layer's (h, c) is kept, detached, for the next batch; a batch of
    another size keeps the first rows (or adds zero rows); reset() zeroes them."""

    initrange = 0.1

    def __init__(self, vocab_sz: int, emb_sz: int = 400, n_hid: int = 1152, n_layers: int = 3, pad_token: int = 1,
                 hidden_p: float = 0.2, input_p: float = 0.6, embed_p: float = 0.1, weight_p: float = 0.5,
                 bidir: bool = False) -> None:
        super().__init__()
        for value, name in ((vocab_sz, "vocab_sz"), (emb_sz, "emb_sz"), (n_hid, "n_hid"), (n_layers, "n_layers")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AWD_LSTM: {name} must be a positive integer, got {value!r}")
        self.emb_sz, self.n_hid, self.n_layers, self.pad_token = emb_sz, n_hid, n_layers, pad_token
        self.bs = 1
        self.n_dir = 2 if bidir else 1
        self.encoder = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_token)
        self.encoder_dp = EmbeddingDropout(self.encoder, embed_p)
        self.rnns = nn.ModuleList([self._one_rnn(emb_sz if layer == 0 else n_hid, self._n_out(layer), bidir, weight_p,
                                                 layer) for layer in range(n_layers)])
        nn.init.uniform_(self.encoder.weight, -self.initrange, self.initrange)
        self.input_dp = RNNDropout(input_p)
        self.hidden_dps = nn.ModuleList([RNNDropout(hidden_p) for _ in range(n_layers)])
        self.reset()

    def _n_out(self, layer: int) -> int:
        """Features per direction of a layer's output (emb_sz for the last, n_hid for the others)."""
        return (self.n_hid if layer != self.n_layers - 1 else self.emb_sz) // self.n_dir

    def forward(self, inp: Tensor, from_embeds: bool = False) -> Tensor:
        if not isinstance(inp, Tensor) or inp.dim() != (3 if from_embeds else 2):
            raise ValueError(f"AWD_LSTM: inp must be a {'(bs, seq, emb_sz)' if from_embeds else '(bs, seq)'} "
                             f"Tensor, got {getattr(inp, 'shape', type(inp).__name__)}")
        bs = inp.shape[0]
        if bs != self.bs:
            self._change_hidden(bs)
        output = self.input_dp(inp if from_embeds else self.encoder_dp(inp))
        new_hidden = []
        for layer, (rnn, hid_dp) in enumerate(zip(self.rnns, self.hidden_dps)):
            output, new_h = rnn(output, self.hidden[layer])
            new_hidden.append(new_h)
            if layer != self.n_layers - 1:
                output = hid_dp(output)
        self.hidden = [(h.detach(), c.detach()) for h, c in new_hidden]
        return output

    def _change_hidden(self, bs: int) -> None:
        self.hidden = [self._change_one_hidden(layer, bs) for layer in range(self.n_layers)]
        self.bs = bs

    def _one_rnn(self, n_in: int, n_out: int, bidir: bool, weight_p: float, layer: int) -> WeightDropout:
        """One of the inner recurrent layers: a weight-dropped one-layer LSTM."""
        rnn = nn.LSTM(n_in, n_out, 1, batch_first=True, bidirectional=bidir)
        return WeightDropout(rnn, weight_p)

    def _one_hidden(self, layer: int) -> tuple[Tensor, Tensor]:
        """A zero (h, c) of one layer for the current batch size."""
        weight = self.encoder.weight
        shape = (self.n_dir, self.bs, self._n_out(layer))
        return (factories.zeros(shape, dtype=weight.dtype, device=weight.device),
                factories.zeros(shape, dtype=weight.dtype, device=weight.device))

    def _change_one_hidden(self, layer: int, bs: int) -> tuple[Tensor, Tensor]:
        h, c = self.hidden[layer]
        if self.bs < bs:
            shape = (self.n_dir, bs - self.bs, self._n_out(layer))
            return tuple(factories.cat([s, factories.zeros(shape, dtype=s.dtype, device=s.device)], 1)
                         for s in (h, c))
        if self.bs > bs:
            return (h[:, :bs].contiguous(), c[:, :bs].contiguous())
        return (h, c)

    def reset(self) -> None:
        """Zero the hidden states (and reset the weight-dropped layers)."""
        for rnn in self.rnns:
            if hasattr(rnn, "reset"):
                rnn.reset()
        self.hidden = [self._one_hidden(layer) for layer in range(self.n_layers)]


def _params(*modules: nn.Module) -> list[nn.Parameter]:
    """The parameters of modules, each once (the embedding is shared by encoder and encoder_dp, and tied to the
    decoder), in order."""
    seen, out = set(), []
    for module in modules:
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def awd_lstm_lm_split(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups of a language model for discriminative rates: each LSTM layer (with its dropout), then the
    embedding with the decoder."""
    groups = [_params(rnn, dp) for rnn, dp in zip(model[0].rnns, model[0].hidden_dps)]
    return groups + [_params(model[0].encoder, model[0].encoder_dp, model[1])]


def awd_lstm_clas_split(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups of a classifier: the embedding, each LSTM layer, then the pooling head."""
    encoder = model[0].module
    groups = [_params(encoder.encoder, encoder.encoder_dp)]
    groups += [_params(rnn, dp) for rnn, dp in zip(encoder.rnns, encoder.hidden_dps)]
    return groups + [_params(model[1])]


awd_lstm_lm_config: dict[str, Any] = dict(emb_sz=400, n_hid=1152, n_layers=3, pad_token=1, bidir=False, output_p=0.1,
                                          hidden_p=0.15, input_p=0.25, embed_p=0.02, weight_p=0.2, tie_weights=True,
                                          out_bias=True)

awd_lstm_clas_config: dict[str, Any] = dict(emb_sz=400, n_hid=1152, n_layers=3, pad_token=1, bidir=False,
                                            output_p=0.4, hidden_p=0.3, input_p=0.4, embed_p=0.05, weight_p=0.5)

# nnx's small configuration (not fastai's) for tests and the demo: the sizes only; merge it into either config,
# e.g. {**awd_lstm_lm_config, **awd_lstm_small_config}.
awd_lstm_small_config: dict[str, Any] = dict(emb_sz=64, n_hid=128, n_layers=2)
