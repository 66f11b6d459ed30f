"""rnn family (the step loops of one recurrent layer and direction, forward and backward: LSTM, GRU, Elman RNN
tanh/relu): float64 NumPy references of the gate equations and of the loops, the kernels' call specs, and FUNCTIONAL
gradchecks of the whole-sequence layer (nnx.ops.rnn.rnn_layer) against a float64 NumPy recurrence."""
import numpy as np

import nnx
from nnx.ops.rnn import rnn_layer
from ops.activations import sigmoid
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

NONLINEARITIES = ("tanh", "relu")


# ---- float64 references of one step ------------------------------------------------------------------------------
def lstm_forward(gates, c_prev):
    """(h, c, act) of one LSTM step from the summed pre-activations (i, f, g, o)."""
    H = c_prev.shape[1]
    with np.errstate(all="ignore"):
        i, f = sigmoid(gates[:, :H]), sigmoid(gates[:, H:2 * H])
        g, o = np.tanh(gates[:, 2 * H:3 * H]), sigmoid(gates[:, 3 * H:])
        c = f * c_prev + i * g
        return o * np.tanh(c), c, np.concatenate([i, f, g, o], axis=1)


def lstm_backward(grad_out, grad_h, grad_c, act, c_prev, c):
    """(grad_gates, grad_c_prev) of one LSTM step."""
    H = c.shape[1]
    i, f, g, o = (act[:, k * H:(k + 1) * H] for k in range(4))
    with np.errstate(all="ignore"):
        dh = grad_out + grad_h
        tc = np.tanh(c)
        dc = grad_c + dh * o * (1 - tc * tc)
        grad_gates = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                                     dh * tc * o * (1 - o)], axis=1)
        return grad_gates, dc * f


def gru_forward(gates_x, gates_h, bias_hh, h_prev):
    """(h, act) of one GRU step; act holds r, z, n and hn = gates_h's n part + b_hn."""
    H = h_prev.shape[1]
    with np.errstate(all="ignore"):
        gh = gates_h + (bias_hh if bias_hh is not None else 0.0)
        r = sigmoid(gates_x[:, :H] + gh[:, :H])
        z = sigmoid(gates_x[:, H:2 * H] + gh[:, H:2 * H])
        hn = gh[:, 2 * H:]
        n = np.tanh(gates_x[:, 2 * H:] + r * hn)
        return (1 - z) * n + z * h_prev, np.concatenate([r, z, n, hn], axis=1)


def gru_backward(grad_out, grad_h, act, h_prev):
    """(grad_gates_x, grad_gates_h, grad_h_prev without the W_hh term) of one GRU step."""
    H = h_prev.shape[1]
    r, z, n, hn = (act[:, k * H:(k + 1) * H] for k in range(4))
    with np.errstate(all="ignore"):
        dh = grad_out + grad_h
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * hn * r * (1 - r)
        dz = dh * (h_prev - n) * z * (1 - z)
        return np.concatenate([dr, dz, dn], axis=1), np.concatenate([dr, dz, dn * r], axis=1), dh * z


def rnn_forward(gates, nonlinearity):
    with np.errstate(all="ignore"):
        return np.tanh(gates) if nonlinearity == "tanh" else np.where(gates < 0, 0.0, gates)  # NaN kept


def rnn_backward(grad_out, grad_h, h, nonlinearity):
    with np.errstate(all="ignore"):
        dh = grad_out + grad_h
        return dh * (1 - h * h) if nonlinearity == "tanh" else np.where(h <= 0, 0.0, dh)


# ---- float64 references of the step loops (one layer and direction; states as csrc/core/rnn.h lays them out) ----
def _order(L, reverse):
    """(t, previous state's row, this step's row) in the order the forward runs the steps."""
    return [(t, t + 1, t) if reverse else (t, t, t + 1) for t in (range(L - 1, -1, -1) if reverse else range(L))]


def lstm_sequence_forward(gates, w_hh, states, reverse):
    """(activated gates (L, N, 4H), states (2L + 2, N, H)) from the input projections and h0, c0 in states."""
    L = gates.shape[0]
    act, states = np.empty_like(gates), states.copy()
    hs, cs = states[:L + 1], states[L + 1:]
    for t, prev, cur in _order(L, reverse):
        hs[cur], cs[cur], act[t] = lstm_forward(gates[t] + hs[prev] @ w_hh.T, cs[prev])
    return act, states


def lstm_sequence_backward(grad_states, states, act, w_hh, grad_h, grad_c, reverse):
    """(grad_gates, h0's gradient, c0's gradient) by BPTT, last step first."""
    L = act.shape[0]
    grad_gates, cs = np.empty_like(act), states[L + 1:]
    for t, prev, cur in reversed(_order(L, reverse)):
        grad_gates[t], grad_c = lstm_backward(grad_states[cur], grad_h, grad_c, act[t], cs[prev], cs[cur])
        grad_h = grad_gates[t] @ w_hh
    return grad_gates, grad_h, grad_c


def gru_sequence_forward(gates_x, w_hh, bias_hh, states, reverse):
    """(states (L + 1, N, H), act (L, N, 4H)) from the input projections and h0 in states."""
    L, N, H = gates_x.shape[0], gates_x.shape[1], w_hh.shape[1]
    act, states = np.empty((L, N, 4 * H)), states.copy()
    for t, prev, cur in _order(L, reverse):
        states[cur], act[t] = gru_forward(gates_x[t], states[prev] @ w_hh.T, bias_hh, states[prev])
    return states, act


def gru_sequence_backward(grad_states, states, act, w_hh, grad_h, reverse):
    """(grad_gates_x, grad_gates_h, h0's gradient) by BPTT, last step first."""
    L, N, H = act.shape[0], act.shape[1], w_hh.shape[1]
    grad_gates_x, grad_gates_h = np.empty((L, N, 3 * H)), np.empty((L, N, 3 * H))
    for t, prev, cur in reversed(_order(L, reverse)):
        grad_gates_x[t], grad_gates_h[t], direct = gru_backward(grad_states[cur], grad_h, act[t], states[prev])
        grad_h = direct + grad_gates_h[t] @ w_hh
    return grad_gates_x, grad_gates_h, grad_h


def rnn_sequence_forward(gates, w_hh, states, nonlinearity, reverse):
    """states (L + 1, N, H) from the input projections and h0 in states."""
    states = states.copy()
    for t, prev, cur in _order(gates.shape[0], reverse):
        states[cur] = rnn_forward(gates[t] + states[prev] @ w_hh.T, nonlinearity)
    return states


def rnn_sequence_backward(grad_states, states, w_hh, grad_h, nonlinearity, reverse):
    """(grad_gates, h0's gradient) by BPTT, last step first."""
    L = states.shape[0] - 1
    grad_gates = np.empty((L,) + states.shape[1:])
    for t, _prev, cur in reversed(_order(L, reverse)):
        grad_gates[t] = rnn_backward(grad_states[cur], grad_h, states[cur], nonlinearity)
        grad_h = grad_gates[t] @ w_hh
    return grad_gates, grad_h


# ---- call specs --------------------------------------------------------------------------------------------------
def _f64(*arrays):
    return [None if a is None else a.astype(np.float64) for a in arrays]


def _sizes(dims):
    return dims[0], dims[1], dims[2]


def _weights(rng, shape, dtype, H):
    """Recurrent weights of PyTorch's initial scale, so that the recurrence stays well conditioned."""
    bound = 1 / max(H, 1) ** 0.5
    return values(rng, shape, dtype, low=-bound, high=bound)


def _scale(L, H, per_step):
    """Tolerance multiplier: per_step rounding terms of an H-term dot product, compounded over L steps."""
    return per_step * (H + 1) * max(L, 1)


def _initial_states(rng, rows, first_rows, shape, dtype, special):
    """A states array of `rows` rows, NaN (poison) but for h0 (and c0) in `first_rows`."""
    states = poison((rows,) + shape, dtype)
    for row in first_rows:
        states[row] = values(rng, shape, dtype, special)
    return states


def lstm_sequence_forward_call(rng, dtype, dims, special, fixed=None):
    reverse = Draw(rng, fixed)("reverse", [False, True])
    L, N, H = _sizes(dims)
    gates, w_hh = values(rng, (L, N, 4 * H), dtype, special), _weights(rng, (4 * H, H), dtype, H)
    first = L if reverse else 0
    states = _initial_states(rng, 2 * L + 2, (first, L + 1 + first), (N, H), dtype, special)
    act, expected_states = lstm_sequence_forward(*_f64(gates, w_hh, states), reverse)
    return Call("lstm_sequence_forward", ["gates", "w_hh", "states", "reverse"], [gates, w_hh, states, reverse],
                {"gates": "out", "w_hh": "in", "states": "out"}, {"gates": act, "states": expected_states},
                scale=_scale(L, H, 4))


def lstm_sequence_backward_call(rng, dtype, dims, special, fixed=None):
    reverse = Draw(rng, fixed)("reverse", [False, True])
    L, N, H = _sizes(dims)
    gates, w_hh = values(rng, (L, N, 4 * H), dtype), _weights(rng, (4 * H, H), dtype, H)
    first = L if reverse else 0
    states = _initial_states(rng, 2 * L + 2, (first, L + 1 + first), (N, H), dtype, False)
    act, states = (a.astype(dtype) for a in lstm_sequence_forward(*_f64(gates, w_hh, states), reverse))
    upstream = upstream_special(special)
    grad_states = values(rng, (2 * L + 2, N, H), dtype, upstream)
    grad_h, grad_c = values(rng, (N, H), dtype, upstream), values(rng, (N, H), dtype, upstream)
    expected = lstm_sequence_backward(*_f64(grad_states, states, act, w_hh, grad_h, grad_c), reverse)
    return Call("lstm_sequence_backward",
                ["grad_states", "states", "act", "w_hh", "grad_gates", "grad_h", "grad_c", "reverse"],
                [grad_states, states, act, w_hh, poison((L, N, 4 * H), dtype), grad_h, grad_c, reverse],
                {"grad_states": "in", "states": "in", "act": "in", "w_hh": "in", "grad_gates": "out", "grad_h": "out",
                 "grad_c": "out"},
                dict(zip(("grad_gates", "grad_h", "grad_c"), expected)), scale=_scale(L, H, 8))


def gru_sequence_forward_call(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    reverse, bias = draw("reverse", [False, True]), draw("bias", [True, False])
    L, N, H = _sizes(dims)
    gates_x, w_hh = values(rng, (L, N, 3 * H), dtype, special), _weights(rng, (3 * H, H), dtype, H)
    bias_hh = values(rng, (3 * H,), dtype) if bias else None
    states = _initial_states(rng, L + 1, (L if reverse else 0,), (N, H), dtype, special)
    expected_states, act = gru_sequence_forward(*_f64(gates_x, w_hh, bias_hh, states), reverse)
    return Call("gru_sequence_forward", ["gates_x", "w_hh", "bias_hh", "states", "act", "scratch", "reverse"],
                [gates_x, w_hh, bias_hh, states, poison((L, N, 4 * H), dtype), poison((N, 3 * H), dtype), reverse],
                {"gates_x": "in", "w_hh": "in", "bias_hh": "opt_in", "states": "out", "act": "out", "scratch": "out"},
                {"states": expected_states, "act": act}, scale=_scale(L, H, 4))


def gru_sequence_backward_call(rng, dtype, dims, special, fixed=None):
    reverse = Draw(rng, fixed)("reverse", [False, True])
    L, N, H = _sizes(dims)
    gates_x, w_hh = values(rng, (L, N, 3 * H), dtype), _weights(rng, (3 * H, H), dtype, H)
    bias_hh = values(rng, (3 * H,), dtype)
    states = _initial_states(rng, L + 1, (L if reverse else 0,), (N, H), dtype, False)
    states, act = (a.astype(dtype) for a in gru_sequence_forward(*_f64(gates_x, w_hh, bias_hh, states), reverse))
    upstream = upstream_special(special)
    grad_states, grad_h = values(rng, (L + 1, N, H), dtype, upstream), values(rng, (N, H), dtype, upstream)
    expected = gru_sequence_backward(*_f64(grad_states, states, act, w_hh, grad_h), reverse)
    return Call("gru_sequence_backward",
                ["grad_states", "states", "act", "w_hh", "grad_gates_x", "grad_gates_h", "grad_h", "reverse"],
                [grad_states, states, act, w_hh, poison((L, N, 3 * H), dtype), poison((L, N, 3 * H), dtype), grad_h,
                 reverse],
                {"grad_states": "in", "states": "in", "act": "in", "w_hh": "in", "grad_gates_x": "out",
                 "grad_gates_h": "out", "grad_h": "out"},
                dict(zip(("grad_gates_x", "grad_gates_h", "grad_h"), expected)), scale=_scale(L, H, 8))


def rnn_sequence_forward_call(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    reverse, nonlinearity = draw("reverse", [False, True]), draw("nonlinearity", NONLINEARITIES)
    L, N, H = _sizes(dims)
    gates, w_hh = values(rng, (L, N, H), dtype, special), _weights(rng, (H, H), dtype, H)
    states = _initial_states(rng, L + 1, (L if reverse else 0,), (N, H), dtype, special)
    expected = rnn_sequence_forward(*_f64(gates, w_hh, states), nonlinearity, reverse)
    return Call("rnn_sequence_forward", ["gates", "w_hh", "states", "nonlinearity", "reverse"],
                [gates, w_hh, states, nonlinearity, reverse], {"gates": "out", "w_hh": "in", "states": "out"},
                {"states": expected}, invalid_scalars={"nonlinearity": ["sigmoid", "Tanh"]}, scale=_scale(L, H, 2))


def rnn_sequence_backward_call(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    reverse, nonlinearity = draw("reverse", [False, True]), draw("nonlinearity", NONLINEARITIES)
    L, N, H = _sizes(dims)
    gates, w_hh = values(rng, (L, N, H), dtype), _weights(rng, (H, H), dtype, H)
    states = _initial_states(rng, L + 1, (L if reverse else 0,), (N, H), dtype, False)
    states = rnn_sequence_forward(*_f64(gates, w_hh, states), nonlinearity, reverse).astype(dtype)
    upstream = upstream_special(special)
    grad_states, grad_h = values(rng, (L + 1, N, H), dtype, upstream), values(rng, (N, H), dtype, upstream)
    expected = rnn_sequence_backward(*_f64(grad_states, states, w_hh, grad_h), nonlinearity, reverse)
    return Call("rnn_sequence_backward",
                ["grad_states", "states", "w_hh", "grad_gates", "grad_h", "nonlinearity", "reverse"],
                [grad_states, states, w_hh, poison((L, N, H), dtype), grad_h, nonlinearity, reverse],
                {"grad_states": "in", "states": "in", "w_hh": "in", "grad_gates": "out", "grad_h": "out"},
                dict(zip(("grad_gates", "grad_h"), expected)), invalid_scalars={"nonlinearity": ["sigmoid", ""]},
                scale=_scale(L, H, 4))


SPECS = {"lstm_sequence_forward": lstm_sequence_forward_call, "lstm_sequence_backward": lstm_sequence_backward_call,
         "gru_sequence_forward": gru_sequence_forward_call, "gru_sequence_backward": gru_sequence_backward_call,
         "rnn_sequence_forward": rnn_sequence_forward_call, "rnn_sequence_backward": rnn_sequence_backward_call}
_REVERSE = {"reverse": (False, True)}
AXES = {"lstm_sequence_forward": _REVERSE, "lstm_sequence_backward": _REVERSE, "gru_sequence_backward": _REVERSE,
        "gru_sequence_forward": {**_REVERSE, "bias": (True, False)},
        "rnn_sequence_forward": {**_REVERSE, "nonlinearity": NONLINEARITIES},
        "rnn_sequence_backward": {**_REVERSE, "nonlinearity": NONLINEARITIES}}
# (L, N, H): no steps, an empty batch, no hidden units, one of each, odd sizes, and a long row
SIZES = [(0, 2, 3), (2, 0, 3), (2, 3, 0), (1, 1, 1), (3, 2, 5), (4, 3, 17), (2, 2, 250)]


# ---- the whole-sequence layer against a float64 recurrence ----------------------------------------------------------
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def reference_layer(x, h, c, w_ih, w_hh, b_ih, b_hh, mode, reverse):
    """(output (L, N, H), h_n, c_n or None) of one layer by the gate equations, step by step in float64."""
    L = x.shape[0]
    outputs = [None] * L
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        gx = x[t] @ w_ih.T + (0.0 if b_ih is None else b_ih)
        gh = h @ w_hh.T + (0.0 if b_hh is None else b_hh)
        if mode == "LSTM":
            h, c, _ = lstm_forward(gx + gh, c)
        elif mode == "GRU":
            h, _ = gru_forward(gx, gh, None, h)
        else:
            h = rnn_forward(gx + gh, "tanh" if mode == "RNN_TANH" else "relu")
        outputs[t] = h
    return np.stack(outputs), h, c


def _layer_case(mode, reverse, bias):
    """(function, reference) over (x, h0[, c0], w_ih, w_hh[, b_ih, b_hh]); the three results concatenated."""
    lstm = mode == "LSTM"

    def split(arrays):
        arrays = list(arrays)
        x, h = arrays.pop(0), arrays.pop(0)
        c = arrays.pop(0) if lstm else None
        w_ih, w_hh = arrays.pop(0), arrays.pop(0)
        b_ih, b_hh = (arrays.pop(0), arrays.pop(0)) if bias else (None, None)
        return x, h, c, w_ih, w_hh, b_ih, b_hh

    def function(*tensors):
        out, h_n, c_n = rnn_layer(*split(tensors), mode=mode, reverse=reverse)
        return nnx.cat([out.reshape(-1), h_n.reshape(-1)] + ([c_n.reshape(-1)] if lstm else []))

    def reference(*arrays):
        out, h_n, c_n = reference_layer(*split(arrays), mode, reverse)
        return np.concatenate([out.reshape(-1), h_n.reshape(-1)] + ([c_n.reshape(-1)] if lstm else []))

    return function, reference


def _shapes(mode, bias, L=3, N=2, H_in=3, H=4):
    G = GATES[mode] * H
    shapes = [(L, N, H_in), (N, H)] + ([(N, H)] if mode == "LSTM" else []) + [(G, H_in), (G, H)]
    return tuple(shapes + ([(G,), (G,)] if bias else []))


FUNCTIONAL = [
    Functional(f"rnn_layer-{mode}-{'reverse' if reverse else 'forward'}-{'bias' if bias else 'nobias'}",
               *_layer_case(mode, reverse, bias), _shapes(mode, bias), low=-1.0, high=1.0)
    for mode, reverse, bias in (("LSTM", False, True), ("LSTM", True, False), ("GRU", False, True),
                                ("GRU", True, True), ("GRU", False, False), ("RNN_TANH", True, True),
                                ("RNN_RELU", False, True))
]
