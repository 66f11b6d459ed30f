"""Fused optimizer kernels (_C.sgd_step, adam_step, rmsprop_step) against NumPy float64 references of the
update rules in DESIGN.md, and against torch.optim on the same trajectory when torch is installed."""
import numpy as np
import pytest

from helpers import FLOAT_DTYPES, assert_close, random_array
from nnx import _C
from ops.optim import OPTIMIZER_IDS, OPTIMIZERS, Sgd, assert_group_close, flat, random_state

# One parameter group: a single element, odd sizes, a 2-D tensor, and one above the OpenMP threshold.
SHAPES = [(1,), (3,), (17,), (10, 25), (33_001,)]
STEPS = 50


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
