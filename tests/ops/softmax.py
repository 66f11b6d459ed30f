"""Softmax family (softmax_forward, softmax_backward over the last axis, log or not): the float64 references and
the call specs."""
import numpy as np

import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values


def reference_softmax(x, log):
    """PyTorch's algorithm over the last axis: x - max - log sum exp(x - max); a row holding +inf or NaN is NaN
    throughout."""
    x = np.asarray(x, dtype=np.float64)
    if not x.size:
        return x
    with np.errstate(all="ignore"):
        shifted = x - x.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return log_probs if log else np.exp(log_probs)


def reference_backward(grad_out, out, log):
    g, y = grad_out.astype(np.float64), out.astype(np.float64)
    with np.errstate(all="ignore"):
        if log:
            return g - np.exp(y) * g.sum(axis=-1, keepdims=True)
        return y * (g - (g * y).sum(axis=-1, keepdims=True))


# ---- call specs -------------------------------------------------------------------------------------------------

def softmax_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    shape = tuple(dims[:draw("rank", [1, 2, 3])])
    log = draw("log", [False, True])
    x = values(rng, shape, dtype, special)
    return Call("softmax_forward", ["x", "out", "log"], [x, poison(shape, dtype), log], {"x": "in", "out": "out"},
                {"out": reference_softmax(x, log)})


def softmax_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    shape = tuple(dims[:draw("rank", [1, 2, 3])])
    log = draw("log", [False, True])
    out = reference_softmax(values(rng, shape, np.float64), log).astype(dtype)
    grad_out = values(rng, shape, dtype, upstream_special(special))
    return Call("softmax_backward", ["grad_out", "out", "grad_in", "log"], [grad_out, out, poison(shape, dtype), log],
                {"grad_out": "in", "out": "in", "grad_in": "out"}, {"grad_in": reference_backward(grad_out, out, log)})


SPECS = {"softmax_forward": softmax_forward, "softmax_backward": softmax_backward}
AXES = {"softmax_forward": {"log": (False, True)}, "softmax_backward": {"log": (False, True)}}
# Single elements, odd rows, a long single row, 3-D, and rows * cols = 40000 above the OpenMP threshold
# (a shape's rank is drawn: the leading sizes are used).
SIZES = [(1,), (3,), (17, 1), (5, 17), (250, 3), (2, 3, 7), (1, 40_003), (1000, 40)]

# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
def _over(dim, log):
    """The reference over axis `dim` (it works on the last one)."""
    return lambda x: np.moveaxis(reference_softmax(np.moveaxis(x, dim, -1), log), -1, dim)


FUNCTIONAL = [Functional(f"{name}-dim{dim}", lambda x, dim=dim, name=name: getattr(F, name)(x, dim=dim),
                         _over(dim, log),
                         ((3, 4, 5),)) for name, log in (("softmax", False), ("log_softmax", True)) for dim in (0, -1)]
