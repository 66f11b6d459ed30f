"""Optimizer-step family (sgd_step, adam_step, rmsprop_step, adagrad_step, adadelta_step, adamax_step, nadam_step,
radam_step over a parameter group): the kernels' call specs, whose expected values come from the float64 update rules
of ops/optim_references.py (one function per rule); then SGD, Adam and RMSprop as optimizer classes (options, state,
one _C step, its float64 reference, torch's twin) that tests/optim/test_optim_kernels.py and the CUDA float64 tests
run over many steps and option combinations."""
import itertools
import math

import numpy as np

from helpers import TOLERANCES, assert_close, random_array
from nnx import _C
from ops.optim_references import (
    adadelta_reference,
    adagrad_reference,
    adam_reference,
    adamax_reference,
    nadam_mu,
    nadam_reference,
    radam_reference,
    rmsprop_reference,
    sgd_reference,
)
from ops.spec import Call, Draw, upstream_special, values

# the values each range-checked scalar is refused with: lr, eps, weight_decay, ... must be finite and >= 0,
# betas in [0, 1), step >= 1
NONNEGATIVE = [-1.0, math.nan, math.inf]
BETA = [1.0, -0.1, math.nan]
STEP = [0, -1]


def _group(rng, dtype, dims, special, count=None):
    count = int(rng.integers(1, 4)) if count is None else count
    shapes = [tuple(dims[i:i + 1 + int(rng.integers(0, 2))]) for i in range(count)]
    params = [values(rng, s, dtype) for s in shapes]
    grads = [values(rng, s, dtype, upstream_special(special)) for s in shapes]
    return params, grads


def _positive(rng, params, dtype, scale=0.1):
    """A second-moment state per parameter (sums and averages of squares are >= 0)."""
    return [np.abs(values(rng, p.shape, dtype)) * scale for p in params]


def _f64(arrays, i):
    return None if arrays is None else arrays[i].astype(np.float64)


def _references(rule, lists, params, grads, *options, **keywords):
    """The rule applied to every parameter of the group (the state lists `lists` entry by entry, then `options`),
    as the Call's expected values keyed 'params[i]', '<state list>[i]' (a state the options leave unused, None, is
    not expected)."""
    names = {"param": "params"}  # the rule's result keys: the parameter, then its states in the order of `lists`
    expected = {}
    for i in range(len(params)):
        result = rule(_f64(params, i), _f64(grads, i), *(_f64(state, i) for state in lists.values()), *options,
                      **keywords)
        names.update(zip([key for key in result if key != "param"], lists))
        expected.update({f"{names[key]}[{i}]": value for key, value in result.items() if value is not None})
    return expected


def sgd_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    lr, momentum, dampening = draw("lr", [0.1, 0.01]), draw("momentum", [0.0, 0.9]), draw("dampening", [0.0, 0.1])
    weight_decay, nesterov = float(rng.choice([0.0, 0.01])), bool(momentum and not dampening and rng.integers(2))
    maximize, first_step = bool(rng.integers(2)), bool(rng.integers(2))
    buffers = [values(rng, p.shape, dtype) for p in params] if momentum else None
    expected = _references(sgd_reference, {"momentum_buffers": buffers}, params, grads, lr, momentum, dampening,
                           weight_decay, nesterov, maximize, first_step)
    return Call("sgd_step", ["params", "grads", "momentum_buffers", "lr", "momentum", "dampening", "weight_decay",
                             "nesterov", "maximize", "first_step"],
                [params, grads, buffers, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step],
                {"params": "out", "grads": "in", "momentum_buffers": "out" if momentum else "opt_out"}, expected,
                invalid_scalars={"lr": NONNEGATIVE, "momentum": [-0.5, math.nan], "dampening": [math.nan, math.inf],
                                 "weight_decay": [-1.0, math.nan]})


def adam_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    exp_avgs, exp_avg_sqs = _positive(rng, params, dtype), _positive(rng, params, dtype)
    amsgrad, decoupled = draw("amsgrad", [False, True]), draw("decoupled_weight_decay", [False, True])
    max_sqs = _positive(rng, params, dtype) if amsgrad else None
    step, lr, beta1, beta2, eps = int(rng.integers(1, 50)), 1e-2, 0.9, 0.999, 1e-8
    weight_decay, maximize = float(rng.choice([0.0, 0.01])), bool(rng.integers(2))
    expected = _references(adam_reference, {"exp_avgs": exp_avgs, "exp_avg_sqs": exp_avg_sqs,
                                            "max_exp_avg_sqs": max_sqs}, params, grads, step, lr, beta1, beta2, eps,
                           weight_decay, decoupled, amsgrad, maximize)
    return Call("adam_step", ["params", "grads", "exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs", "step", "lr", "beta1",
                              "beta2", "eps", "weight_decay", "decoupled_weight_decay", "amsgrad", "maximize"],
                [params, grads, exp_avgs, exp_avg_sqs, max_sqs, step, lr, beta1, beta2, eps, weight_decay, decoupled,
                 amsgrad, maximize],
                {"params": "out", "grads": "in", "exp_avgs": "out", "exp_avg_sqs": "out",
                 "max_exp_avg_sqs": "out" if amsgrad else "opt_out"}, expected,
                invalid_scalars={"step": STEP, "lr": [-1.0, math.nan], "beta1": BETA, "beta2": [1.0, math.nan],
                                 "eps": [-1.0, math.nan], "weight_decay": NONNEGATIVE})


def rmsprop_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    square_avgs = _positive(rng, params, dtype)
    centered, momentum = draw("centered", [False, True]), draw("momentum", [0.0, 0.9])
    grad_avgs = None
    if centered:
        # A real state has square_avg >= grad_avg^2 (an average of squares and the square of the average, with the
        # same alpha from 0), so the variance the rule takes the root of stays >= 0. Drawn with a margin: where
        # square_avg - grad_avg^2 cancels to near 0, float32 loses every digit of the root (3e-3 off in 1 of 80006
        # elements at NNX_TEST_SEED=2654350474), which tests the input, not the kernel.
        grad_avgs = [values(rng, p.shape, dtype) * 0.01 for p in params]
        square_avgs = [(v + g.astype(np.float64) ** 2 + 1e-3).astype(dtype) for v, g in zip(square_avgs, grad_avgs)]
    buffers = [values(rng, p.shape, dtype) * 0.1 for p in params] if momentum else None
    lr, alpha, eps, weight_decay, maximize = 1e-2, 0.99, 1e-8, float(rng.choice([0.0, 0.01])), bool(rng.integers(2))
    expected = _references(rmsprop_reference, {"square_avgs": square_avgs, "grad_avgs": grad_avgs,
                                               "momentum_buffers": buffers}, params, grads, lr, alpha, eps,
                           weight_decay, momentum, centered, maximize)
    return Call("rmsprop_step", ["params", "grads", "square_avgs", "grad_avgs", "momentum_buffers", "lr", "alpha",
                                 "eps", "weight_decay", "momentum", "centered", "maximize"],
                [params, grads, square_avgs, grad_avgs, buffers, lr, alpha, eps, weight_decay, momentum, centered,
                 maximize],
                {"params": "out", "grads": "in", "square_avgs": "out", "grad_avgs": "out" if centered else "opt_out",
                 "momentum_buffers": "out" if momentum else "opt_out"}, expected,
                invalid_scalars={"lr": [-1.0, math.nan], "alpha": [-0.5, 1.5, math.nan], "eps": [-1.0, math.nan],
                                 "weight_decay": NONNEGATIVE, "momentum": NONNEGATIVE})


def adagrad_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    state_sums = _positive(rng, params, dtype)
    step, lr, lr_decay = draw("step", [1, 2, 10]), draw("lr", [0.1, 0.01]), draw("lr_decay", [0.0, 0.05])
    weight_decay, eps, maximize = draw("weight_decay", [0.0, 0.01]), draw("eps", [1e-10, 1e-3]), draw(
        "maximize", [False, True])
    names = ["params", "grads", "state_sums", "step", "lr", "lr_decay", "weight_decay", "eps", "maximize"]
    options = [step, lr, lr_decay, weight_decay, eps, maximize]
    return Call("adagrad_step", names, [params, grads, state_sums, *options],
                {"params": "out", "grads": "in", "state_sums": "out"},
                _references(adagrad_reference, {"state_sums": state_sums}, params, grads, *options),
                invalid_scalars={"step": STEP, "lr": NONNEGATIVE, "lr_decay": NONNEGATIVE,
                                 "weight_decay": NONNEGATIVE, "eps": NONNEGATIVE})


def adadelta_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    square_avgs, acc_deltas = _positive(rng, params, dtype), _positive(rng, params, dtype, scale=0.01)
    lr, rho, eps = draw("lr", [1.0, 0.5]), draw("rho", [0.9, 0.3, 1.0]), draw("eps", [1e-6, 1e-3])
    weight_decay, maximize = draw("weight_decay", [0.0, 0.01]), draw("maximize", [False, True])
    names = ["params", "grads", "square_avgs", "acc_deltas", "lr", "rho", "eps", "weight_decay", "maximize"]
    options = [lr, rho, eps, weight_decay, maximize]
    return Call("adadelta_step", names, [params, grads, square_avgs, acc_deltas, *options],
                {"params": "out", "grads": "in", "square_avgs": "out", "acc_deltas": "out"},
                _references(adadelta_reference, {"square_avgs": square_avgs, "acc_deltas": acc_deltas}, params,
                            grads, *options),
                invalid_scalars={"lr": NONNEGATIVE, "rho": [-0.1, 1.5, math.nan], "eps": NONNEGATIVE,
                                 "weight_decay": NONNEGATIVE})


def adamax_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    exp_avgs, exp_infs = [values(rng, p.shape, dtype) * 0.1 for p in params], _positive(rng, params, dtype)
    step, lr = draw("step", [1, 2, 10]), draw("lr", [2e-3, 0.1])
    # beta1 = 0.3: the lerp weight 1 - beta1 >= 0.5 interpolates from the other end
    beta1, beta2, eps = draw("beta1", [0.9, 0.3]), draw("beta2", [0.999, 0.5]), draw("eps", [1e-8, 1e-3])
    weight_decay, maximize = draw("weight_decay", [0.0, 0.01]), draw("maximize", [False, True])
    names = ["params", "grads", "exp_avgs", "exp_infs", "step", "lr", "beta1", "beta2", "eps", "weight_decay",
             "maximize"]
    options = [step, lr, beta1, beta2, eps, weight_decay, maximize]
    return Call("adamax_step", names, [params, grads, exp_avgs, exp_infs, *options],
                {"params": "out", "grads": "in", "exp_avgs": "out", "exp_infs": "out"},
                _references(adamax_reference, {"exp_avgs": exp_avgs, "exp_infs": exp_infs}, params, grads, *options),
                invalid_scalars={"step": STEP, "lr": NONNEGATIVE, "beta1": BETA, "beta2": BETA, "eps": NONNEGATIVE,
                                 "weight_decay": NONNEGATIVE})


def nadam_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    exp_avgs, exp_avg_sqs = [values(rng, p.shape, dtype) * 0.1 for p in params], _positive(rng, params, dtype)
    step, lr = draw("step", [1, 2, 10, 40]), draw("lr", [2e-3, 0.05])
    beta1, beta2, eps = draw("beta1", [0.9, 0.3]), draw("beta2", [0.999, 0.9]), draw("eps", [1e-8, 1e-3])
    weight_decay, momentum_decay = draw("weight_decay", [0.0, 0.01]), draw("momentum_decay", [4e-3, 0.1])
    decoupled, maximize = draw("decoupled_weight_decay", [False, True]), draw("maximize", [False, True])
    # the product of mu_1 ... mu_step, as the optimizer accumulates it
    mu_product = math.prod(nadam_mu(t, beta1, momentum_decay) for t in range(1, step + 1))
    names = ["params", "grads", "exp_avgs", "exp_avg_sqs", "step", "mu_product", "lr", "beta1", "beta2", "eps",
             "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize"]
    options = [step, mu_product, lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize]
    return Call("nadam_step", names, [params, grads, exp_avgs, exp_avg_sqs, *options],
                {"params": "out", "grads": "in", "exp_avgs": "out", "exp_avg_sqs": "out"},
                _references(nadam_reference, {"exp_avgs": exp_avgs, "exp_avg_sqs": exp_avg_sqs}, params, grads,
                            *options),
                invalid_scalars={"step": STEP, "mu_product": [math.nan, math.inf, -math.inf], "lr": NONNEGATIVE,
                                 "beta1": BETA, "beta2": BETA, "eps": NONNEGATIVE, "weight_decay": NONNEGATIVE,
                                 "momentum_decay": NONNEGATIVE})


def radam_step(rng, dtype, dims, special, fixed=None):
    draw = Draw(rng, fixed)
    params, grads = _group(rng, dtype, dims, special)
    exp_avgs, exp_avg_sqs = [values(rng, p.shape, dtype) * 0.1 for p in params], _positive(rng, params, dtype)
    # with either beta2, step 1 takes the plain momentum update and step 10 the rectified one
    step, lr = draw("step", [1, 10, 2, 40]), draw("lr", [1e-3, 0.05])
    beta1, beta2, eps = draw("beta1", [0.9, 0.3]), draw("beta2", [0.999, 0.9]), draw("eps", [1e-8, 1e-3])
    weight_decay, decoupled = draw("weight_decay", [0.0, 0.01]), draw("decoupled_weight_decay", [False, True])
    maximize = draw("maximize", [False, True])
    names = ["params", "grads", "exp_avgs", "exp_avg_sqs", "step", "lr", "beta1", "beta2", "eps", "weight_decay",
             "decoupled_weight_decay", "maximize"]
    options = [step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize]
    return Call("radam_step", names, [params, grads, exp_avgs, exp_avg_sqs, *options],
                {"params": "out", "grads": "in", "exp_avgs": "out", "exp_avg_sqs": "out"},
                _references(radam_reference, {"exp_avgs": exp_avgs, "exp_avg_sqs": exp_avg_sqs}, params, grads,
                            *options),
                invalid_scalars={"step": STEP, "lr": NONNEGATIVE, "beta1": BETA, "beta2": BETA, "eps": NONNEGATIVE,
                                 "weight_decay": NONNEGATIVE})


SPECS = {"sgd_step": sgd_step, "adam_step": adam_step, "rmsprop_step": rmsprop_step, "adagrad_step": adagrad_step,
         "adadelta_step": adadelta_step, "adamax_step": adamax_step, "nadam_step": nadam_step,
         "radam_step": radam_step}
# the options that change which state lists are written; and RAdam's two branches (plain momentum, rectified)
AXES = {"sgd_step": {"momentum": (0.0, 0.9)}, "adam_step": {"amsgrad": (False, True)},
        "rmsprop_step": {"centered": (False, True), "momentum": (0.0, 0.9)}, "radam_step": {"step": (1, 10)}}
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
