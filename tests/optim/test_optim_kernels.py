"""Fused optimizer kernels (_C.sgd_step, adam_step, rmsprop_step) against NumPy float64 references of the
update rules in DESIGN.md, and against torch.optim on the same trajectory when torch is installed."""
import itertools

import numpy as np
import pytest
from helpers import FLOAT_DTYPES, TOLERANCES, assert_close, random_array

from nnx import _C

# One parameter group: a single element, odd sizes, a 2-D tensor, and one above the OpenMP threshold.
SHAPES = [(1,), (3,), (17,), (10, 25), (33_001,)]
STEPS = 50


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


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("optimizer_class,options", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_step_matches_float64_reference(rng, optimizer_class, options, dtype):
    """50 steps with fresh gradients; each step is checked against the float64 rule applied to the
    kernel's own state before the step, so float32 rounding does not accumulate into the comparison."""
    optimizer = optimizer_class(options)
    params = [random_array(rng, shape, dtype) for shape in SHAPES]
    state = {name: [random_state(rng, name, shape, dtype) for shape in SHAPES]
             for name in optimizer.state_names if optimizer.uses(name)}
    if "momentum_buffer" in state and optimizer_class is Sgd:
        for buffer in state["momentum_buffer"]:
            buffer.fill(np.nan)  # the first step must set b = g without reading b
    for step in range(1, STEPS + 1):
        grads = [random_array(rng, shape, dtype) for shape in SHAPES]
        before = {name: flat(values) for name, values in state.items()}
        expected = optimizer.reference(flat(params), flat(grads), before, step)
        optimizer.kernel(params, grads, state, step)
        actual = {"param": flat(params, dtype), **{name: flat(values, dtype) for name, values in state.items()}}
        assert_group_close(actual, expected, step)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("optimizer_class,options", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_trajectory_matches_torch(rng, optimizer_class, options, dtype):
    """The same 50 gradients through torch.optim (from its own zero state) and through the kernel."""
    torch = pytest.importorskip("torch")
    optimizer = optimizer_class(options)
    params = [random_array(rng, shape, dtype) for shape in SHAPES]
    tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    reference = optimizer.torch_optimizer(torch, tensors)
    state = {name: [np.zeros(shape, dtype) for shape in SHAPES]
             for name in optimizer.state_names if optimizer.uses(name)}
    for step in range(1, STEPS + 1):
        grads = [random_array(rng, shape, dtype) for shape in SHAPES]
        for tensor, grad in zip(tensors, grads):
            tensor.grad = torch.from_numpy(grad.copy())
        reference.step()
        optimizer.kernel(params, grads, state, step)
    # torch's float32 sqrt is off by one ulp for some inputs; over 50 steps that stays far below 1e-4.
    tolerance = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for i, tensor in enumerate(tensors):
        np.testing.assert_allclose(params[i], tensor.detach().numpy(), **tolerance)
        for name, values in state.items():
            np.testing.assert_allclose(values[i], reference.state[tensor][name].numpy(), **tolerance)


# ---- group layout --------------------------------------------------------------------------------

def test_params_may_be_views_of_one_flat_buffer(rng):
    """llm.c style: every parameter a disjoint slice of one flat buffer; one call updates them all."""
    buffer = random_array(rng, (50_000,), np.float32)
    grad_buffer = random_array(rng, (50_000,), np.float32)
    cuts = [0, 1, 40_004, 50_000]
    views = [buffer[a:b] for a, b in zip(cuts, cuts[1:])]
    grads = [grad_buffer[a:b] for a, b in zip(cuts, cuts[1:])]
    expected = buffer.astype(np.float64) - 0.1 * grad_buffer
    _C.sgd_step(views, grads, None, 0.1)
    assert_close(buffer, expected)


def test_grads_may_be_read_only_and_shared(rng):
    grad = random_array(rng, (7,), np.float64)
    grad.flags.writeable = False
    params = [random_array(rng, (7,), np.float64) for _ in range(2)]
    expected = [p - 0.5 * grad for p in params]
    _C.sgd_step(params, (grad, grad), None, 0.5)
    for p, e in zip(params, expected):
        assert_close(p, e)


def test_empty_group_and_empty_tensors_are_no_ops():
    _C.adam_step([], [], [], [], None, 1, 1e-3)
    empty = np.zeros((0, 3), np.float32)
    _C.adam_step([empty], [empty.copy()], [empty.copy()], [empty.copy()], None, 1, 1e-3)


# ---- bad input -----------------------------------------------------------------------------------

def adam_args(dtype=np.float32, shapes=((3,), (5, 2))):
    """Valid adam_step arguments for a small group, to be broken one at a time."""
    make = lambda: [np.ones(s, dtype) for s in shapes]  # noqa: E731
    return dict(params=make(), grads=make(), exp_avgs=make(), exp_avg_sqs=make(), max_exp_avg_sqs=None,
                step=1, lr=1e-3)


class TestBadInput:
    def test_params_must_be_a_list(self):
        with pytest.raises(TypeError, match="params must be a list or tuple"):
            _C.sgd_step(np.ones(3, np.float32), [np.ones(3, np.float32)], None, 0.1)

    def test_entry_must_be_an_array(self):
        args = adam_args()
        args["grads"][1] = [[1.0, 2.0]] * 5
        with pytest.raises(TypeError, match=r"grads\[1\] must be a numpy.ndarray"):
            _C.adam_step(**args)

    def test_integer_dtype(self):
        with pytest.raises(TypeError, match=r"params\[0\] must have dtype float32 or float64"):
            _C.sgd_step([np.ones(3, np.int32)], [np.ones(3, np.int32)], None, 0.1)

    def test_params_of_mixed_dtypes(self):
        with pytest.raises(TypeError, match=r"params\[1\] must have the dtype of params\[0\]"):
            _C.sgd_step([np.ones(3, np.float32), np.ones(3)], [np.ones(3, np.float32), np.ones(3)], None, 0.1)

    def test_state_dtype(self):
        args = adam_args()
        args["exp_avgs"][0] = np.ones(3, np.float64)
        with pytest.raises(TypeError, match=r"exp_avgs\[0\] must have the dtype of params\[0\]"):
            _C.adam_step(**args)

    def test_state_shape(self):
        args = adam_args()
        args["exp_avg_sqs"][1] = np.ones((2, 5), np.float32)
        with pytest.raises(ValueError, match=r"exp_avg_sqs\[1\] must have the shape of params\[1\]"):
            _C.adam_step(**args)

    def test_list_lengths(self):
        args = adam_args()
        args["grads"] = args["grads"][:1]
        with pytest.raises(ValueError, match=r"grads must hold one array per parameter \(2\), got 1"):
            _C.adam_step(**args)

    def test_non_contiguous(self):
        args = adam_args()
        args["grads"][0] = np.ones(6, np.float32)[::2]
        with pytest.raises(ValueError, match=r"grads\[0\] must be C-contiguous"):
            _C.adam_step(**args)

    @pytest.mark.parametrize("name", ["params", "exp_avgs", "exp_avg_sqs"])
    def test_read_only_output(self, name):
        args = adam_args()
        args[name][1].flags.writeable = False
        with pytest.raises(ValueError, match=rf"{name}\[1\] must be writeable"):
            _C.adam_step(**args)

    def test_param_aliasing_its_grad(self):
        args = adam_args()
        args["grads"][1] = args["params"][1]
        with pytest.raises(ValueError, match=r"params\[1\] must not share memory with grads\[1\]"):
            _C.adam_step(**args)

    def test_state_aliasing_another_parameters_state(self):
        args = adam_args(shapes=((4,), (4,)))
        args["exp_avg_sqs"][1] = args["exp_avgs"][0]
        with pytest.raises(ValueError, match=r"exp_av\w+\[[01]\] must not share memory with exp_av\w+\[[01]\]"):
            _C.adam_step(**args)

    def test_overlapping_param_views(self):
        buffer = np.ones(10, np.float32)
        with pytest.raises(ValueError, match=r"params\[[01]\] must not share memory with params\[[01]\]"):
            _C.sgd_step([buffer[:6], buffer[4:]], [np.ones(6, np.float32), np.ones(6, np.float32)], None, 0.1)

    @pytest.mark.parametrize("name,value", [("lr", -1e-3), ("lr", float("nan")), ("beta1", 1.0), ("beta1", -0.1),
                                            ("beta2", 1.5), ("eps", -1e-8), ("weight_decay", -0.1)])
    def test_adam_hyperparameter_range(self, name, value):
        args = adam_args()
        args[name] = value
        with pytest.raises(ValueError, match=f"^{name} must be"):
            _C.adam_step(**args)

    def test_step_counts_from_one(self):
        args = adam_args()
        args["step"] = 0
        with pytest.raises(ValueError, match="step must be >= 1"):
            _C.adam_step(**args)

    def test_amsgrad_needs_its_state(self):
        with pytest.raises(ValueError, match="max_exp_avg_sqs is required when amsgrad"):
            _C.adam_step(**adam_args(), amsgrad=True)

    def test_sgd_momentum_needs_buffers(self):
        with pytest.raises(ValueError, match="momentum_buffers is required when momentum != 0"):
            _C.sgd_step([np.ones(3)], [np.ones(3)], None, 0.1, momentum=0.9)

    @pytest.mark.parametrize("momentum,dampening", [(0.0, 0.0), (0.9, 0.1)])
    def test_nesterov_needs_momentum_and_no_dampening(self, momentum, dampening):
        with pytest.raises(ValueError, match="^nesterov requires momentum > 0 and dampening == 0"):
            _C.sgd_step([np.ones(3)], [np.ones(3)], [np.ones(3)], 0.1, momentum=momentum, dampening=dampening,
                        nesterov=True)

    @pytest.mark.parametrize("name,value", [("lr", -0.1), ("momentum", -0.5), ("weight_decay", float("inf")),
                                            ("dampening", float("nan"))])
    def test_sgd_hyperparameter_range(self, name, value):
        with pytest.raises(ValueError, match=f"^{name} must be"):
            _C.sgd_step([np.ones(3)], [np.ones(3)], [np.ones(3)], **{"lr": 0.1, "momentum": 0.9, name: value})

    @pytest.mark.parametrize("name,value", [("alpha", 1.5), ("alpha", -0.1), ("eps", -1.0), ("momentum", -0.1)])
    def test_rmsprop_hyperparameter_range(self, name, value):
        with pytest.raises(ValueError, match=f"^{name} must be"):
            _C.rmsprop_step([np.ones(3)], [np.ones(3)], [np.ones(3)], None, None, 0.01, **{name: value})

    def test_rmsprop_centered_needs_grad_avgs(self):
        with pytest.raises(ValueError, match="grad_avgs is required when centered"):
            _C.rmsprop_step([np.ones(3)], [np.ones(3)], [np.ones(3)], None, None, 0.01, centered=True)

    def test_rmsprop_momentum_needs_buffers(self):
        with pytest.raises(ValueError, match="momentum_buffers is required when momentum != 0"):
            _C.rmsprop_step([np.ones(3)], [np.ones(3)], [np.ones(3)], None, None, 0.01, momentum=0.9)
