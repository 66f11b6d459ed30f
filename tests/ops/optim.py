"""Optimizer-step family (sgd_step, adam_step, rmsprop_step over a parameter group): the float64 update rules of
DESIGN.md ("Exact update rules") and the kernels' call specs; then the rules as optimizer classes (Sgd, Adam,
Rmsprop: options, state, one _C step, its float64 reference, torch's twin) that tests/optim/test_optim_kernels.py and
the CUDA float64 tests run over many steps and option combinations."""
import itertools
import math

import numpy as np

from helpers import TOLERANCES, assert_close, random_array
from nnx import _C
from ops.spec import Call, Draw, upstream_special, values


def _group(rng, dtype, dims, special, count=None):
    count = int(rng.integers(1, 4)) if count is None else count
    shapes = [tuple(dims[i:i + 1 + int(rng.integers(0, 2))]) for i in range(count)]
    params = [values(rng, s, dtype) for s in shapes]
    grads = [values(rng, s, dtype, upstream_special(special)) for s in shapes]
    return params, grads


def sgd_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    lr, momentum, dampening = draw("lr", [0.1, 0.01]), draw("momentum", [0.0, 0.9]), draw("dampening", [0.0, 0.1])
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


def adam_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    exp_avgs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params]
    exp_avg_sqs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params]
    amsgrad, decoupled = draw("amsgrad", [False, True]), draw("decoupled_weight_decay", [False, True])
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


def rmsprop_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    square_avgs = [np.abs(values(rng, p.shape, dtype)) * 0.1 for p in params]
    centered, momentum = draw("centered", [False, True]), draw("momentum", [0.0, 0.9])
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


SPECS = {"sgd_step": sgd_step, "adam_step": adam_step, "rmsprop_step": rmsprop_step}
AXES = {"sgd_step": {"momentum": (0.0, 0.9)}, "adam_step": {"amsgrad": (False, True)},
        "rmsprop_step": {"centered": (False, True), "momentum": (0.0, 0.9)}}
# each parameter of the group takes one or two of the sizes, from its own position on
SIZES = [(1, 1, 1, 1), (3, 17, 5, 2), (40_003, 2, 7, 1)]


# ---- the update rules as optimizer classes, with the option combinations they are run with ----------------------

def combos(**choices):
    """Every combination of the given option values, as dicts."""
    names = list(choices)
    return [dict(zip(names, values)) for values in itertools.product(*choices.values())]


def option_id(options):
    return ",".join(f"{k}={v}" for k, v in options.items())


SGD_OPTIONS = [
    o
    for o in combos(momentum=[0.0, 0.9], dampening=[0.0, 0.25], nesterov=[False, True], weight_decay=[0.0, 0.05],
                    maximize=[False, True])
    if not (o["momentum"] == 0 and o["dampening"] != 0) and not (o["nesterov"] and o["dampening"] != 0)
    and not (o["nesterov"] and o["momentum"] == 0)
]
ADAM_OPTIONS = combos(weight_decay=[0.0, 0.05], decoupled_weight_decay=[False, True], amsgrad=[False, True],
                      maximize=[False, True])
# beta1 = 0.3 makes torch's lerp weight 1 - beta1 = 0.7 >= 0.5, which interpolates from the other end;
# a large eps shows in float32 too.
ADAM_OPTIONS += [dict(beta1=0.3, beta2=0.5, eps=0.1, amsgrad=True)]
RMSPROP_OPTIONS = combos(centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.05], maximize=[False, True])
RMSPROP_OPTIONS += [dict(alpha=0.4, eps=0.1, centered=True)]


# ---- float64 references: one step of each rule, written as in DESIGN.md ---------------------------

def sgd_reference(p, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                  first_step=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        buf = g if first_step else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return dict(param=p - lr * g, momentum_buffer=buf)


def adam_reference(p, g, m, v, v_max, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                   decoupled_weight_decay=False, amsgrad=False, maximize=False):
    g = -g if maximize else g
    if weight_decay and decoupled_weight_decay:
        p = p - lr * weight_decay * p
    elif weight_decay:
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    second_moment = v
    if amsgrad:
        v_max = np.maximum(v_max, v)
        second_moment = v_max
    m_hat = m / (1 - beta1**step)
    v_hat = second_moment / (1 - beta2**step)
    return dict(param=p - lr * m_hat / (np.sqrt(v_hat) + eps), exp_avg=m, exp_avg_sq=v, max_exp_avg_sq=v_max)


def rmsprop_reference(p, g, square_avg, grad_avg, buf, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    square_avg = alpha * square_avg + (1 - alpha) * g * g
    variance = square_avg
    if centered:
        grad_avg = alpha * grad_avg + (1 - alpha) * g
        variance = variance - grad_avg**2
    if momentum:
        buf = momentum * buf + g / (np.sqrt(variance) + eps)
        p = p - lr * buf
    else:
        p = p - lr * g / (np.sqrt(variance) + eps)
    return dict(param=p, square_avg=square_avg, grad_avg=grad_avg, momentum_buffer=buf)


# ---- one optimizer per kernel: its state lists, its kernel call and its reference -----------------

class Sgd:
    lr = 0.1
    state_names = ("momentum_buffer",)

    def __init__(self, options):
        self.options = options

    def uses(self, name):
        return self.options.get("momentum", 0.0) != 0

    def kernel(self, params, grads, state, step):
        buffers = state.get("momentum_buffer")
        _C.sgd_step(params, grads, buffers, self.lr, first_step=step == 1, **self.options)

    def reference(self, p, g, s, step):
        return sgd_reference(p, g, s.get("momentum_buffer"), self.lr, first_step=step == 1, **self.options)

    def torch_optimizer(self, torch, tensors):
        return torch.optim.SGD(tensors, lr=self.lr, foreach=False, **self.options)


class Adam:
    lr = 0.01
    state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, options):
        self.options = options

    def uses(self, name):
        return name != "max_exp_avg_sq" or self.options.get("amsgrad", False)

    def kernel(self, params, grads, state, step):
        _C.adam_step(params, grads, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), step,
                     self.lr, **self.options)

    def reference(self, p, g, s, step):
        return adam_reference(p, g, s["exp_avg"], s["exp_avg_sq"], s.get("max_exp_avg_sq"), step, self.lr,
                              **self.options)

    def torch_optimizer(self, torch, tensors):
        options = dict(self.options)
        betas = (options.pop("beta1", 0.9), options.pop("beta2", 0.999))
        return torch.optim.Adam(tensors, lr=self.lr, betas=betas, foreach=False, **options)


class Rmsprop:
    lr = 0.01
    state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, options):
        self.options = options

    def uses(self, name):
        if name == "grad_avg":
            return self.options.get("centered", False)
        if name == "momentum_buffer":
            return self.options.get("momentum", 0.0) != 0
        return True

    def kernel(self, params, grads, state, step):
        _C.rmsprop_step(params, grads, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
                        self.lr, **self.options)

    def reference(self, p, g, s, step):
        return rmsprop_reference(p, g, s["square_avg"], s.get("grad_avg"), s.get("momentum_buffer"), self.lr,
                                 **self.options)

    def torch_optimizer(self, torch, tensors):
        return torch.optim.RMSprop(tensors, lr=self.lr, foreach=False, **self.options)


OPTIMIZERS = ([(Sgd, o) for o in SGD_OPTIONS] + [(Adam, o) for o in ADAM_OPTIONS]
              + [(Rmsprop, o) for o in RMSPROP_OPTIONS])
OPTIMIZER_IDS = [f"{cls.__name__.lower()}[{option_id(o)}]" for cls, o in OPTIMIZERS]


def random_state(rng, name, shape, dtype):
    """Fresh non-zero optimizer state; second moments sit well above the squared first moment so a
    centered variance stays positive."""
    if name in ("exp_avg_sq", "max_exp_avg_sq", "square_avg"):
        return random_array(rng, shape, dtype, low=0.5, high=3.0)
    if name == "grad_avg":
        return random_array(rng, shape, dtype, low=-0.5, high=0.5)
    return random_array(rng, shape, dtype)


def flat(arrays, dtype=np.float64):
    """The group as one vector: the update rules are elementwise, so one reference call covers it."""
    return np.concatenate([a.ravel() for a in arrays], dtype=dtype)


def assert_group_close(actual, expected, step):
    """assert_close on every array of the step; one in-place vectorized check first keeps 50 steps cheap."""
    names = list(actual)
    tolerance = TOLERANCES[actual["param"].dtype.type]
    error = np.concatenate([actual[n] for n in names], dtype=np.float64)
    reference = np.concatenate([expected[n] for n in names])
    error -= reference
    np.abs(error, out=error)
    np.abs(reference, out=reference)
    reference *= tolerance["rtol"]
    reference += tolerance["atol"]
    if (error <= reference).all():  # False for NaN, which then fails below with a full report
        return
    for name in names:
        print(f"step {step}, {name}:")
        assert_close(actual[name], expected[name])
