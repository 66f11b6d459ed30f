"""Adagrad, Adadelta, Adamax, NAdam and RAdam as stateful float64 references over many steps (their update rules are
tests/ops/optim_references.py's, the ones the kernels' call specs use), the option cases the tests run them with,
and the helpers that run a trajectory on nnx and on a reference (shared by test_more_optimizers.py,
test_more_optimizer_kernels.py and test_lookahead.py)."""
import numpy as np

import nnx
from helpers import random_array
from nnx import optim
from ops.optim_references import (
    adadelta_reference,
    adagrad_reference,
    adamax_reference,
    nadam_mu,
    nadam_reference,
    radam_reference,
)

SHAPES = [(1,), (17,), (5, 3), (33_001,)]  # one element, odd sizes, above the OpenMP threshold
STEPS = 20


# --- float64 NumPy references: the rules of tests/ops/optim_references.py, with the state they keep -------------------
class Reference:
    """One optimizer's rule over a list of parameters, with torch.optim's options (betas as a pair);
    update(i, theta, g) returns the new theta and keeps parameter i's state (the step count, the rule's states)."""

    def __init__(self, **options):
        self.__dict__.update(self.defaults, **options)
        self.state = {}

    def update(self, i, theta, g):
        state = self.state.setdefault(i, {"step": 0})
        state["step"] += 1
        return self.rule(state, state["step"], theta, g)

    def betas_options(self, *names):
        """The options `names` as the rule takes them: beta1, beta2 in place of betas."""
        options = {name: getattr(self, name) for name in names}
        return dict(options, beta1=self.betas[0], beta2=self.betas[1])


def _zeros(s, theta, *names):
    for name in names:
        s.setdefault(name, np.zeros_like(theta))


class ReferenceAdagrad(Reference):
    defaults = dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False)

    def rule(self, s, t, theta, g):
        s.setdefault("sum", np.full_like(theta, self.initial_accumulator_value))
        result = adagrad_reference(theta, g, s["sum"], t, self.lr, self.lr_decay, self.weight_decay, self.eps,
                                   self.maximize)
        s["sum"] = result["state_sum"]
        return result["param"]


class ReferenceAdadelta(Reference):
    defaults = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)

    def rule(self, s, t, theta, g):
        _zeros(s, theta, "square_avg", "acc_delta")
        result = adadelta_reference(theta, g, s["square_avg"], s["acc_delta"], self.lr, self.rho, self.eps,
                                    self.weight_decay, self.maximize)
        s["square_avg"], s["acc_delta"] = result["square_avg"], result["acc_delta"]
        return result["param"]


class ReferenceAdamax(Reference):
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False)

    def rule(self, s, t, theta, g):
        _zeros(s, theta, "exp_avg", "exp_inf")
        result = adamax_reference(theta, g, s["exp_avg"], s["exp_inf"], t,
                                  **self.betas_options("lr", "eps", "weight_decay", "maximize"))
        s["exp_avg"], s["exp_inf"] = result["exp_avg"], result["exp_inf"]
        return result["param"]


class ReferenceNAdam(Reference):
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                    decoupled_weight_decay=False, maximize=False)

    def rule(self, s, t, theta, g):
        _zeros(s, theta, "exp_avg", "exp_avg_sq")
        s["mu_product"] = s.get("mu_product", 1.0) * nadam_mu(t, self.betas[0], self.momentum_decay)
        result = nadam_reference(theta, g, s["exp_avg"], s["exp_avg_sq"], t, s["mu_product"],
                                 **self.betas_options("lr", "eps", "weight_decay", "momentum_decay",
                                                      "decoupled_weight_decay", "maximize"))
        s["exp_avg"], s["exp_avg_sq"] = result["exp_avg"], result["exp_avg_sq"]
        return result["param"]


class ReferenceRAdam(Reference):
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                    maximize=False)

    def rule(self, s, t, theta, g):
        _zeros(s, theta, "exp_avg", "exp_avg_sq")
        result = radam_reference(theta, g, s["exp_avg"], s["exp_avg_sq"], t,
                                 **self.betas_options("lr", "eps", "weight_decay", "decoupled_weight_decay",
                                                      "maximize"))
        s["exp_avg"], s["exp_avg_sq"] = result["exp_avg"], result["exp_avg_sq"]
        return result["param"]


CASES = [
    (optim.Adagrad, ReferenceAdagrad, {}),
    (optim.Adagrad, ReferenceAdagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
    (optim.Adagrad, ReferenceAdagrad, dict(lr=0.05, maximize=True, eps=1e-6)),
    (optim.Adadelta, ReferenceAdadelta, {}),
    (optim.Adadelta, ReferenceAdadelta, dict(lr=0.5, rho=0.7, weight_decay=0.1, maximize=True)),
    (optim.Adamax, ReferenceAdamax, {}),
    (optim.Adamax, ReferenceAdamax, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, maximize=True)),
    (optim.NAdam, ReferenceNAdam, {}),
    (optim.NAdam, ReferenceNAdam, dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    (optim.NAdam, ReferenceNAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.RAdam, ReferenceRAdam, {}),
    (optim.RAdam, ReferenceRAdam, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),  # rectified from step 3
    (optim.RAdam, ReferenceRAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def case_id(case):
    return case[0].__name__ + "-" + ",".join(f"{k}={v}" for k, v in case[2].items())


def make_params(rng, dtype):
    return [nnx.tensor(random_array(rng, shape, dtype), requires_grad=True) for shape in SHAPES]


def make_grads(rng, steps=STEPS):
    return [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(steps)]


def run_nnx(optimizer, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = nnx.tensor(g.astype(p.numpy().dtype))
        optimizer.step()


def run_reference(reference, thetas, grads):
    thetas = [t.astype(np.float64) for t in thetas]
    for step_grads in grads:
        thetas = [reference.update(i, theta, g) for i, (theta, g) in enumerate(zip(thetas, step_grads))]
    return thetas
