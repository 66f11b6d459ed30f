"""The native kernels of Adagrad, Adadelta, Adamax, NAdam and RAdam (_C.*_step) over several steps from zero state,
against the stateful float64 references of more_optimizer_rules.py (tests/ops/optim.py's call specs check single
steps from random state, and the bad-input battery their refusals), in float32 and float64; and a state list that is
the params list refused."""

import numpy as np
import pytest
from more_optimizer_rules import ReferenceAdadelta, ReferenceAdagrad, ReferenceAdamax, ReferenceNAdam, ReferenceRAdam

from helpers import FLOAT_DTYPES, assert_close, random_array
from nnx import _C

# --- the native kernels directly --------------------------------------------------------------------------------------
KERNELS = {  # function -> (state list names, reference class, state names in the reference, takes a step)
    "adagrad_step": (["state_sums"], ReferenceAdagrad, ["sum"], True),
    "adadelta_step": (["square_avgs", "acc_deltas"], ReferenceAdadelta, ["square_avg", "acc_delta"], False),
    "adamax_step": (["exp_avgs", "exp_infs"], ReferenceAdamax, ["exp_avg", "exp_inf"], True),
    "nadam_step": (["exp_avgs", "exp_avg_sqs"], ReferenceNAdam, ["exp_avg", "exp_avg_sq"], True),
    "radam_step": (["exp_avgs", "exp_avg_sqs"], ReferenceRAdam, ["exp_avg", "exp_avg_sq"], True),
}
KERNEL_OPTIONS = [
    ("adagrad_step", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ("adadelta_step", dict(lr=0.5, rho=0.7, weight_decay=0.1, maximize=True)),
    ("adamax_step", dict(lr=0.01, beta1=0.5, beta2=0.9, weight_decay=0.1)),
    ("nadam_step", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("nadam_step", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01, maximize=True)),
    ("radam_step", dict(lr=0.01, beta1=0.5, beta2=0.9, weight_decay=0.1)),
    ("radam_step", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


def reference_options(options):
    """A kernel's keyword options as the reference optimizer's (betas as a pair)."""
    options = dict(options)
    if "beta1" in options:
        options["betas"] = (options.pop("beta1"), options.pop("beta2"))
    return options


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("function,options", KERNEL_OPTIONS, ids=lambda x: x if isinstance(x, str) else "")
def test_kernel_against_numpy_reference(rng, function, options, dtype):
    lists, reference_class, state_names, stepped = KERNELS[function]
    shapes = [(1,), (3,), (17,), (10, 25), (33_001,), (0,)]
    params = [random_array(rng, shape, dtype) for shape in shapes]
    states = {name: [np.zeros(shape, dtype) for shape in shapes] for name in lists}
    reference = reference_class(**reference_options(options))
    thetas = [p.astype(np.float64) for p in params]
    mu_product = 1.0
    for step in range(1, 6):
        grads = [random_array(rng, shape, dtype) for shape in shapes]
        thetas = [reference.update(i, theta, g.astype(np.float64)) for i, (theta, g) in enumerate(zip(thetas, grads))]
        kwargs = dict(options, **states)
        if stepped:
            kwargs["step"] = step
        if function == "nadam_step":
            mu_product *= 0.9 * (1 - 0.5 * 0.96 ** (step * options.get("momentum_decay", 4e-3)))
            kwargs["mu_product"] = mu_product
        getattr(_C, function)(params, grads, **kwargs)
    for i, (p, theta) in enumerate(zip(params, thetas)):
        assert_close(p, theta, dtype, scale=10)
        for list_name, state_name in zip(lists, state_names):
            assert_close(states[list_name][i], reference.state[i][state_name], dtype, scale=10)


@pytest.mark.parametrize("function", sorted(KERNELS))
def test_state_list_may_not_be_the_params(function):
    """Two written lists sharing memory (the bad-input battery of tests/reliability, driven by tests/ops/optim.py,
    covers bad dtypes, shapes, steps and an output sharing an input's memory)."""
    lists, _, _, stepped = KERNELS[function]
    params = [np.zeros(3, np.float32)]
    extra = dict(step=1) if stepped else {}
    if function == "nadam_step":
        extra["mu_product"] = 0.5
    states = {name: [np.zeros(3, np.float32)] for name in lists}
    with pytest.raises(ValueError, match="must not share memory"):
        getattr(_C, function)(params, [np.zeros(3, np.float32)], **dict(states, **{lists[0]: params}), **extra)
