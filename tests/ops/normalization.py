"""Normalization family (batch_norm_forward/backward with running statistics, layer_norm_forward/backward): the
float64 references as PyTorch defines them, and the kernels' call specs."""
import numpy as np

import nnx
import nnx.nn.functional as F
from ops.gradcheck import Functional
from ops.spec import Call, Draw, poison, upstream_special, values


def as64(array):
    return None if array is None else np.asarray(array, dtype=np.float64)


def _channel_view(array):
    """(N, C, *) as (N, C, S) in float64 (S = 1 for (N, C))."""
    array = as64(array)
    return None if array is None else array.reshape(array.shape[0], array.shape[1], int(np.prod(array.shape[2:])))


def batch_norm_reference(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5,
                         activation="none"):
    """(out, mean, invstd, new running_mean, new running_var) for x (N, C, *): batch statistics per channel over its
    N * S values when training (the running ones updated with the unbiased variance; no values: mean = invstd = 0
    and the running ones kept), the running statistics in eval; relu on the output when activation == "relu"."""
    shape, x = np.shape(x), _channel_view(x)
    running_mean, running_var = as64(running_mean), as64(running_var)
    count = x.shape[0] * x.shape[2]
    with np.errstate(all="ignore"):
        if training and count == 0:
            mean = invstd = np.zeros(x.shape[1])
        else:
            if training:
                mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
                if running_mean is not None:
                    running_mean = (1 - momentum) * running_mean + momentum * mean
                    running_var = (1 - momentum) * running_var + momentum * var * count / (count - 1)
            else:
                mean, var = running_mean, running_var
            invstd = 1 / np.sqrt(var + eps)
        weight = 1 if weight is None else as64(weight)[:, None]
        bias = 0 if bias is None else as64(bias)[:, None]
        out = (x - mean[:, None]) * (invstd[:, None] * weight) + bias
        if activation == "relu":
            out = np.where(out < 0, 0.0, out)
    return out.reshape(shape), mean, invstd, running_mean, running_var


def batch_norm_backward_reference(grad_out, x, weight, mean, invstd, training, relu_out=None):
    """(grad_input, grad_weight, grad_bias) of x (N, C, *) from the saved mean and invstd; grad_out is masked to 0
    where relu_out <= 0 when relu_out (the forward's output with relu) is given."""
    shape, g, x = np.shape(x), _channel_view(grad_out), _channel_view(x)
    if relu_out is not None:
        g = np.where(_channel_view(relu_out) <= 0, 0.0, g)
    mean, invstd = as64(mean)[:, None], as64(invstd)[:, None]
    with np.errstate(all="ignore"):
        xhat = (x - mean) * invstd
        scale = invstd * (1 if weight is None else as64(weight)[:, None])
        if training:  # sums over the count, at least 1: a channel with no values (N or S = 0) has no gradient
            count = max(g.shape[0] * g.shape[2], 1)
            grad_input = (g - g.sum(axis=(0, 2), keepdims=True) / count
                          - xhat * (g * xhat).sum(axis=(0, 2), keepdims=True) / count) * scale
        else:
            grad_input = g * scale
    return grad_input.reshape(shape), (g * xhat).sum(axis=(0, 2)), g.sum(axis=(0, 2))


def layer_norm_reference(x, weight, bias, eps=1e-5):
    """(out, mean, rstd) over each row."""
    x = as64(x)
    with np.errstate(all="ignore"):
        # The kernel sums d = x - x[0] (a shifted one-pass mean): a row whose first value is inf has mean
        # inf - inf = NaN (as PyTorch's for [-inf]; NumPy's mean of [-inf] is -inf); any other row, NumPy's mean.
        mean = np.where(np.isfinite(x[:, 0]) if x.shape[1] else True, x.mean(axis=1), np.nan)
        rstd = 1 / np.sqrt(x.var(axis=1) + eps)
        out = (x - mean[:, None]) * rstd[:, None] * (1 if weight is None else as64(weight))
    return out + (0 if bias is None else as64(bias)), mean, rstd


def layer_norm_backward_reference(grad_out, x, weight, mean, rstd):
    """(grad_input, grad_weight, grad_bias) from the saved mean and rstd."""
    g, x, mean, rstd = as64(grad_out), as64(x), as64(mean), as64(rstd)
    with np.errstate(all="ignore"):
        xhat = (x - mean[:, None]) * rstd[:, None]
        gw = g * (1 if weight is None else as64(weight))
        grad_input = rstd[:, None] * (gw - gw.mean(axis=1, keepdims=True)
                                      - xhat * (gw * xhat).mean(axis=1, keepdims=True))
    return grad_input, (g * xhat).sum(axis=0), g.sum(axis=0)


# ---- call specs -------------------------------------------------------------------------------------------------

def _affine(draw, rng, size, dtype):
    weight = values(rng, (size,), dtype, False, 0.5, 1.5) if draw("with_weight", [True, False]) else None
    bias = values(rng, (size,), dtype) if draw("with_bias", [True, False]) else None
    return weight, bias


def _batch_shape(draw, dims):
    """(N, C) for rank 2, (N, C, S) for rank 3 (the runner's sizes fix the rank; the small sizes draw it). A
    training batch of one value per channel is refused by design, so N >= 2."""
    N, C = max(dims[0], 2), dims[1]
    return (N, C) if draw("rank", [2, 3]) == 2 else (N, C, dims[2])


def batch_norm_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    training = draw("training", [True, False])
    activation = draw("activation", ["none", "relu"])
    shape = _batch_shape(draw, dims)
    N, C = shape[:2]
    x = values(rng, shape, dtype, special)
    weight, bias = _affine(draw, rng, C, dtype)
    with_running = not training or draw("with_running", [True, False])
    running = [values(rng, (C,), dtype, False, -0.5, 0.5), values(rng, (C,), dtype, False, 0.5, 2.0)] \
        if with_running else [None, None]
    momentum, eps = draw("momentum", [0.1, 0.3]), draw("eps", [1e-3, 1e-2])
    out, mean, invstd, running_mean, running_var = batch_norm_reference(x, weight, bias, *running, training,
                                                                        momentum, eps, activation)
    expected = {"out": out, "save_mean": mean, "save_invstd": invstd}
    if with_running:
        expected.update(running_mean=running_mean, running_var=running_var)
    return Call("batch_norm_forward", ["x", "weight", "bias", "running_mean", "running_var", "out", "save_mean",
                                       "save_invstd", "training", "momentum", "eps", "activation"],
                [x, weight, bias, *running, poison(shape, dtype), poison((C,), dtype), poison((C,), dtype),
                 training, momentum, eps, activation],
                {"x": "in", "weight": "opt_in", "bias": "opt_in", "running_mean": "opt_out", "running_var": "opt_out",
                 "out": "out", "save_mean": "out", "save_invstd": "out"}, expected,
                invalid_scalars={"activation": ["sigmoid", "", None]}, scale=int(np.prod(shape)) // max(C, 1) or 1)


def batch_norm_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    training = draw("training", [True, False])
    activation = draw("activation", ["none", "relu"])
    shape = _batch_shape(draw, dims)
    N, C = shape[:2]
    x = values(rng, shape, dtype)
    weight, bias = _affine(draw, rng, C, dtype)
    forward = batch_norm_reference(x, weight, bias, values(rng, (C,), dtype, False, -0.5, 0.5),
                                   values(rng, (C,), dtype, False, 0.5, 2.0), training, activation=activation)
    mean, invstd = forward[1].astype(dtype), forward[2].astype(dtype)
    relu_out = forward[0].astype(dtype) if activation == "relu" else None
    grad_out = values(rng, shape, dtype, upstream_special(special))
    grad_input, grad_weight, grad_bias = batch_norm_backward_reference(grad_out, x, weight, mean, invstd, training,
                                                                       relu_out)
    return Call("batch_norm_backward", ["grad_out", "x", "weight", "save_mean", "save_invstd", "grad_input",
                                        "grad_weight", "grad_bias", "training", "relu_out"],
                [grad_out, x, weight, mean, invstd, poison(shape, dtype), poison((C,), dtype), poison((C,), dtype),
                 training, relu_out],
                {"grad_out": "in", "x": "in", "weight": "opt_in", "save_mean": "in", "save_invstd": "in",
                 "grad_input": "opt_out", "grad_weight": "opt_out", "grad_bias": "opt_out", "relu_out": "opt_in"},
                {"grad_input": grad_input, "grad_weight": grad_weight, "grad_bias": grad_bias},
                scale=4 * (int(np.prod(shape)) // max(C, 1) or 1))


def layer_norm_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, D = dims[0], max(dims[1], 1)  # a row of no elements has no statistics
    x = values(rng, (N, D), dtype, special)
    weight, bias = _affine(draw, rng, D, dtype)
    eps = draw("eps", [1e-3, 1e-2])  # a larger eps than the default bounds rstd: two close values in a row
    out, mean, rstd = layer_norm_reference(x, weight, bias, eps)
    return Call("layer_norm_forward", ["x", "weight", "bias", "out", "mean", "rstd", "eps"],
                [x, weight, bias, poison((N, D), dtype), poison((N,), dtype), poison((N,), dtype), eps],
                {"x": "in", "weight": "opt_in", "bias": "opt_in", "out": "out", "mean": "out", "rstd": "out"},
                {"out": out, "mean": mean, "rstd": rstd}, scale=D)


def layer_norm_backward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, D = dims[0], max(dims[1], 1)
    x = values(rng, (N, D), dtype)
    weight, _ = _affine(draw, rng, D, dtype)
    _, mean, rstd = layer_norm_reference(x, None, None, 1e-3)
    mean, rstd = mean.astype(dtype), rstd.astype(dtype)
    grad_out = values(rng, (N, D), dtype, upstream_special(special))
    grad_input, grad_weight, grad_bias = layer_norm_backward_reference(grad_out, x, weight, mean, rstd)
    return Call("layer_norm_backward", ["grad_out", "x", "weight", "mean", "rstd", "grad_input", "grad_weight",
                                        "grad_bias"],
                [grad_out, x, weight, mean, rstd, poison((N, D), dtype), poison((D,), dtype), poison((D,), dtype)],
                {"grad_out": "in", "x": "in", "weight": "opt_in", "mean": "in", "rstd": "in", "grad_input": "opt_out",
                 "grad_weight": "opt_out", "grad_bias": "opt_out"},
                {"grad_input": grad_input, "grad_weight": grad_weight, "grad_bias": grad_bias}, scale=4 * max(N, D))


SPECS = {"batch_norm_forward": batch_norm_forward, "batch_norm_backward": batch_norm_backward,
         "layer_norm_forward": layer_norm_forward, "layer_norm_backward": layer_norm_backward}
AXES = {"batch_norm_forward": {"training": (True, False), "activation": ("none", "relu")},
        "batch_norm_backward": {"training": (True, False), "activation": ("none", "relu")},
        "layer_norm_forward": {"with_weight": (True, False), "with_bias": (True, False)},
        "layer_norm_backward": {"with_weight": (True, False)}}
# eps 1e-3 or more: two nearly equal values in a row would make rstd ~300 and the output rounding noise.
# (N, C) / (N, D): two rows, one column, odd sizes, more rows than one statistics chunk (256), and N * C above the
# OpenMP threshold with enough columns (or rows) for several threads. (N, C, S): S = 1 in the 3-D layout, odd
# planes, a plane larger than a statistics chunk (4096 values), several chunks of whole images, and channels enough
# for several threads above the OpenMP threshold.
BATCH_SIZES = [(2, 1), (2, 3), (5, 17), (250, 3), (3, 130), (300, 257), (1000, 65), (40_003, 2),
               (2, 3, 1), (3, 4, 7), (2, 1, 5000), (20, 3, 300), (3, 64, 1000)]
LAYER_SIZES = [(1, 1), (1, 2), (2, 3), (5, 17), (250, 3), (3, 2000), (1000, 65), (40_003, 2)]
SIZES = {"batch_norm_forward": BATCH_SIZES, "batch_norm_backward": BATCH_SIZES, "layer_norm_forward": LAYER_SIZES,
         "layer_norm_backward": LAYER_SIZES}


# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
def _batch_norm(x, weight, bias, training, activation="none"):
    running = (nnx.tensor(np.zeros(x.shape[1])), nnx.tensor(np.ones(x.shape[1])))
    return F.batch_norm(x, *running, weight, bias, training=training, eps=1e-3, activation=activation)


def _batch_norm_case(shape, training, activation="none"):
    def reference(x, w, b):
        return batch_norm_reference(x, w, b, np.zeros(x.shape[1]), np.ones(x.shape[1]), training, 0.1, 1e-3,
                                    activation)[0]
    mode = "train" if training else "eval"
    return Functional(f"batch_norm-{mode}-{len(shape)}d-{activation}",
                      lambda x, w, b: _batch_norm(x, w, b, training, activation), reference,
                      (shape, (shape[1],), (shape[1],)))


FUNCTIONAL = [
    Functional("layer_norm", lambda x, w, b: F.layer_norm(x, (6,), w, b, eps=1e-3),
               lambda x, w, b: layer_norm_reference(x, w, b, 1e-3)[0], ((4, 6), (6,), (6,))),
    *[_batch_norm_case((5, 3), training) for training in (True, False)],
    *[_batch_norm_case((3, 2, 4, 3), training, activation) for training in (True, False)
      for activation in ("none", "relu")],
    _batch_norm_case((2, 3, 5), True, "relu"),
]
