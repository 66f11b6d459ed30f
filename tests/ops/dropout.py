"""Dropout family (dropout_forward with its Philox mask, dropout_backward): the call specs; the forward's reference
is its definition over the Philox stream (ops.spec.check draws the uniforms with the module's philox_uniform)."""
import math

import numpy as np

from helpers import EDGE_SIZES
from ops.spec import Call, Draw, poison, upstream_special, values


def dropout_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    shape = tuple(dims[:draw("rank", [0, 1, 2, 3])])
    x = values(rng, shape, dtype, special)
    p = draw("p", [0.0, 0.1, 0.5, 0.9, 1.0])
    seed, offset = int(rng.integers(0, 2**63)), int(rng.integers(0, 2**40))
    return Call("dropout_forward", ["x", "out", "mask", "p", "seed", "offset"],
                [x, poison(shape, dtype), poison(shape, np.uint8), p, seed, offset],
                {"x": "in", "out": "out", "mask": "out"}, {"dropout": (x, p, seed, offset)},
                invalid_scalars={"p": [-0.1, 1.5, math.nan], "seed": [-1, 2**64], "offset": [-1, 2**64]})


def reference_backward(grad_out, mask, p):
    """Dropped elements are 0 (a select: NaN gradients do not leak through), kept ones scaled by 1/(1-p)."""
    with np.errstate(all="ignore"):
        return np.where(mask == 1, grad_out.astype(np.float64) * (1 / (1 - p) if p < 1 else 0.0), 0.0)


def dropout_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    shape = tuple(dims[:draw("rank", [0, 1, 2, 3])])
    grad_out = values(rng, shape, dtype, upstream_special(special))
    mask = rng.integers(0, 2, size=shape).astype(np.uint8)
    p = draw("p", [0.1, 0.5, 1.0])
    return Call("dropout_backward", ["grad_out", "mask", "grad_in", "p"], [grad_out, mask, poison(shape, dtype), p],
                {"grad_out": "in", "mask": "in", "grad_in": "out"}, {"grad_in": reference_backward(grad_out, mask, p)},
                invalid_scalars={"p": [-0.5, 2.0, math.nan]})


SPECS = {"dropout_forward": dropout_forward, "dropout_backward": dropout_backward}
AXES = {"dropout_forward": {"p": (0.0, 0.3, 0.5, 0.9, 1.0)}, "dropout_backward": {"p": (0.0, 0.3, 0.5, 0.9, 1.0)}}
SIZES = [(n,) for n in EDGE_SIZES] + [(3, 7), (2, 5, 9)]
