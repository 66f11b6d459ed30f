"""rnn family: one layer and direction of an LSTM, GRU or Elman RNN over a whole sequence, as one autograd Function.

Forward: the input projection of every step as ONE GEMM (x (L*N, H_in) @ W_ih^T + bias through the linear kernel),
then one native call that runs every step: the recurrent GEMM into the step's gates and the fused cell kernel
(csrc/core/rnn.h: the gate nonlinearities and the state update in one pass), with no Python between steps. Backward
(BPTT): one native call for every step's fused cell backward and d_gates @ W_hh; then W_ih, W_hh, the biases and x
from single GEMMs over all steps. The sequence's buffers are allocated once per call. Gate order and formulas are
PyTorch's.
"""
from __future__ import annotations

from typing import Any

from .. import native
from ..autograd import Function
from ..tensor import Tensor
from ._checks import check_float
from ._common import Array

# mode -> gates per hidden unit
MODES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNLayerFunction(Function):
    """One layer, one direction. Returns one array `buf` (S, N, H) holding the states of every step (h0 and the
    outputs; for LSTM then c0 and every c), laid out so that the previous step's state is always one row away:

        hs = buf[:L + 1]  forward: h0 at 0, step t's h at t + 1;  reverse (t from L - 1 down to 0): h_t at t, h0 at L
        cs = buf[L + 1:]  (LSTM only) the same for c.

    layer_rows(L, reverse, lstm) says which rows are the output, h_n and c_n. The rows holding h0 and c0 get no
    gradient (h0's and c0's own gradients are the forward arguments')."""

    saves_output = True  # backward reads the states from the output

    @staticmethod
    def forward(ctx: Any, x: Array, h0: Array, c0: Array | None, w_ih: Array, w_hh: Array, b_ih: Array | None,
                b_hh: Array | None, mode: str, reverse: bool) -> Array:
        k = native.for_array(x)
        L, N, _ = x.shape
        H = w_hh.shape[1]
        lstm, gru = mode == "LSTM", mode == "GRU"
        device = k.device_index(x)
        x2 = k.contiguous(x).reshape(L * N, x.shape[2])
        w_hh = k.contiguous(w_hh)
        if gru:
            bias = b_ih  # b_hh's n part is multiplied by r: the cell kernel adds it
        else:
            bias = b_hh if b_ih is None else b_ih if b_hh is None else b_ih + b_hh
        proj = k.linear_forward(x2, w_ih, bias)[0].reshape(L, N, w_ih.shape[0])  # every step's x @ W_ih^T + bias
        buf = k.empty((2 * (L + 1) if lstm else L + 1, N, H), x.dtype, device)
        first = L if reverse else 0
        buf[first][...] = h0
        nonlinearity = "relu" if mode == "RNN_RELU" else "tanh"
        if lstm:
            buf[L + 1 + first][...] = c0
            k.lstm_sequence_forward(proj, w_hh, buf, reverse)
            act = proj  # the activated gates replaced the pre-activations
        elif gru:
            act = k.empty((L, N, 4 * H), x.dtype, device)
            b_hh = None if b_hh is None else k.contiguous(b_hh)
            k.gru_sequence_forward(proj, w_hh, b_hh, buf, act, k.empty((N, 3 * H), x.dtype, device), reverse)
        else:
            k.rnn_sequence_forward(proj, w_hh, buf, nonlinearity, reverse)
            act = None
        if ctx.needs_input_grad:
            ctx.x2, ctx.x_shape, ctx.w_ih, ctx.w_hh, ctx.buf, ctx.act = x2, x.shape, w_ih, w_hh, buf, act
            ctx.mode, ctx.reverse, ctx.nonlinearity = mode, reverse, nonlinearity
        return buf

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        need_x, need_h0, need_c0, need_w_ih, need_w_hh, need_b_ih, need_b_hh = ctx.needs_input_grad[:7]
        k = native.for_array(grad)
        grad = k.contiguous(grad)
        mode, reverse, buf, act, w_hh = ctx.mode, ctx.reverse, ctx.buf, ctx.act, ctx.w_hh
        L, N, _ = ctx.x_shape
        H = w_hh.shape[1]
        lstm, gru = mode == "LSTM", mode == "GRU"
        G = MODES[mode] * H
        device = k.device_index(grad)
        grad_gates = k.empty((L, N, G), grad.dtype, device)
        dh = k.zeros((N, H), grad.dtype, device)  # nothing reaches h_n but its row of grad; leaves as h0's gradient
        if lstm:
            dc = grad[L + 1 if reverse else 2 * L + 1].copy()  # c_n's gradient; leaves as c0's
            k.lstm_sequence_backward(grad, buf, act, w_hh, grad_gates, dh, dc, reverse)
            grad_gates_h = grad_gates
        elif gru:
            grad_gates_h = k.empty((L, N, G), grad.dtype, device)
            k.gru_sequence_backward(grad, buf, act, w_hh, grad_gates, grad_gates_h, dh, reverse)
        else:
            k.rnn_sequence_backward(grad, buf, w_hh, grad_gates, dh, ctx.nonlinearity, reverse)
            grad_gates_h = grad_gates
        # Everything below is one GEMM (or sum) over all L * N rows.
        rows = grad_gates.reshape(L * N, G)
        need_bias = need_b_ih or (need_b_hh and not gru)
        grad_x, grad_w_ih, grad_bias = k.linear_backward(rows, ctx.x2, ctx.w_ih, None, "none", 0.01, need_x,
                                                         need_w_ih, need_bias)
        grad_w_hh = grad_b_hh = None
        rows_h = grad_gates_h.reshape(L * N, G)
        if need_w_hh:
            h_prev = buf[1:L + 1] if reverse else buf[:L]
            grad_w_hh = k.gemm_into(rows_h, h_prev.reshape(L * N, H), k.empty((G, H), grad.dtype, device), True,
                                    False, 0.0)
        if need_b_hh:
            grad_b_hh = rows_h.sum(axis=0) if gru else grad_bias.copy()
        return (grad_x.reshape(ctx.x_shape) if need_x else None, dh if need_h0 else None,
                dc if lstm and need_c0 else None, grad_w_ih, grad_w_hh, grad_bias if need_b_ih else None, grad_b_hh,
                None, None)


def layer_rows(L: int, reverse: bool, lstm: bool) -> tuple[slice, int, int | None]:
    """(output rows, h_n row, c_n row or None) of RNNLayerFunction's result for a sequence of length L."""
    if reverse:
        return slice(0, L), 0, (L + 1 if lstm else None)
    return slice(1, L + 1), L, (2 * L + 1 if lstm else None)


def rnn_layer(input: Tensor, hx: Tensor, cx: Tensor | None, weight_ih: Tensor, weight_hh: Tensor,
              bias_ih: Tensor | None, bias_hh: Tensor | None, mode: str = "LSTM",
              reverse: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
    """One recurrent layer over a sequence, PyTorch's gate order and formulas: input (L, N, H_in), hx (N, H), cx
    (N, H) for mode 'LSTM' (None otherwise), weight_ih (G*H, H_in), weight_hh (G*H, H), biases (G*H,) or None, with
    G = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n) or 1 ('RNN_TANH', 'RNN_RELU'). reverse runs from the last step to the
    first (a bidirectional layer's second direction), the outputs staying at their steps. Returns (output (L, N, H),
    h_n (N, H), c_n (N, H) or None)."""
    function = "rnn_layer"
    if mode not in MODES:
        raise ValueError(f"{function}(): mode must be one of {', '.join(repr(m) for m in MODES)}, got {mode!r}")
    for value, name in ((input, "input"), (hx, "hx"), (weight_ih, "weight_ih"), (weight_hh, "weight_hh")):
        check_float(value, name, function)
    for value, name in ((cx, "cx"), (bias_ih, "bias_ih"), (bias_hh, "bias_hh")):
        if value is not None:
            check_float(value, name, function)
    lstm = mode == "LSTM"
    if lstm and cx is None:
        raise ValueError(f"{function}(): cx is required for mode 'LSTM'")
    if not lstm and cx is not None:
        raise ValueError(f"{function}(): cx is only for mode 'LSTM', got a tensor for mode {mode!r}")
    x = input._data
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"{function}(): input must be 3-D (L, N, H_in) with L > 0, got shape {tuple(x.shape)}")
    L, N, H_in = x.shape
    gates, H = MODES[mode], weight_hh._data.shape[-1]
    expected = {"hx": (N, H), "cx": (N, H), "weight_ih": (gates * H, H_in), "weight_hh": (gates * H, H),
                "bias_ih": (gates * H,), "bias_hh": (gates * H,)}
    for value, name in ((hx, "hx"), (cx, "cx"), (weight_ih, "weight_ih"), (weight_hh, "weight_hh"),
                        (bias_ih, "bias_ih"), (bias_hh, "bias_hh")):
        if value is None:
            continue
        if tuple(value._data.shape) != expected[name]:
            raise ValueError(f"{function}(): {name} must have shape {expected[name]}, got {tuple(value.shape)}")
        if value._data.dtype != x.dtype:
            raise TypeError(f"{function}(): {name} must have the dtype of input ({x.dtype}), got {value.dtype}")
    buf = RNNLayerFunction.apply(input, hx, cx, weight_ih, weight_hh, bias_ih, bias_hh, mode, bool(reverse))
    outputs, h_row, c_row = layer_rows(L, bool(reverse), lstm)
    return buf[outputs], buf[h_row], (buf[c_row] if lstm else None)
