"""The float64 NumPy references of Adagrad, Adadelta, Adamax, NAdam and RAdam, written from torch.optim's documented
algorithms, the option cases the tests run them with, and the helpers that run a trajectory on nnx and on a
reference (shared by test_more_optimizers.py, test_more_optimizer_kernels.py and test_lookahead.py)."""
import numpy as np

import nnx
from helpers import random_array
from nnx import optim

SHAPES = [(1,), (17,), (5, 3), (33_001,)]  # one element, odd sizes, above the OpenMP threshold
STEPS = 20


# --- float64 NumPy references, written from torch.optim's documented algorithms ---------------------------------------
class Reference:
    """One optimizer's rule over a list of parameters; update(i, theta, g) returns the new theta."""

    def __init__(self, **options):
        self.__dict__.update(self.defaults, **options)
        self.state = {}

    def grad(self, theta, g):
        g = -g if self.maximize else g
        return g + self.weight_decay * theta if self.weight_decay and not self.decoupled() else g

    def decoupled(self):
        return getattr(self, "decoupled_weight_decay", False)

    def update(self, i, theta, g):
        state = self.state.setdefault(i, {"step": 0})
        state["step"] += 1
        if self.decoupled():
            theta = theta * (1 - self.lr * self.weight_decay)
        return self.rule(state, state["step"], theta, self.grad(theta, g))


class ReferenceAdagrad(Reference):
    defaults = dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False)

    def rule(self, s, t, theta, g):
        s.setdefault("sum", np.full_like(theta, self.initial_accumulator_value))
        clr = self.lr / (1 + (t - 1) * self.lr_decay)
        s["sum"] = s["sum"] + g * g
        return theta - clr * g / (np.sqrt(s["sum"]) + self.eps)


class ReferenceAdadelta(Reference):
    defaults = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)

    def rule(self, s, t, theta, g):
        v, u = s.setdefault("square_avg", np.zeros_like(theta)), s.setdefault("acc_delta", np.zeros_like(theta))
        v = self.rho * v + (1 - self.rho) * g * g
        delta = np.sqrt(u + self.eps) / np.sqrt(v + self.eps) * g
        s["square_avg"], s["acc_delta"] = v, self.rho * u + (1 - self.rho) * delta * delta
        return theta - self.lr * delta


class ReferenceAdamax(Reference):
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False)

    def rule(self, s, t, theta, g):
        b1, b2 = self.betas
        m = b1 * s.get("exp_avg", 0) + (1 - b1) * g
        u = np.maximum(b2 * s.get("exp_inf", np.zeros_like(theta)), np.abs(g) + self.eps)
        s["exp_avg"], s["exp_inf"] = m, u
        return theta - self.lr / (1 - b1 ** t) * m / u


class ReferenceNAdam(Reference):
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                    decoupled_weight_decay=False, maximize=False)

    def rule(self, s, t, theta, g):
        b1, b2 = self.betas
        mu = b1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        s["mu_product"] = s.get("mu_product", 1.0) * mu
        m = b1 * s.get("exp_avg", 0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_sq", 0) + (1 - b2) * g * g
        s["exp_avg"], s["exp_avg_sq"] = m, v
        denom = np.sqrt(v / (1 - b2 ** t)) + self.eps
        theta = theta - self.lr * (1 - mu) / (1 - s["mu_product"]) * g / denom
        return theta - self.lr * mu_next / (1 - s["mu_product"] * mu_next) * m / denom


class ReferenceRAdam(Reference):
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                    maximize=False)

    def rule(self, s, t, theta, g):
        b1, b2 = self.betas
        m = b1 * s.get("exp_avg", 0) + (1 - b1) * g
        v = b2 * s.get("exp_avg_sq", 0) + (1 - b2) * g * g
        s["exp_avg"], s["exp_avg_sq"] = m, v
        m_hat = m / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t <= 5:
            return theta - self.lr * m_hat
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + self.eps)
        return theta - self.lr * m_hat * adaptive * rect


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
