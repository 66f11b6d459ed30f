"""Valid calls of every nnx._C kernel with their float64 NumPy references, for the native bad-input tests
and the fuzzer: build(kernel, rng, dtype, dims, special) gives a Call whose args follow the binding's
positional order, whose `roles` say which arrays are read, written or optional, and whose `expected`
holds the reference value of every output after the call."""
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf, log_softmax, softmax  # noqa: F401 (softmax_backward's out)

KINDS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus")
LINEAR_KINDS = ("none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh")
REDUCTIONS = ("mean", "sum", "none")


@dataclass
class Call:
    kernel: str
    names: list  # positional argument names, in the binding's order
    args: list
    roles: dict  # array argument name -> "in", "out", "opt_in" or "opt_out" (the opt_ ones may be None)
    expected: dict = field(default_factory=dict)  # output name -> reference value after the call
    aliases_ok: set = field(default_factory=set)  # (output, input) pairs the kernel may share
    invalid_scalars: dict = field(default_factory=dict)  # scalar name -> values the binding must refuse
    scale: float = 1.0  # tolerance multiplier (sums over many terms)

    def arg(self, name):
        return self.args[self.names.index(name)]


def values(rng, shape, dtype, special=False, low=-3.0, high=3.0):
    """Fresh uniform values; `special` sprinkles NaN, +inf and -inf in (when the array is not empty), or
    NaN alone when special == "nan" (upstream gradients: inf * 0 cancellations are implementation-defined)."""
    array = rng.uniform(low, high, size=shape)
    if special and array.size:
        flat = array.reshape(-1)
        for value in (np.nan,) if special == "nan" else (np.nan, np.inf, -np.inf):
            flat[rng.integers(0, flat.size)] = value
    return array.astype(dtype)


def upstream_special(special):
    """The `special` setting for an upstream gradient: NaN only."""
    return "nan" if special else False


def poison(shape, dtype):
    dtype = np.dtype(dtype)
    return np.full(shape, np.nan if dtype.kind == "f" else np.iinfo(dtype).max, dtype=dtype)


def activation(kind, x, slope=0.01, beta=1.0, threshold=20.0):
    with np.errstate(all="ignore"):
        if kind == "relu":
            return np.where(np.isnan(x), x, np.maximum(x, 0))
        if kind == "leaky_relu":
            return np.where(x > 0, x, slope * x)
        if kind == "sigmoid":
            return 0.5 * (1 + np.tanh(0.5 * x))
        if kind == "tanh":
            return np.tanh(x)
        if kind == "gelu":
            return 0.5 * x * (1 + erf(x / math.sqrt(2)))
        if kind == "gelu_tanh":
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        if kind == "silu":
            return x * 0.5 * (1 + np.tanh(0.5 * x))
        if kind == "softplus":
            return np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta)
        return x  # "none"


def activation_derivative(kind, x, slope=0.01, beta=1.0, threshold=20.0):
    with np.errstate(all="ignore"):
        if kind == "relu":
            return (x > 0).astype(np.float64)
        if kind == "leaky_relu":
            return np.where(x > 0, 1.0, slope)
        if kind in ("sigmoid", "silu"):
            s = 0.5 * (1 + np.tanh(0.5 * x))
            return s * (1 - s) if kind == "sigmoid" else s * (1 + x * (1 - s))
        if kind == "tanh":
            return 1 - np.tanh(x) ** 2
        if kind == "gelu":
            return 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        if kind == "gelu_tanh":
            c = math.sqrt(2 / math.pi)
            inner = c * (x + 0.044715 * x**3)
            t = np.tanh(inner)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        if kind == "softplus":
            return np.where(beta * x > threshold, 1.0, 0.5 * (1 + np.tanh(0.5 * beta * x)))
        return np.ones_like(x)


# ---- builders: one per kernel ---------------------------------------------------------------------------------

def gemm(rng, dtype, dims, special):
    M, N, K = dims[0], dims[1], dims[2]
    trans_a, trans_b = bool(rng.integers(2)), bool(rng.integers(2))
    a = values(rng, (K, M) if trans_a else (M, K), dtype, special)
    b = values(rng, (N, K) if trans_b else (K, N), dtype)
    alpha, beta = float(rng.choice([1.0, -0.5, 2.0])), float(rng.choice([0.0, 0.0, 1.0, 0.5]))
    out = poison((M, N), dtype) if beta == 0 else values(rng, (M, N), dtype)
    op_a, op_b = (a.T if trans_a else a).astype(np.float64), (b.T if trans_b else b).astype(np.float64)
    with np.errstate(all="ignore"):
        expected = alpha * (op_a @ op_b) + (beta * out.astype(np.float64) if beta else 0.0)
    return Call("gemm", ["a", "b", "out", "trans_a", "trans_b", "alpha", "beta"],
                [a, b, out, trans_a, trans_b, alpha, beta], {"a": "in", "b": "in", "out": "out"},
                {"out": expected}, scale=max(K, 1))


def column_sum(rng, dtype, dims, special):
    N, M = dims[0], dims[1]
    x = values(rng, (N, M), dtype, special)
    accumulate = bool(rng.integers(2))
    out = values(rng, (M,), dtype) if accumulate else poison((M,), dtype)
    expected = x.astype(np.float64).sum(axis=0) + (out.astype(np.float64) if accumulate else 0)
    return Call("column_sum", ["x", "out", "accumulate"], [x, out, accumulate], {"x": "in", "out": "out"},
                {"out": expected}, scale=max(N, 1))


def row_argmax(rng, dtype, dims, special):
    N, M = dims[0], max(dims[1], 1)
    x = values(rng, (N, M), dtype, special)
    expected = np.argmax(x, axis=1) if N else np.zeros(0, np.int64)
    return Call("row_argmax", ["x", "out"], [x, poison((N,), np.int64)], {"x": "in", "out": "out"},
                {"out": expected})


def linear_forward(rng, dtype, dims, special):
    N, K, M = dims[0], dims[1], dims[2]
    kind = str(rng.choice(LINEAR_KINDS))
    slope = float(rng.choice([0.01, 0.2, -0.5]))
    x, weight = values(rng, (N, K), dtype, special), values(rng, (M, K), dtype)
    bias = values(rng, (M,), dtype) if rng.integers(2) else None
    preact = poison((N, M), dtype) if kind.startswith("gelu") or rng.integers(2) else None
    with np.errstate(all="ignore"):
        pre = x.astype(np.float64) @ weight.astype(np.float64).T + (0 if bias is None else bias)
    expected = {"out": activation(kind, pre, slope)}
    if preact is not None:
        expected["preact"] = pre
    return Call("linear_forward", ["x", "weight", "bias", "out", "activation", "negative_slope", "preact"],
                [x, weight, bias, poison((N, M), dtype), kind, slope, preact],
                {"x": "in", "weight": "in", "bias": "opt_in", "out": "out", "preact": "opt_out"}, expected,
                invalid_scalars={"activation": ["swish", ""],
                                 **({"negative_slope": [math.nan, math.inf]} if kind == "leaky_relu" else {})},
                scale=max(K, 1))


def linear_backward(rng, dtype, dims, special):
    N, K, M = dims[0], dims[1], dims[2]
    kind = str(rng.choice(LINEAR_KINDS))
    slope = 0.1
    x, weight = values(rng, (N, K), dtype), values(rng, (M, K), dtype)
    grad_out = values(rng, (N, M), dtype, upstream_special(special))
    pre = values(rng, (N, M), np.float64)
    saved = None if kind == "none" else (pre if kind.startswith("gelu") else activation(kind, pre, slope)).astype(dtype)
    accumulate = bool(rng.integers(2))
    grad_preact = activation_derivative(kind, pre, slope) * grad_out.astype(np.float64)
    if kind in ("relu", "leaky_relu"):  # PyTorch selects on the forward's out: inf * 0 gives 0, not NaN
        grad_preact = np.where(saved > 0, grad_out, grad_out * slope if kind == "leaky_relu" else 0.0)
    grad_weight = values(rng, (M, K), dtype) if accumulate else poison((M, K), dtype)
    grad_bias = values(rng, (M,), dtype) if accumulate else poison((M,), dtype)
    with np.errstate(all="ignore"):
        expected = {"grad_preact": grad_preact, "grad_x": grad_preact @ weight.astype(np.float64),
                    "grad_weight": grad_preact.T @ x.astype(np.float64) + (grad_weight if accumulate else 0),
                    "grad_bias": grad_preact.sum(axis=0) + (grad_bias if accumulate else 0)}
    return Call("linear_backward", ["grad_out", "x", "weight", "saved", "grad_preact", "grad_x", "grad_weight",
                                    "grad_bias", "activation", "negative_slope", "accumulate"],
                [grad_out, x, weight, saved, poison((N, M), dtype), poison((N, K), dtype), grad_weight, grad_bias,
                 kind, slope, accumulate],
                {"grad_out": "in", "x": "in", "weight": "in", "saved": "opt_in", "grad_preact": "out",
                 "grad_x": "opt_out", "grad_weight": "opt_out", "grad_bias": "opt_out"}, expected,
                aliases_ok={("grad_preact", "grad_out")}, scale=max(N, K, M, 1))


def activation_forward(rng, dtype, dims, special):
    kind = str(rng.choice(KINDS))
    slope, beta, threshold = float(rng.choice([0.01, -0.3])), float(rng.choice([1.0, 2.0, -1.0])), 20.0
    x = values(rng, tuple(dims[:int(rng.integers(0, 4))]), dtype, special)
    return Call("activation_forward", ["kind", "x", "out", "negative_slope", "beta", "threshold"],
                [kind, x, poison(x.shape, dtype), slope, beta, threshold], {"x": "in", "out": "out"},
                {"out": activation(kind, x.astype(np.float64), slope, beta, threshold)}, aliases_ok={("out", "x")},
                invalid_scalars={"kind": ["swish", "RELU"],
                                 **({"beta": [0.0, math.nan], "threshold": [math.nan]} if kind == "softplus" else {}),
                                 **({"negative_slope": [math.nan, math.inf]} if kind == "leaky_relu" else {})})


def activation_backward(rng, dtype, dims, special):
    kind = str(rng.choice(KINDS))
    slope, beta, threshold = 0.05, 1.0, 20.0
    shape = tuple(dims[:int(rng.integers(0, 4))])
    x = values(rng, shape, dtype)
    out = np.asarray(activation(kind, x.astype(np.float64), slope, beta, threshold), dtype=dtype)
    grad_out = values(rng, shape, dtype, upstream_special(special))
    derivative = activation_derivative(kind, x.astype(np.float64), slope, beta, threshold)
    with np.errstate(all="ignore"):
        expected = grad_out * derivative
        if kind in ("relu", "leaky_relu"):  # a select on out, as PyTorch's threshold_backward
            expected = np.where(out > 0, grad_out, grad_out * slope if kind == "leaky_relu" else 0.0)
    return Call("activation_backward", ["kind", "grad_out", "x", "out", "grad_in", "negative_slope", "beta",
                                        "threshold"],
                [kind, grad_out, x, out, poison(shape, dtype), slope, beta, threshold],
                {"grad_out": "in", "x": "in", "out": "in", "grad_in": "out"}, {"grad_in": expected},
                aliases_ok={("grad_in", "grad_out")}, invalid_scalars={"kind": ["swish"]})


def _stable_softmax(x, log):
    """PyTorch's algorithm over the last axis: a row holding +inf or NaN is NaN throughout."""
    with np.errstate(all="ignore"):
        shifted = x - x.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return log_probs if log else np.exp(log_probs)


def softmax_forward(rng, dtype, dims, special):
    shape = tuple(dims[:int(rng.integers(1, 4))])
    log = bool(rng.integers(2))
    x = values(rng, shape, dtype, special)
    reference = _stable_softmax(x.astype(np.float64), log) if x.size else x
    return Call("softmax_forward", ["x", "out", "log"], [x, poison(shape, dtype), log], {"x": "in", "out": "out"},
                {"out": reference})


def softmax_backward(rng, dtype, dims, special):
    shape = tuple(dims[:int(rng.integers(1, 4))])
    log = bool(rng.integers(2))
    x = values(rng, shape, np.float64)
    out = ((log_softmax if log else softmax)(x, axis=-1) if x.size else x).astype(dtype)
    grad_out = values(rng, shape, dtype, upstream_special(special))
    g, o = grad_out.astype(np.float64), out.astype(np.float64)
    with np.errstate(all="ignore"):
        expected = g - np.exp(o) * g.sum(-1, keepdims=True) if log else o * (g - (g * o).sum(-1, keepdims=True))
    return Call("softmax_backward", ["grad_out", "out", "grad_in", "log"], [grad_out, out, poison(shape, dtype), log],
                {"grad_out": "in", "out": "in", "grad_in": "out"}, {"grad_in": expected})


def _cross_entropy_reference(logits, target, reduction, ignore_index, smoothing):
    N, C = logits.shape
    with np.errstate(all="ignore"):  # x - (max + log sum exp(x - max)): a row with +inf is all NaN (PyTorch)
        top = logits.max(axis=1, keepdims=True) if logits.size else np.zeros((N, 1))
        logp = logits - (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))
        keep = target != ignore_index
        safe = np.where(keep, target, 0)
        nll = -logp[np.arange(N), safe] if N else np.zeros(0)
        smooth = -logp.mean(axis=1) if N else np.zeros(0)
        per_row = np.where(keep, (1 - smoothing) * nll + (smoothing * smooth if smoothing else 0.0), 0.0)
        one_hot = np.zeros((N, C))
        one_hot[np.arange(N), safe] = 1
        grad = np.where(keep[:, None], np.exp(logp) - ((1 - smoothing) * one_hot + smoothing / C), 0.0)
        count = keep.sum()
        if reduction == "mean":  # every target ignored: loss 0/0 = NaN, gradient 0 (PyTorch's)
            return np.asarray(per_row.sum() / count), grad / count if count else np.zeros_like(grad)
        if reduction == "sum":
            return np.asarray(per_row.sum()), grad
        return per_row, grad


def cross_entropy_forward(rng, dtype, dims, special):
    N, C = dims[0], max(dims[1], 1)
    logits = values(rng, (N, C), dtype, special, -5, 5)
    target = rng.integers(0, C, N)
    ignore_index = int(rng.choice([-100, 0]))
    if N and rng.integers(2):
        target[rng.integers(0, N)] = ignore_index
    reduction, smoothing = str(rng.choice(REDUCTIONS)), float(rng.choice([0.0, 0.1]))
    loss, grad = _cross_entropy_reference(logits.astype(np.float64), target, reduction, ignore_index, smoothing)
    with_grad = bool(rng.integers(2))
    with np.errstate(all="ignore"):  # the stable form: a row with +inf gives NaN, as PyTorch's loss does
        wide = logits.astype(np.float64)
        top = wide.max(axis=1, keepdims=True) if N else np.zeros((0, 1))
        logsumexp = (top + np.log(np.exp(wide - top).sum(axis=1, keepdims=True))).reshape(N)
    expected = {"loss": loss, "logsumexp": logsumexp}
    if with_grad:
        expected["grad_logits"] = grad
    return Call("cross_entropy_forward", ["logits", "target", "loss", "logsumexp", "grad_logits", "reduction",
                                          "ignore_index", "label_smoothing"],
                [logits, target, poison(loss.shape, dtype), poison((N,), dtype),
                 poison((N, C), dtype) if with_grad else None, reduction, ignore_index, smoothing],
                {"logits": "in", "target": "in", "loss": "out", "logsumexp": "out", "grad_logits": "opt_out"},
                expected, invalid_scalars={"reduction": ["avg", "MEAN"], "label_smoothing": [-0.1, 1.5, math.nan]},
                scale=max(C, 1))


def _pointwise(kind, x, t, pos_weight=None):
    with np.errstate(all="ignore"):
        if kind == "mse_loss":
            return (x - t) ** 2, 2 * (x - t)
        if kind == "l1_loss":
            return np.abs(x - t), np.sign(x - t)
        weight = 1 + ((pos_weight - 1) if pos_weight is not None else 0) * t
        # pw t softplus(-x) + (1 - t) softplus(x): the same value as PyTorch's (1 - t) x + weight softplus(-x)
        # for finite x, and the mathematical limit (inf, not inf - inf = NaN) for infinite x.
        loss = (weight - (1 - t)) * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x)
        s = 0.5 * (1 + np.tanh(0.5 * x))
        return loss, weight * s - (pos_weight if pos_weight is not None else 1) * t


def _reduce(per_element, reduction):
    if reduction == "mean":
        return np.asarray(per_element.mean() if per_element.size else np.nan)
    return np.asarray(per_element.sum()) if reduction == "sum" else per_element


def pointwise_forward(kind):
    def build(rng, dtype, dims, special):
        shape = tuple(dims[:int(rng.integers(0, 4))])
        x = values(rng, shape, dtype, special)
        t = rng.uniform(0, 1, size=shape).astype(dtype)
        reduction = str(rng.choice(REDUCTIONS))
        names = ["input", "target", "loss", "reduction"]
        pos_weight = None
        if kind == "bce_with_logits" and shape and rng.integers(2):
            pos_weight = rng.uniform(0.5, 2, size=shape[-1]).astype(dtype)
            names.append("pos_weight")
        per_element, _ = _pointwise(kind if kind != "bce_with_logits" else "bce", x.astype(np.float64),
                                    t.astype(np.float64), pos_weight)
        expected = _reduce(per_element, reduction)
        args = [x, t, poison(expected.shape, dtype), reduction] + ([pos_weight] if "pos_weight" in names else [])
        roles = {"input": "in", "target": "in", "loss": "out", "pos_weight": "opt_in"}
        return Call(f"{kind}_forward", names, args, {k: v for k, v in roles.items() if k in names},
                    {"loss": expected}, invalid_scalars={"reduction": ["avg"]}, scale=max(x.size, 1) ** 0.5)
    return build


def pointwise_backward(kind):
    def build(rng, dtype, dims, special):
        shape = tuple(dims[:int(rng.integers(0, 4))])
        x = values(rng, shape, dtype)
        t = rng.uniform(0, 1, size=shape).astype(dtype)
        t[...] = np.where(np.isclose(t, x), t + 0.5, t)  # no ties for l1's sign
        reduction = str(rng.choice(REDUCTIONS))
        _, derivative = _pointwise(kind if kind != "bce_with_logits" else "bce", x.astype(np.float64),
                                   t.astype(np.float64))
        grad_loss = values(rng, shape if reduction == "none" else (), dtype, upstream_special(special))
        with np.errstate(all="ignore"):
            expected = derivative * grad_loss.astype(np.float64) / (max(x.size, 1) if reduction == "mean" else 1)
        return Call(f"{kind}_backward", ["grad_loss", "input", "target", "grad_input", "reduction"],
                    [grad_loss, x, t, poison(shape, dtype), reduction],
                    {"grad_loss": "in", "input": "in", "target": "in", "grad_input": "out"},
                    {"grad_input": expected}, invalid_scalars={"reduction": ["avg"]})
    return build


def dropout_forward(rng, dtype, dims, special):
    shape = tuple(dims[:int(rng.integers(0, 4))])
    x = values(rng, shape, dtype, special)
    p = float(rng.choice([0.0, 0.1, 0.5, 0.9, 1.0]))
    seed, offset = int(rng.integers(0, 2**63)), int(rng.integers(0, 2**40))
    uniforms = np.empty(shape, np.float64)
    return Call("dropout_forward", ["x", "out", "mask", "p", "seed", "offset"],
                [x, poison(shape, dtype), poison(shape, np.uint8), p, seed, offset],
                {"x": "in", "out": "out", "mask": "out"}, {"dropout": (x, p, seed, offset, uniforms)},
                invalid_scalars={"p": [-0.1, 1.5, math.nan], "seed": [-1, 2**64], "offset": [-1, 2**64]})


def dropout_backward(rng, dtype, dims, special):
    shape = tuple(dims[:int(rng.integers(0, 4))])
    grad_out = values(rng, shape, dtype, upstream_special(special))
    mask = rng.integers(0, 2, size=shape).astype(np.uint8)
    p = float(rng.choice([0.1, 0.5, 1.0]))
    with np.errstate(all="ignore"):  # dropped elements are 0 (a select: NaN gradients do not leak through)
        expected = np.where(mask == 1, grad_out * (1 / (1 - p) if p < 1 else 0.0), 0.0)
    return Call("dropout_backward", ["grad_out", "mask", "grad_in", "p"], [grad_out, mask, poison(shape, dtype), p],
                {"grad_out": "in", "mask": "in", "grad_in": "out"}, {"grad_in": expected},
                invalid_scalars={"p": [-0.5, 2.0, math.nan]})


def embedding_forward(rng, dtype, dims, special):
    V, D = max(dims[0], 1), dims[1]
    weight = values(rng, (V, D), dtype, special)
    indices = rng.integers(0, V, size=tuple(dims[2:2 + int(rng.integers(0, 3))]))
    return Call("embedding_forward", ["weight", "indices", "out"],
                [weight, indices, poison(indices.shape + (D,), dtype)],
                {"weight": "in", "indices": "in", "out": "out"}, {"out": weight.astype(np.float64)[indices]})


def embedding_backward(rng, dtype, dims, special):
    V, D = max(dims[0], 1), dims[1]
    indices = rng.integers(0, V, size=tuple(dims[2:2 + int(rng.integers(0, 3))]))
    grad_out = values(rng, indices.shape + (D,), dtype, upstream_special(special))
    padding_idx = int(rng.choice([-1, 0]))
    grad_weight = values(rng, (V, D), dtype)
    expected = grad_weight.astype(np.float64)
    keep = indices.reshape(-1) != padding_idx
    np.add.at(expected, indices.reshape(-1)[keep], grad_out.reshape(indices.size, D)[keep].astype(np.float64))
    return Call("embedding_backward", ["grad_out", "indices", "grad_weight", "padding_idx"],
                [grad_out, indices, grad_weight, padding_idx],
                {"grad_out": "in", "indices": "in", "grad_weight": "out"}, {"grad_weight": expected},
                scale=max(indices.size, 1))


def _group(rng, dtype, dims, special, count=None):
    count = int(rng.integers(1, 4)) if count is None else count
    shapes = [tuple(dims[i:i + 1 + int(rng.integers(0, 2))]) for i in range(count)]
    params = [values(rng, s, dtype) for s in shapes]
    grads = [values(rng, s, dtype, upstream_special(special)) for s in shapes]
    return params, grads


def sgd_step(rng, dtype, dims, special):
    params, grads = _group(rng, dtype, dims, special)
    lr, momentum, dampening = float(rng.choice([0.1, 0.01])), float(rng.choice([0.0, 0.9])), float(rng.choice([0, 0.1]))
    weight_decay, nesterov = float(rng.choice([0.0, 0.01])), bool(momentum and not dampening and rng.integers(2))
    maximize, first_step = bool(rng.integers(2)), bool(rng.integers(2))
    buffers = [values(rng, p.shape, dtype) for p in params] if momentum else None
    expected = {}
    for i, (p, g) in enumerate(zip(params, grads)):
        p64, g64 = p.astype(np.float64), (-1 if maximize else 1) * g.astype(np.float64)
        with np.errstate(all="ignore"):
            g64 = g64 + weight_decay * p64
            if momentum:
                b = g64 if first_step else momentum * buffers[i].astype(np.float64) + (1 - dampening) * g64
                expected[f"momentum_buffers[{i}]"] = b
                g64 = g64 + momentum * b if nesterov else b
            expected[f"params[{i}]"] = p64 - lr * g64
    return Call("sgd_step", ["params", "grads", "momentum_buffers", "lr", "momentum", "dampening", "weight_decay",
                             "nesterov", "maximize", "first_step"],
                [params, grads, buffers, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step],
                {"params": "out", "grads": "in", "momentum_buffers": "out" if momentum else "opt_out"}, expected,
                invalid_scalars={"lr": [-1.0, math.nan, math.inf], "momentum": [-0.5, math.nan],
                                 "weight_decay": [-1.0, math.nan]})


def adam_step(rng, dtype, dims, special):
    params, grads = _group(rng, dtype, dims, special)
    exp_avgs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params]
    exp_avg_sqs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params]
    amsgrad, decoupled = bool(rng.integers(2)), bool(rng.integers(2))
    max_sqs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params] if amsgrad else None
    step, lr, beta1, beta2, eps = int(rng.integers(1, 50)), 1e-2, 0.9, 0.999, 1e-8
    weight_decay, maximize = float(rng.choice([0.0, 0.01])), bool(rng.integers(2))
    expected = {}
    for i, (p, g) in enumerate(zip(params, grads)):
        p64, g64 = p.astype(np.float64), (-1 if maximize else 1) * g.astype(np.float64)
        with np.errstate(all="ignore"):
            if weight_decay and decoupled:
                p64 = p64 * (1 - lr * weight_decay)
            elif weight_decay:
                g64 = g64 + weight_decay * p64
            m = beta1 * exp_avgs[i] + (1 - beta1) * g64
            v = beta2 * exp_avg_sqs[i] + (1 - beta2) * g64 * g64
            v_used = np.maximum(max_sqs[i], v) if amsgrad else v
            if amsgrad:
                expected[f"max_exp_avg_sqs[{i}]"] = v_used
            denom = np.sqrt(v_used / (1 - beta2**step)) + eps
            expected[f"params[{i}]"] = p64 - lr * (m / (1 - beta1**step)) / denom
            expected[f"exp_avgs[{i}]"], expected[f"exp_avg_sqs[{i}]"] = m, v
    return Call("adam_step", ["params", "grads", "exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs", "step", "lr", "beta1",
                              "beta2", "eps", "weight_decay", "decoupled_weight_decay", "amsgrad", "maximize"],
                [params, grads, exp_avgs, exp_avg_sqs, max_sqs, step, lr, beta1, beta2, eps, weight_decay, decoupled,
                 amsgrad, maximize],
                {"params": "out", "grads": "in", "exp_avgs": "out", "exp_avg_sqs": "out",
                 "max_exp_avg_sqs": "out" if amsgrad else "opt_out"}, expected,
                invalid_scalars={"step": [0, -1], "lr": [-1.0, math.nan], "beta1": [1.0, -0.1, math.nan],
                                 "beta2": [1.0, math.nan], "eps": [-1.0, math.nan]})


def rmsprop_step(rng, dtype, dims, special):
    params, grads = _group(rng, dtype, dims, special)
    square_avgs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params]
    centered, momentum = bool(rng.integers(2)), float(rng.choice([0.0, 0.9]))
    grad_avgs = [values(rng, p.shape, dtype) * 0.01 for p in params] if centered else None
    buffers = [values(rng, p.shape, dtype) * 0.1 for p in params] if momentum else None
    lr, alpha, eps, weight_decay, maximize = 1e-2, 0.99, 1e-8, float(rng.choice([0.0, 0.01])), bool(rng.integers(2))
    expected = {}
    for i, (p, g) in enumerate(zip(params, grads)):
        p64, g64 = p.astype(np.float64), (-1 if maximize else 1) * g.astype(np.float64)
        with np.errstate(all="ignore"):
            g64 = g64 + weight_decay * p64
            v = alpha * square_avgs[i] + (1 - alpha) * g64 * g64
            expected[f"square_avgs[{i}]"] = v
            avg = v
            if centered:
                mean = alpha * grad_avgs[i] + (1 - alpha) * g64
                expected[f"grad_avgs[{i}]"] = mean
                avg = v - mean * mean
            denom = np.sqrt(avg) + eps
            if momentum:
                b = momentum * buffers[i] + g64 / denom
                expected[f"momentum_buffers[{i}]"] = b
                expected[f"params[{i}]"] = p64 - lr * b
            else:
                expected[f"params[{i}]"] = p64 - lr * g64 / denom
    return Call("rmsprop_step", ["params", "grads", "square_avgs", "grad_avgs", "momentum_buffers", "lr", "alpha",
                                 "eps", "weight_decay", "momentum", "centered", "maximize"],
                [params, grads, square_avgs, grad_avgs, buffers, lr, alpha, eps, weight_decay, momentum, centered,
                 maximize],
                {"params": "out", "grads": "in", "square_avgs": "out", "grad_avgs": "out" if centered else "opt_out",
                 "momentum_buffers": "out" if momentum else "opt_out"}, expected,
                invalid_scalars={"lr": [-1.0, math.nan], "alpha": [-0.5, math.nan], "eps": [-1.0, math.nan]})


BUILDERS = {
    "gemm": gemm, "column_sum": column_sum, "row_argmax": row_argmax, "linear_forward": linear_forward,
    "linear_backward": linear_backward, "activation_forward": activation_forward,
    "activation_backward": activation_backward, "softmax_forward": softmax_forward,
    "softmax_backward": softmax_backward, "cross_entropy_forward": cross_entropy_forward,
    "mse_loss_forward": pointwise_forward("mse_loss"), "mse_loss_backward": pointwise_backward("mse_loss"),
    "l1_loss_forward": pointwise_forward("l1_loss"), "l1_loss_backward": pointwise_backward("l1_loss"),
    "bce_with_logits_forward": pointwise_forward("bce_with_logits"),
    "bce_with_logits_backward": pointwise_backward("bce_with_logits"),
    "dropout_forward": dropout_forward, "dropout_backward": dropout_backward,
    "embedding_forward": embedding_forward, "embedding_backward": embedding_backward,
    "sgd_step": sgd_step, "adam_step": adam_step, "rmsprop_step": rmsprop_step,
}


def build(kernel, rng, dtype, dims, special=False):
    with np.errstate(all="ignore"):  # references of NaN/inf inputs
        return BUILDERS[kernel](rng, np.dtype(dtype), list(dims), special)


# ---- checking a call's outputs against the reference ------------------------------------------------------------

def tolerance(dtype, scale):
    if np.dtype(dtype) == np.float32:
        return dict(rtol=5e-5 * scale ** 0.5 + 2e-5, atol=2e-5 * scale ** 0.5)
    return dict(rtol=1e-11 * scale + 1e-12, atol=1e-11 * scale)


def output(call, name):
    """An output array by name, list entries as 'params[0]'."""
    if "[" in name:
        base, index = name[:-1].split("[")
        return call.arg(base)[int(index)]
    return call.arg(name)


def check(call, dtype, run_philox):
    """Assert every output of a completed call equals its reference (NaN where the reference is NaN)."""
    for name, expected in call.expected.items():
        if name == "dropout":
            _check_dropout(call, *expected, run_philox=run_philox)
            continue
        if expected is None:
            continue
        got = output(call, name)
        expected = np.asarray(expected)
        assert got.shape == expected.shape, f"{call.kernel} {name}: shape {got.shape}, expected {expected.shape}"
        if got.dtype.kind in "iu":
            np.testing.assert_array_equal(got, expected, err_msg=f"{call.kernel} {name}")
            continue
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(got.astype(np.float64), expected, equal_nan=True,
                                       err_msg=f"{call.kernel} {name}", **tolerance(dtype, call.scale))


def _check_dropout(call, x, p, seed, offset, uniforms, run_philox):
    out, mask = call.arg("out"), call.arg("mask")
    uniforms = np.empty(x.shape, x.dtype)
    run_philox(uniforms, seed, offset)
    kept = uniforms.astype(np.float64) >= p  # in float64: a float32 comparison would round p
    np.testing.assert_array_equal(mask, kept.astype(np.uint8) if p < 1 else np.zeros_like(mask))
    with np.errstate(all="ignore"):
        expected = x.astype(np.float64) * mask * (1 / (1 - p) if p < 1 else 0.0)
    np.testing.assert_allclose(out.astype(np.float64), np.where(mask == 1, expected, 0.0), equal_nan=True,
                               **tolerance(x.dtype, 1))


# ---- mutations: each turns a valid call into one the binding must refuse -----------------------------------------

ARRAY_MUTATIONS = ("list", "none", "scalar", "object", "dtype", "complex", "big_endian", "strided", "ndim",
                   "readonly", "alias", "out_of_range")
INDEX_ARRAYS = {"target", "indices"}


def array_slots(call):
    """(slot name, current array, role) for every array argument, list entries as 'params[0]'."""
    slots = []
    for name, role in call.roles.items():
        value = call.arg(name)
        if isinstance(value, list):
            slots += [(f"{name}[{i}]", entry, role) for i, entry in enumerate(value)]
        elif value is not None:
            slots.append((name, value, role))
    return slots


def _set(call, slot, value):
    if "[" in slot:
        base, index = slot[:-1].split("[")
        call.args[call.names.index(base)][int(index)] = value
    else:
        call.args[call.names.index(slot)] = value


def _strided(array):
    if array.size <= 1:
        return None
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    view = wide[..., ::2]
    view[...] = array
    return None if view.flags.c_contiguous else view


def _other_dtype(array, call, rng):
    floats = [a for _, a, _ in array_slots(call) if a.dtype.kind == "f"]
    pool = [np.int32, np.int64, np.uint8, np.float16, np.bool_, np.float32, np.float64]
    if array.dtype.kind == "f" and len(floats) == 1:
        pool = [d for d in pool if np.dtype(d).kind != "f" or d == np.float16]  # one float array: any float works
    pool = [d for d in pool if np.dtype(d) != array.dtype]
    with np.errstate(all="ignore"):  # NaN poison cast to integers
        return array.astype(pool[int(rng.integers(len(pool)))])


def _overlapping_output(call, slot, array):
    """An output that shares memory with one of the call's inputs (same dtype), or None."""
    for other_slot, other, role in array_slots(call):
        if role not in ("in", "opt_in") or other.dtype != array.dtype or \
                (slot.split("[")[0], other_slot) in call.aliases_ok:
            continue
        if other.size >= array.size > 0:
            return other.reshape(-1)[:array.size].reshape(array.shape)
    return None


def mutate(call, slot, mutation, rng):
    """Apply `mutation` to array argument `slot`; False when it does not apply to that argument."""
    array = dict((s, a) for s, a, _ in array_slots(call))[slot]
    role = dict((s, r) for s, _, r in array_slots(call))[slot]
    replacement = None
    if mutation == "list":
        replacement = array.tolist()
    elif mutation == "none" and not role.startswith("opt"):
        replacement = None
        _set(call, slot, None)
        return True
    elif mutation == "scalar":
        replacement = 1.0
    elif mutation == "object":
        replacement = np.empty(array.shape, dtype=object)
        replacement[...] = 1.0
    elif mutation == "dtype":
        replacement = _other_dtype(array, call, rng)
    elif mutation == "complex":
        replacement = array.astype(np.complex64)
    elif mutation == "big_endian" and array.dtype.itemsize > 1:
        replacement = array.astype(array.dtype.newbyteorder(">"))
    elif mutation == "strided":
        replacement = _strided(array)
    elif mutation == "ndim":
        replacement = np.stack([array, array])
    elif mutation == "readonly" and role in ("out", "opt_out"):
        replacement = array.copy()
        replacement.flags.writeable = False
    elif mutation == "alias" and role in ("out", "opt_out"):
        replacement = _overlapping_output(call, slot, array)
    elif mutation == "out_of_range" and slot in INDEX_ARRAYS and array.dtype.kind == "i" and array.size:
        replacement = array.copy()
        bound = call.arg("logits").shape[1] if slot == "target" else call.arg("weight" if "weight" in call.names
                                                                              else "grad_weight").shape[0]
        replacement.reshape(-1)[int(rng.integers(array.size))] = bound if rng.integers(2) else -5
    if replacement is None:
        return False
    _set(call, slot, replacement)
    return True


def expected_errors(mutation):
    return (IndexError,) if mutation == "out_of_range" else (TypeError, ValueError)
