"""Losses family (cross_entropy_forward, which also gives the gradient; mse_loss, l1_loss and bce_with_logits,
forward and backward): the one float64 reference of each and the kernels' call specs."""
import numpy as np

import nnx
import nnx.nn.functional as F
from helpers import EDGE_SIZES
from ops.gradcheck import Functional
from ops.spec import REDUCTIONS, Call, Draw, poison, upstream_special, values

ELEMENTWISE = ("mse_loss", "l1_loss", "bce_with_logits")


def cross_entropy_reference(logits, target, reduction="mean", ignore_index=-100, label_smoothing=0.0, weight=None):
    """PyTorch's cross_entropy with class indices, in float64: (loss, logsumexp, dloss/dlogits). A row holding +inf
    or NaN is NaN; every target ignored under "mean" gives loss 0/0 = NaN and a zero gradient (PyTorch's). With
    class weights (nn.functional's, the kernel has none) a row's terms are weighted and "mean" divides by the summed
    weight of the counted targets."""
    x = np.asarray(logits, dtype=np.float64)
    N, C = x.shape
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    with np.errstate(all="ignore"):
        top = x.max(axis=1, keepdims=True) if x.size else np.zeros((N, 1))
        log_sum = np.log(np.exp(x - top).sum(axis=1, keepdims=True))
        logsumexp = (top + log_sum)[:, 0]
        # (x - top) - log_sum, not x - logsumexp: at logits of magnitude 1e4 the rounded logsumexp is off by up to
        # half an ulp of 1e4 (9e-13), which p_j - 1 near p_j = 1 would inherit
        log_probs = (x - top) - log_sum
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        nll = -log_probs[np.arange(N), safe] * w[safe] if N else np.zeros(0)
        smooth = -(log_probs * w).mean(axis=1) if N else np.zeros(0)
        # no smoothing term at all when smoothing is 0: 0 * inf (a -inf logit) would be NaN
        row_loss = np.where(valid, (1 - label_smoothing) * nll + (label_smoothing * smooth if label_smoothing else 0),
                            0.0)
        one_hot = np.zeros((N, C))
        one_hot[np.arange(N), safe] = w[safe] if N else 0.0
        # d row_loss / d x_j = (1 - s) w_t (p_j - [j = t]) + s / C (sum_c w_c p_j - w_j), which is
        # p_j - ((1 - s) [j = t] + s / C) without weights
        spread = label_smoothing / C if weight is None else label_smoothing * w / C
        smoothed = (1 - label_smoothing) * one_hot + spread
        probabilities = np.exp(log_probs)
        if weight is not None and N:
            probabilities *= (1 - label_smoothing) * w[safe][:, None] + label_smoothing * w.sum() / C
        grad = np.where(valid[:, None], probabilities - smoothed, 0.0)
        count = float(w[safe][valid].sum()) if weight is not None else int(valid.sum())
        if reduction == "none":
            return row_loss, logsumexp, grad
        if reduction == "sum":
            return np.asarray(row_loss.sum()), logsumexp, grad
        return (np.asarray(row_loss.sum() / count if count else np.nan), logsumexp,
                grad / count if count else np.zeros_like(grad))


def elementwise_reference(name, x, t, pos_weight=None):
    """(per-element loss, d loss / d input) of mse_loss, l1_loss or bce_with_logits, in float64."""
    with np.errstate(all="ignore"):
        if name == "mse_loss":
            return (x - t) ** 2, 2 * (x - t)
        if name == "l1_loss":
            return np.abs(x - t), np.sign(x - t)
        p = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
        weight = 1 + (p - 1) * t
        # pw t softplus(-x) + (1 - t) softplus(x): the same value as PyTorch's (1 - t) x + weight softplus(-x)
        # for finite x, and the mathematical limit (inf, not inf - inf = NaN) for infinite x.
        loss = (weight - (1 - t)) * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x)
        sigmoid = 0.5 * (1 + np.tanh(0.5 * x))
        return loss, weight * sigmoid - p * t
    raise ValueError(name)


def reduce_reference(per_element, reduction):
    """The reduced loss; the mean of no elements is NaN (PyTorch's)."""
    if reduction == "mean":
        return np.asarray(per_element.mean() if per_element.size else np.nan)
    return np.asarray(per_element.sum()) if reduction == "sum" else per_element


def scale_by_upstream(grad, grad_loss, reduction):
    """Multiply a per-element gradient by the upstream gradient of the reduced loss."""
    upstream = np.asarray(grad_loss, dtype=np.float64)
    with np.errstate(all="ignore"):
        if reduction == "none":
            return grad * upstream.reshape(upstream.shape + (1,) * (grad.ndim - upstream.ndim))
        return grad * upstream


# ---- call specs -------------------------------------------------------------------------------------------------

def cross_entropy_forward(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    N, C = dims[0], max(dims[1], 1)
    logits = values(rng, (N, C), dtype, special, -5, 5)
    target = rng.integers(0, C, N)
    ignore_index = draw("ignore_index", [-100, 0])
    if N and draw("some_ignored", [False, True]):
        target[rng.integers(0, N)] = ignore_index
    reduction, smoothing = draw("reduction", REDUCTIONS), draw("label_smoothing", [0.0, 0.1])
    loss, logsumexp, grad = cross_entropy_reference(logits, target, reduction, ignore_index, smoothing)
    expected = {"loss": loss, "logsumexp": logsumexp}
    with_grad = draw("with_grad", [False, True])
    if with_grad:
        expected["grad_logits"] = grad
    return Call("cross_entropy_forward", ["logits", "target", "loss", "logsumexp", "grad_logits", "reduction",
                                          "ignore_index", "label_smoothing"],
                [logits, target, poison(loss.shape, dtype), poison((N,), dtype),
                 poison((N, C), dtype) if with_grad else None, reduction, ignore_index, smoothing],
                {"logits": "in", "target": "in", "loss": "out", "logsumexp": "out", "grad_logits": "opt_out"},
                expected, invalid_scalars={"reduction": ["avg", "MEAN"], "label_smoothing": [-0.1, 1.5, np.nan]},
                scale=max(C, 1))


def elementwise_forward(name):
    def build(rng, dtype, dims, special, fixed=None):
        draw = Draw(rng, fixed)
        shape = tuple(dims[:draw("rank", [0, 1, 2, 3])])
        x = values(rng, shape, dtype, special)
        t = rng.uniform(0, 1, size=shape).astype(dtype)
        reduction = draw("reduction", REDUCTIONS)
        names = ["input", "target", "loss", "reduction"]
        pos_weight = None
        if name == "bce_with_logits" and shape and draw("with_pos_weight", [False, True]):
            pos_weight = rng.uniform(0.5, 2, size=shape[-1]).astype(dtype)
            names.append("pos_weight")
        per_element, _ = elementwise_reference(name, x.astype(np.float64), t.astype(np.float64), pos_weight)
        expected = reduce_reference(per_element, reduction)
        args = [x, t, poison(expected.shape, dtype), reduction] + ([pos_weight] if pos_weight is not None else [])
        roles = {"input": "in", "target": "in", "loss": "out", "pos_weight": "opt_in"}
        return Call(f"{name}_forward", names, args, {k: v for k, v in roles.items() if k in names},
                    {"loss": expected}, invalid_scalars={"reduction": ["avg"]}, scale=max(x.size, 1) ** 0.5)
    return build


def elementwise_backward(name):
    def build(rng, dtype, dims, special, fixed=None):
        draw = Draw(rng, fixed)
        shape = tuple(dims[:draw("rank", [0, 1, 2, 3])])
        x = values(rng, shape, dtype)
        t = rng.uniform(0, 1, size=shape).astype(dtype)
        t[...] = np.where(np.isclose(t, x), t + 0.5, t)  # no ties for l1's sign
        reduction = draw("reduction", REDUCTIONS)
        names = ["grad_loss", "input", "target", "grad_input", "reduction"]
        pos_weight = None
        if name == "bce_with_logits" and shape and draw("with_pos_weight", [False, True]):
            pos_weight = rng.uniform(0.5, 2, size=shape[-1]).astype(dtype)
            names.append("pos_weight")
        _, derivative = elementwise_reference(name, x.astype(np.float64), t.astype(np.float64), pos_weight)
        grad_loss = values(rng, shape if reduction == "none" else (), dtype, upstream_special(special))
        with np.errstate(all="ignore"):
            expected = derivative * grad_loss.astype(np.float64) / (max(x.size, 1) if reduction == "mean" else 1)
        args = [grad_loss, x, t, poison(shape, dtype), reduction] + ([pos_weight] if pos_weight is not None else [])
        roles = {"grad_loss": "in", "input": "in", "target": "in", "grad_input": "out", "pos_weight": "opt_in"}
        return Call(f"{name}_backward", names, args, {k: v for k, v in roles.items() if k in names},
                    {"grad_input": expected}, invalid_scalars={"reduction": ["avg"]})
    return build


SPECS = {"cross_entropy_forward": cross_entropy_forward,
         **{f"{name}_{direction}": (elementwise_forward if direction == "forward" else elementwise_backward)(name)
            for name in ELEMENTWISE for direction in ("forward", "backward")}}
AXES = {kernel: {"reduction": REDUCTIONS} for kernel in SPECS}
AXES["cross_entropy_forward"] = {"reduction": REDUCTIONS, "with_grad": (True,), "label_smoothing": (0.0, 0.1)}
AXES["bce_with_logits_forward"] = AXES["bce_with_logits_backward"] = {"reduction": REDUCTIONS,
                                                                      "with_pos_weight": (False, True)}
# (N, C) for cross-entropy: single row/class, odd sizes, a wide row, and N * C above the OpenMP threshold; the
# elementwise losses take the leading sizes (a drawn rank).
SIZES = {"cross_entropy_forward": [(1, 1), (1, 7), (3, 1), (17, 33), (250, 3), (64, 1000), (40_003, 3)],
         **{kernel: [(), *[(n,) for n in EDGE_SIZES], (7, 13), (3, 5, 4)] for kernel in SPECS
            if kernel != "cross_entropy_forward"}}


# ---- functional wrappers (nnx.nn.functional), gradient-checked by test_functional_gradients.py -----------------
_TARGET = np.array([0, 4, -100, 2, 1])


def _cross_entropy(reduction, smoothing):
    return Functional(f"cross_entropy-{reduction}-smoothing{smoothing}",
                      lambda x: F.cross_entropy(x, nnx.tensor(_TARGET), reduction=reduction, label_smoothing=smoothing),
                      lambda x: cross_entropy_reference(x, _TARGET, reduction, -100, smoothing)[0], ((5, 6),))


def _elementwise(name, reduction):
    function = F.binary_cross_entropy_with_logits if name == "bce_with_logits" else getattr(F, name)
    return Functional(f"{name}-{reduction}", lambda x, t: function(x, t, reduction=reduction),
                      lambda x, t: reduce_reference(elementwise_reference(name, x, t)[0], reduction), ((3, 4), (3, 4)),
                      low=0.05)  # targets in (0, 2): bce's are probabilities, and l1 stays off its kink at x == t


FUNCTIONAL = [_cross_entropy(reduction, smoothing) for reduction in REDUCTIONS for smoothing in (0.0, 0.2)] + \
    [_elementwise(name, reduction) for name in ELEMENTWISE for reduction in REDUCTIONS]
