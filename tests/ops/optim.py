"""Optimizer-step family (sgd_step, adam_step, rmsprop_step over a parameter group): the float64 update rules of
DESIGN.md ("Exact update rules") and the kernels' call specs. (The other optimizers' kernels are checked against
their rules in tests/optim/test_optim_kernels.py.)"""
import math

import numpy as np

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
