"""rnn family (the fused recurrent cells of one step, forward and backward: LSTM, GRU, Elman RNN tanh/relu): float64
NumPy references of the gate equations, the kernels' call specs, and FUNCTIONAL gradchecks of the whole-sequence
layer (nnx.ops.rnn.rnn_layer) against a float64 NumPy recurrence."""
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


# ---- call specs --------------------------------------------------------------------------------------------------
def _lstm_act(rng, N, H, dtype):
    """Activated gates as the forward leaves them: i, f, o in (0, 1), g in (-1, 1)."""
    act = np.concatenate([rng.uniform(0, 1, (N, H)), rng.uniform(0, 1, (N, H)), rng.uniform(-1, 1, (N, H)),
                          rng.uniform(0, 1, (N, H))], axis=1)
    return act.astype(dtype)


def lstm_cell_forward_call(rng, dtype, dims, special, fixed=None):
    N, H = dims[0], dims[1]
    gates, c_prev = values(rng, (N, 4 * H), dtype, special), values(rng, (N, H), dtype, special)
    h, c, act = lstm_forward(gates.astype(np.float64), c_prev.astype(np.float64))
    return Call("lstm_cell_forward", ["gates", "c_prev", "h", "c", "act"],
                [gates, c_prev, poison((N, H), dtype), poison((N, H), dtype), poison((N, 4 * H), dtype)],
                {"gates": "in", "c_prev": "in", "h": "out", "c": "out", "act": "out"},
                {"h": h, "c": c, "act": act}, aliases_ok={("act", "gates")}, scale=4)


def lstm_cell_backward_call(rng, dtype, dims, special, fixed=None):
    N, H = dims[0], dims[1]
    upstream = upstream_special(special)
    grad_out, grad_h, grad_c = (values(rng, (N, H), dtype, upstream) for _ in range(3))
    act, c_prev, c = _lstm_act(rng, N, H, dtype), values(rng, (N, H), dtype), values(rng, (N, H), dtype)
    grad_gates, grad_c_prev = lstm_backward(*(a.astype(np.float64) for a in (grad_out, grad_h, grad_c, act, c_prev, c)))
    return Call("lstm_cell_backward", ["grad_out", "grad_h", "grad_c", "act", "c_prev", "c", "grad_gates",
                                       "grad_c_prev"],
                [grad_out, grad_h, grad_c, act, c_prev, c, poison((N, 4 * H), dtype), poison((N, H), dtype)],
                {"grad_out": "in", "grad_h": "in", "grad_c": "in", "act": "in", "c_prev": "in", "c": "in",
                 "grad_gates": "out", "grad_c_prev": "out"},
                {"grad_gates": grad_gates, "grad_c_prev": grad_c_prev}, aliases_ok={("grad_c_prev", "grad_c")},
                scale=8)


def gru_cell_forward_call(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, H = dims[0], dims[1]
    gates_x, gates_h = values(rng, (N, 3 * H), dtype, special), values(rng, (N, 3 * H), dtype, special)
    bias_hh = values(rng, (3 * H,), dtype) if draw("bias", [True, False]) else None
    h_prev = values(rng, (N, H), dtype, special)
    h, act = gru_forward(gates_x.astype(np.float64), gates_h.astype(np.float64),
                         None if bias_hh is None else bias_hh.astype(np.float64), h_prev.astype(np.float64))
    return Call("gru_cell_forward", ["gates_x", "gates_h", "bias_hh", "h_prev", "h", "act"],
                [gates_x, gates_h, bias_hh, h_prev, poison((N, H), dtype), poison((N, 4 * H), dtype)],
                {"gates_x": "in", "gates_h": "in", "bias_hh": "opt_in", "h_prev": "in", "h": "out", "act": "out"},
                {"h": h, "act": act}, scale=4)


def gru_cell_backward_call(rng, dtype, dims, special, fixed=None):
    N, H = dims[0], dims[1]
    upstream = upstream_special(special)
    grad_out, grad_h = values(rng, (N, H), dtype, upstream), values(rng, (N, H), dtype, upstream)
    act = np.concatenate([rng.uniform(0, 1, (N, 2 * H)), rng.uniform(-1, 1, (N, H)), rng.uniform(-3, 3, (N, H))],
                         axis=1).astype(dtype)
    h_prev = values(rng, (N, H), dtype)
    expected = gru_backward(*(a.astype(np.float64) for a in (grad_out, grad_h, act, h_prev)))
    return Call("gru_cell_backward", ["grad_out", "grad_h", "act", "h_prev", "grad_gates_x", "grad_gates_h",
                                      "grad_h_prev"],
                [grad_out, grad_h, act, h_prev, poison((N, 3 * H), dtype), poison((N, 3 * H), dtype),
                 poison((N, H), dtype)],
                {"grad_out": "in", "grad_h": "in", "act": "in", "h_prev": "in", "grad_gates_x": "out",
                 "grad_gates_h": "out", "grad_h_prev": "out"},
                dict(zip(("grad_gates_x", "grad_gates_h", "grad_h_prev"), expected)),
                aliases_ok={("grad_h_prev", "grad_h")}, scale=8)


def rnn_cell_forward_call(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, H = dims[0], dims[1]
    nonlinearity = draw("nonlinearity", NONLINEARITIES)
    gates = values(rng, (N, H), dtype, special)
    return Call("rnn_cell_forward", ["gates", "h", "nonlinearity"], [gates, poison((N, H), dtype), nonlinearity],
                {"gates": "in", "h": "out"}, {"h": rnn_forward(gates.astype(np.float64), nonlinearity)},
                aliases_ok={("h", "gates")}, invalid_scalars={"nonlinearity": ["sigmoid", "Tanh"]})


def rnn_cell_backward_call(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, H = dims[0], dims[1]
    nonlinearity = draw("nonlinearity", NONLINEARITIES)
    upstream = upstream_special(special)
    grad_out, grad_h = values(rng, (N, H), dtype, upstream), values(rng, (N, H), dtype, upstream)
    h = (rng.uniform(-1, 1, (N, H)) if nonlinearity == "tanh" else np.maximum(rng.uniform(-1, 3, (N, H)), 0))
    h = h.astype(dtype)
    expected = rnn_backward(grad_out.astype(np.float64), grad_h.astype(np.float64), h.astype(np.float64),
                            nonlinearity)
    return Call("rnn_cell_backward", ["grad_out", "grad_h", "h", "grad_gates", "nonlinearity"],
                [grad_out, grad_h, h, poison((N, H), dtype), nonlinearity],
                {"grad_out": "in", "grad_h": "in", "h": "in", "grad_gates": "out"}, {"grad_gates": expected},
                invalid_scalars={"nonlinearity": ["sigmoid", ""]}, scale=2)


SPECS = {"lstm_cell_forward": lstm_cell_forward_call, "lstm_cell_backward": lstm_cell_backward_call,
         "gru_cell_forward": gru_cell_forward_call, "gru_cell_backward": gru_cell_backward_call,
         "rnn_cell_forward": rnn_cell_forward_call, "rnn_cell_backward": rnn_cell_backward_call}
AXES = {"gru_cell_forward": {"bias": (True, False)}, "rnn_cell_forward": {"nonlinearity": NONLINEARITIES},
        "rnn_cell_backward": {"nonlinearity": NONLINEARITIES}}
SIZES = [(0, 3), (2, 0), (1, 1), (3, 5), (4, 17), (2, 250)]


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
