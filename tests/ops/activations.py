"""Activations family (activation_forward, activation_backward): the float64 reference of every kind, forward and
derivative, and the kernels' call specs. The linear family's fused activation uses the same reference."""
import math

import numpy as np
from scipy.special import erfc

import nnx.nn.functional as F
from helpers import EDGE_SIZES
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

KINDS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus")
# The backward of these reads the forward's output; the others read its input (see _C.pyi).
READS_OUTPUT = {"relu", "leaky_relu", "sigmoid", "tanh"}
GELU_TANH_K = math.sqrt(2.0 / math.pi)


def sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def normal_cdf(x):
    return 0.5 * erfc(-x / math.sqrt(2.0))  # erfc: exact in the left tail, where 1 + erf cancels


def reference_forward(kind, x, negative_slope=0.01, beta=1.0, threshold=20.0):
    """act(x) in float64, written in overflow-free forms of PyTorch's definitions ("none" is the identity)."""
    with np.errstate(all="ignore"):
        if kind == "relu":
            return np.maximum(x, 0.0)  # NaN propagates
        if kind == "leaky_relu":
            return np.where(x > 0, x, negative_slope * x)
        if kind == "sigmoid":
            return sigmoid(x)
        if kind == "tanh":
            return np.tanh(x)
        if kind == "gelu":
            return x * normal_cdf(x)
        if kind == "gelu_tanh":
            return 0.5 * x * (1.0 + np.tanh(GELU_TANH_K * (x + 0.044715 * x**3)))
        if kind == "silu":
            return x * sigmoid(x)
        if kind == "softplus":
            return np.where(beta * x > threshold, x, np.logaddexp(0.0, beta * x) / beta)
        if kind == "none":
            return x
    raise ValueError(kind)


def reference_derivative(kind, x, negative_slope=0.01, beta=1.0, threshold=20.0):
    """act'(x) in float64."""
    with np.errstate(all="ignore"):
        if kind == "relu":
            return (x > 0).astype(np.float64)
        if kind == "leaky_relu":
            return np.where(x > 0, 1.0, negative_slope)
        if kind == "sigmoid":
            s = sigmoid(x)
            return s * (1.0 - s)
        if kind == "tanh":
            return 1.0 - np.tanh(x) ** 2
        if kind == "gelu":
            return normal_cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        if kind == "gelu_tanh":
            t = np.tanh(GELU_TANH_K * (x + 0.044715 * x**3))
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_TANH_K * (1.0 + 3 * 0.044715 * x * x)
        if kind == "silu":
            s = sigmoid(x)
            return s * (1.0 + x * (1.0 - s))
        if kind == "softplus":
            return np.where(beta * x > threshold, 1.0, sigmoid(beta * x))
        if kind == "none":
            return np.ones_like(x)
    raise ValueError(kind)


def reference_backward(kind, grad_out, x, out, negative_slope=0.01, beta=1.0, threshold=20.0):
    """grad_in = grad_out * act'(x); relu and leaky_relu select on the forward's out as PyTorch's
    threshold_backward does, so an infinite or NaN gradient where the unit is off gives 0, not NaN."""
    with np.errstate(all="ignore"):
        if kind in ("relu", "leaky_relu"):
            return np.where(out > 0, grad_out, grad_out * negative_slope if kind == "leaky_relu" else 0.0)
        return grad_out * reference_derivative(kind, x, negative_slope, beta, threshold)


# ---- call specs -------------------------------------------------------------------------------------------------

def activation_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    kind = draw("kind", KINDS)
    slope, beta, threshold = draw("negative_slope", [0.01, -0.3]), draw("beta", [1.0, 2.0, -1.0]), 20.0
    x = values(rng, tuple(dims[:draw("rank", [0, 1, 2, 3])]), dtype, special)
    return Call("activation_forward", ["kind", "x", "out", "negative_slope", "beta", "threshold"],
                [kind, x, poison(x.shape, dtype), slope, beta, threshold], {"x": "in", "out": "out"},
                {"out": reference_forward(kind, x.astype(np.float64), slope, beta, threshold)},
                aliases_ok={("out", "x")},
                invalid_scalars={"kind": ["swish", "RELU"],
                                 **({"beta": [0.0, math.nan], "threshold": [math.nan]} if kind == "softplus" else {}),
                                 **({"negative_slope": [math.nan, math.inf]} if kind == "leaky_relu" else {})})


def activation_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    kind = draw("kind", KINDS)
    slope, beta, threshold = 0.05, 1.0, 20.0
    shape = tuple(dims[:draw("rank", [0, 1, 2, 3])])
    x = values(rng, shape, dtype)
    out = np.asarray(reference_forward(kind, x.astype(np.float64), slope, beta, threshold), dtype=dtype)
    grad_out = values(rng, shape, dtype, upstream_special(special))
    expected = reference_backward(kind, grad_out.astype(np.float64), x.astype(np.float64), out, slope, beta,
                                  threshold)
    return Call("activation_backward", ["kind", "grad_out", "x", "out", "grad_in", "negative_slope", "beta",
                                        "threshold"],
                [kind, grad_out, x, out, poison(shape, dtype), slope, beta, threshold],
                {"grad_out": "in", "x": "in", "out": "in", "grad_in": "out"}, {"grad_in": expected},
                aliases_ok={("grad_in", "grad_out")}, invalid_scalars={"kind": ["swish"]})


SPECS = {"activation_forward": activation_forward, "activation_backward": activation_backward}
AXES = {"activation_forward": {"kind": KINDS}, "activation_backward": {"kind": KINDS}}
SIZES = [(n,) for n in EDGE_SIZES]


# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
FUNCTIONAL = [
    Functional("relu", F.relu, lambda x: reference_forward("relu", x), ((3, 17),)),
    Functional("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: reference_forward("leaky_relu", x, 0.2),
               ((3, 17),)),
    Functional("sigmoid", F.sigmoid, lambda x: reference_forward("sigmoid", x), ((3, 17),)),
    Functional("tanh", F.tanh, lambda x: reference_forward("tanh", x), ((3, 17),)),
    Functional("gelu", F.gelu, lambda x: reference_forward("gelu", x), ((3, 17),)),
    Functional("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: reference_forward("gelu_tanh", x),
               ((3, 17),)),
    Functional("silu", F.silu, lambda x: reference_forward("silu", x), ((3, 17),)),
    Functional("softplus", lambda x: F.softplus(x, beta=3.0, threshold=4.0),
               lambda x: reference_forward("softplus", x, beta=3.0, threshold=4.0), ((2, 3, 5),)),
]
