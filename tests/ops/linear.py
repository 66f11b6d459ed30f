"""Linear family (linear_forward: x @ weight.T + bias through an activation; linear_backward): the float64
reference and the kernels' call specs. The activation's reference is the activations family's."""
import math

import numpy as np

import nnx.nn.functional as F
from ops.activations import reference_backward, reference_forward
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values

KINDS = ("none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")


def reference_preact(x, weight, bias):
    """x @ weight.T (+ bias) in float64."""
    with np.errstate(all="ignore"):
        preact = x.astype(np.float64) @ weight.astype(np.float64).T
    return preact if bias is None else preact + bias


def saved_for(kind, out, preact):
    """What the backward reads (see _C.pyi): out, preact for the gelus, nothing for none."""
    if kind == "none":
        return None
    return preact if kind in ("gelu", "gelu_tanh") else out


def reference_gradients(grad_out, x, weight, grad_preact):
    """grad_x, grad_weight, grad_bias of a linear layer given grad_preact (all float64)."""
    with np.errstate(all="ignore"):
        return {"grad_x": grad_preact @ weight.astype(np.float64), "grad_weight": grad_preact.T @ x.astype(np.float64),
                "grad_bias": grad_preact.sum(axis=0)}


# ---- call specs -------------------------------------------------------------------------------------------------

def linear_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, K, M = dims[0], dims[1], dims[2]
    kind = draw("activation", KINDS)
    slope = draw("negative_slope", [0.01, 0.2, -0.5])
    x, weight = values(rng, (N, K), dtype, special), values(rng, (M, K), dtype)
    bias = values(rng, (M,), dtype) if draw("with_bias", [True, False]) else None
    preact = poison((N, M), dtype) if kind.startswith("gelu") or draw("with_preact", [True, False]) else None
    pre = reference_preact(x, weight, bias)
    expected = {"out": reference_forward(kind, pre, slope)}
    if preact is not None:
        expected["preact"] = pre
    return Call("linear_forward", ["x", "weight", "bias", "out", "activation", "negative_slope", "preact"],
                [x, weight, bias, poison((N, M), dtype), kind, slope, preact],
                {"x": "in", "weight": "in", "bias": "opt_in", "out": "out", "preact": "opt_out"}, expected,
                invalid_scalars={"activation": ["swish", ""],
                                 **({"negative_slope": [math.nan, math.inf]} if kind == "leaky_relu" else {})},
                scale=max(K, 1))


def linear_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, K, M = dims[0], dims[1], dims[2]
    kind = draw("activation", KINDS)
    slope = 0.1
    x, weight = values(rng, (N, K), dtype), values(rng, (M, K), dtype)
    grad_out = values(rng, (N, M), dtype, upstream_special(special))
    pre = values(rng, (N, M), np.float64)
    out = reference_forward(kind, pre, slope).astype(dtype)
    saved = None if kind == "none" else saved_for(kind, out, pre.astype(dtype))
    accumulate = draw("accumulate", [True, False])
    grad_preact = reference_backward(kind, grad_out.astype(np.float64), pre, out, slope)
    grad_weight = values(rng, (M, K), dtype) if accumulate else poison((M, K), dtype)
    grad_bias = values(rng, (M,), dtype) if accumulate else poison((M,), dtype)
    expected = {"grad_preact": grad_preact, **reference_gradients(grad_out, x, weight, grad_preact)}
    if accumulate:
        expected["grad_weight"] = expected["grad_weight"] + grad_weight
        expected["grad_bias"] = expected["grad_bias"] + grad_bias
    return Call("linear_backward", ["grad_out", "x", "weight", "saved", "grad_preact", "grad_x", "grad_weight",
                                    "grad_bias", "activation", "negative_slope", "accumulate"],
                [grad_out, x, weight, saved, poison((N, M), dtype), poison((N, K), dtype), grad_weight, grad_bias,
                 kind, slope, accumulate],
                {"grad_out": "in", "x": "in", "weight": "in", "saved": "opt_in", "grad_preact": "out",
                 "grad_x": "opt_out", "grad_weight": "opt_out", "grad_bias": "opt_out"}, expected,
                aliases_ok={("grad_preact", "grad_out")}, scale=max(N, K, M, 1))


SPECS = {"linear_forward": linear_forward, "linear_backward": linear_backward}
AXES = {"linear_forward": {"activation": KINDS, "with_bias": (True, False)}, "linear_backward": {"activation": KINDS}}
# (N, K, M): single elements, odd sizes, and N * M = 48000 above the OpenMP threshold.
SIZES = [(1, 1, 1), (3, 5, 7), (17, 33, 9), (2, 250, 3), (1200, 19, 40)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
FUNCTIONAL = [Functional("linear", F.linear, reference_preact, ((7, 5), (3, 5), (3,)))]
