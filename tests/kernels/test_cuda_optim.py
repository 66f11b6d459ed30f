"""CUDA fused optimizer steps (nnx._cuda: sgd_step, adam_step, rmsprop_step, adagrad_step, adadelta_step,
adamax_step, nadam_step, radam_step) against the CPU kernels (nnx._C)
on the same groups and gradients over several steps: groups of many small tensors (more than one launch's
table) with a big one, empty tensors, unaligned views (the scalar path); plus the bindings' validation."""
import numpy as np
import pytest
from cuda_kernel_checks import DEVICE, HOST, assert_same_error, cuda, requires_gpu, requires_module, to_device, to_host

from helpers import FLOAT_DTYPES, random_array
from nnx.native import _C

pytestmark = pytest.mark.cuda

# The update follows the CPU kernel operation by operation: only a CPU without FMA may differ, by an ulp.
TIGHT = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-14, atol=1e-15)}
STEPS = 3

# The state lists of each step function, after params and grads, and whether an option makes each one
# required (None: always present).
STATE = {
    "sgd_step": [("momentum_buffers", "momentum")],
    "adam_step": [("exp_avgs", None), ("exp_avg_sqs", None), ("max_exp_avg_sqs", "amsgrad")],
    "rmsprop_step": [("square_avgs", None), ("grad_avgs", "centered"), ("momentum_buffers", "momentum")],
    "adagrad_step": [("state_sums", None)],
    "adadelta_step": [("square_avgs", None), ("acc_deltas", None)],
    "adamax_step": [("exp_avgs", None), ("exp_infs", None)],
    "nadam_step": [("exp_avgs", None), ("exp_avg_sqs", None)],
    "radam_step": [("exp_avgs", None), ("exp_avg_sqs", None)],
}
NON_NEGATIVE = {"exp_avg_sqs", "max_exp_avg_sqs", "square_avgs", "state_sums", "acc_deltas", "exp_infs"}
STEPPED = {"adam_step", "adagrad_step", "adamax_step", "nadam_step", "radam_step"}  # take the step number

OPTIONS = [
    ("sgd_step", dict(lr=0.1)),
    ("sgd_step", dict(lr=0.05, momentum=0.9)),
    ("sgd_step", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("sgd_step", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True, weight_decay=0.1)),
    ("adam_step", dict(lr=1e-2)),
    ("adam_step", dict(lr=1e-2, weight_decay=0.1)),
    ("adam_step", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("adam_step", dict(lr=1e-2, amsgrad=True, maximize=True)),
    ("adam_step", dict(lr=1e-3, beta1=0.5, beta2=0.9, eps=1e-6)),  # lerp weight 0.5: torch.lerp's other branch
    ("rmsprop_step", dict(lr=1e-2)),
    ("rmsprop_step", dict(lr=1e-2, alpha=0.3, centered=True)),  # lerp weight 0.7
    ("rmsprop_step", dict(lr=1e-2, momentum=0.9, weight_decay=0.1)),
    ("rmsprop_step", dict(lr=1e-2, centered=True, momentum=0.5, maximize=True)),
    ("adagrad_step", dict(lr=1e-2, lr_decay=0.1, weight_decay=0.1)),
    ("adagrad_step", dict(lr=1e-2, maximize=True)),
    ("adadelta_step", dict(lr=1.0, rho=0.9, weight_decay=0.1)),
    ("adadelta_step", dict(lr=0.5, rho=0.3, maximize=True)),
    ("adamax_step", dict(lr=1e-2, weight_decay=0.1)),
    ("adamax_step", dict(lr=1e-2, beta1=0.5, beta2=0.9, maximize=True)),  # lerp weight 0.5
    ("nadam_step", dict(lr=1e-2, weight_decay=0.1)),
    ("nadam_step", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("radam_step", dict(lr=1e-2, weight_decay=0.1)),  # rho_t <= 5 for the first steps: the unrectified branch
    ("radam_step", dict(lr=1e-2, beta1=0.5, beta2=0.9, weight_decay=0.1, decoupled_weight_decay=True)),
]


def many_small_and_one_big(rng):
    """150 small tensors of odd shapes (three launches' worth), empty ones among them, and two big ones."""
    choices = [(1,), (3,), (17,), (5, 7), (0,), (2, 3, 5), (1025,), (4, 0)]
    shapes = [choices[i] for i in rng.integers(0, len(choices), size=150)]
    return shapes[:70] + [(40_003,)] + shapes[70:] + [(257, 1001)]


class Group:
    """One parameter group as NumPy arrays: params, grads (fresh each step) and the state lists."""

    def __init__(self, rng, function, options, shapes, dtype):
        self.rng, self.function, self.options, self.dtype = rng, function, options, dtype
        self.lists = {"params": [random_array(rng, shape, dtype) for shape in shapes]}
        for name, option in STATE[function]:
            if option is None or options.get(option):
                low = 0.0 if name in NON_NEGATIVE else -1.0
                self.lists[name] = [random_array(rng, shape, dtype, low, 1.0) for shape in shapes]

    def new_grads(self):
        return [random_array(self.rng, p.shape, self.dtype) for p in self.lists["params"]]

    def arguments(self, lists, grads, step):
        """Keyword arguments of one call: the lists (None for an unused state) and this step's options."""
        kwargs = dict(self.options, params=lists["params"], grads=grads)
        for name, _ in STATE[self.function]:
            kwargs[name] = lists.get(name)
        if self.function in STEPPED:
            kwargs["step"] = step
        if self.function == "nadam_step":
            kwargs["mu_product"] = 0.9 ** step * 0.5  # any product of coefficients in (0, 1)
        if self.function == "sgd_step" and self.options.get("momentum"):
            kwargs["first_step"] = step == 1
        return kwargs


def unaligned(values):
    """A device copy of `values` that starts one element into its storage (not 16-byte aligned)."""
    flat = np.concatenate([np.zeros(1, values.dtype), values.ravel()])
    return DEVICE.window(to_device(flat), values.shape, 1)


def run_on_both(group, place=to_device, steps=STEPS):
    """STEPS steps on the CPU (NumPy copies) and on the GPU (device copies made by `place`) with the same
    gradients; returns {list name: (gpu arrays, cpu arrays)}."""
    cpu = {name: [a.copy() for a in arrays] for name, arrays in group.lists.items()}
    gpu = {name: [place(a) for a in arrays] for name, arrays in group.lists.items()}
    for step in range(1, steps + 1):
        grads = group.new_grads()
        getattr(_C, group.function)(**group.arguments(cpu, grads, step))
        getattr(cuda, group.function)(**group.arguments(gpu, [place(g) for g in grads], step))
    return {name: ([to_host(a) for a in gpu[name]], cpu[name]) for name in cpu}


def assert_groups_match(results, dtype):
    for name, (gpu_arrays, cpu_arrays) in results.items():
        for i, (actual, expected) in enumerate(zip(gpu_arrays, cpu_arrays)):
            assert actual.dtype == expected.dtype and actual.shape == expected.shape, f"{name}[{i}]"
            np.testing.assert_allclose(actual, expected, err_msg=f"{name}[{i}]", **TIGHT[dtype])


def option_id(case):
    function, options = case
    return function.replace("_step", "") + "-" + "-".join(f"{k}={v}" for k, v in options.items())


@requires_gpu
class TestAgainstCpu:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("case", OPTIONS, ids=option_id)
    def test_many_small_tensors_and_big_ones(self, rng, case, dtype):
        function, options = case
        group = Group(rng, function, options, many_small_and_one_big(rng), dtype)
        assert_groups_match(run_on_both(group), dtype)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("case", OPTIONS, ids=option_id)
    def test_unaligned_views(self, rng, case, dtype):
        """Views that start one element into their storage take the scalar path, full tiles included."""
        function, options = case
        group = Group(rng, function, options, [(3,), (5000,), (1,), (2049, 3)], dtype)
        assert_groups_match(run_on_both(group, place=unaligned), dtype)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_radam_rectified_steps(self, rng, dtype):
        """RAdam's rectified branch starts once rho_t > 5 (step 6 with beta2 = 0.9)."""
        group = Group(rng, "radam_step", dict(lr=1e-2, beta2=0.9, maximize=True), [(3,), (5000,), (2049, 3)], dtype)
        assert_groups_match(run_on_both(group, steps=8), dtype)

    @pytest.mark.parametrize("size", [1, 1023, 1024, 1025, 1_000_003])
    def test_tile_edges(self, rng, size):
        group = Group(rng, "adam_step", dict(lr=1e-2, amsgrad=True), [(size,)], np.float32)
        assert_groups_match(run_on_both(group), np.float32)

    def test_empty_group_and_empty_tensors(self, rng):
        cuda.adam_step([], [], [], [], None, 1, 1e-3)
        group = Group(rng, "sgd_step", dict(lr=0.1), [(0,), (2, 0)], np.float64)
        assert_groups_match(run_on_both(group), np.float64)

    def test_grads_may_share_memory(self, rng):
        """Grads are only read, so one array may serve several parameters (as on the CPU)."""
        params = [random_array(rng, (7,), np.float32) for _ in range(3)]
        grad = random_array(rng, (7,), np.float32)
        device_params, device_grad = [to_device(p) for p in params], to_device(grad)
        cuda.sgd_step(device_params, [device_grad] * 3, None, lr=0.5)
        _C.sgd_step(params, [grad] * 3, None, lr=0.5)
        for actual, expected in zip(device_params, params):
            np.testing.assert_allclose(to_host(actual), expected, **TIGHT[np.float32])


def f32(*shape):
    return np.ones(shape, np.float32)


def adam(s, params=None, grads=None, exp_avgs=None, exp_avg_sqs=None, max_exp_avg_sqs=None, **options):
    """adam_step on side s; each list defaults to one fresh (3,) float32 array."""
    lists = [params, grads, exp_avgs, exp_avg_sqs]
    lists = [[s.array(f32(3))] if a is None else a for a in lists]
    s.module.adam_step(*lists, max_exp_avg_sqs, **dict(dict(step=1, lr=1e-3), **options))


def shared(s):
    """Two windows of one array: [0, 3) and [2, 5) (they overlap)."""
    base = s.array(f32(5))
    return s.window(base, (3,), 0), s.window(base, (3,), 2)


# Each bad call runs on _C (NumPy arrays) and on _cuda (the same arrays as DeviceArrays).
BAD_CALLS = {
    "integer params": lambda s: adam(s, params=[s.array(np.ones(3, np.int64))]),
    "params of two dtypes": lambda s: adam(s, params=[s.array(f32(3)), s.array(np.ones(3))],
                                           grads=[s.array(f32(3))] * 2),
    "grads too short": lambda s: adam(s, params=[s.array(f32(3)), s.array(f32(3))]),
    "grads dtype": lambda s: adam(s, grads=[s.array(np.ones(3))]),
    "exp_avgs shape": lambda s: adam(s, exp_avgs=[s.array(f32(4))]),
    "exp_avg_sqs dtype": lambda s: adam(s, exp_avg_sqs=[s.array(np.ones(3))]),
    "amsgrad without max_exp_avg_sqs": lambda s: adam(s, amsgrad=True),
    "max_exp_avg_sqs shape": lambda s: adam(s, max_exp_avg_sqs=[s.array(f32(2))]),
    "param shares memory with a grad": lambda s: (lambda a, b: adam(s, params=[a], grads=[b]))(*shared(s)),
    "exp_avg is a grad": lambda s: (lambda g: adam(s, grads=[g], exp_avgs=[g]))(s.array(f32(3))),
    "sgd momentum without buffers": lambda s: s.module.sgd_step([s.array(f32(3))], [s.array(f32(3))], None,
                                                                lr=0.1, momentum=0.9),
    "sgd buffers shape": lambda s: s.module.sgd_step([s.array(f32(3))], [s.array(f32(3))], [s.array(f32(1))],
                                                     lr=0.1, momentum=0.9),
    "rmsprop centered without grad_avgs": lambda s: s.module.rmsprop_step(
        [s.array(f32(3))], [s.array(f32(3))], [s.array(f32(3))], None, None, lr=0.1, centered=True),
    "rmsprop square_avgs too long": lambda s: s.module.rmsprop_step(
        [s.array(f32(3))], [s.array(f32(3))], [s.array(f32(3))] * 2, None, None, lr=0.1),
}

# Hyperparameters are checked before any array: these run on empty groups, with or without a GPU.
BAD_HYPERPARAMETERS = {
    "negative lr": lambda m: m.sgd_step([], [], None, lr=-0.1),
    "infinite lr": lambda m: m.adam_step([], [], [], [], None, 1, float("inf")),
    "nan dampening": lambda m: m.sgd_step([], [], None, lr=0.1, dampening=float("nan")),
    "nesterov without momentum": lambda m: m.sgd_step([], [], None, lr=0.1, nesterov=True),
    "step 0": lambda m: m.adam_step([], [], [], [], None, 0, 1e-3),
    "beta1 of 1": lambda m: m.adam_step([], [], [], [], None, 1, 1e-3, beta1=1.0),
    "negative beta2": lambda m: m.adam_step([], [], [], [], None, 1, 1e-3, beta2=-0.5),
    "negative eps": lambda m: m.adam_step([], [], [], [], None, 1, 1e-3, eps=-1.0),
    "alpha above 1": lambda m: m.rmsprop_step([], [], [], None, None, lr=0.1, alpha=1.5),
    "negative momentum": lambda m: m.rmsprop_step([], [], [], None, None, lr=0.1, momentum=-0.9),
    "nan weight_decay": lambda m: m.rmsprop_step([], [], [], None, None, lr=0.1, weight_decay=float("nan")),
    "negative lr_decay": lambda m: m.adagrad_step([], [], [], 1, lr=0.1, lr_decay=-1.0),
    "rho above 1": lambda m: m.adadelta_step([], [], [], [], rho=1.5),
    "adamax step 0": lambda m: m.adamax_step([], [], [], [], 0),
    "nan mu_product": lambda m: m.nadam_step([], [], [], [], 1, float("nan")),
    "negative momentum_decay": lambda m: m.nadam_step([], [], [], [], 1, 0.5, momentum_decay=-1.0),
    "radam beta2 of 1": lambda m: m.radam_step([], [], [], [], 1, beta2=1.0),
    "grads longer than params": lambda m: m.sgd_step([], [np.ones(3)], None, lr=0.1),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_gpu
def test_written_lists_must_not_overlap():
    a, b = shared(DEVICE)
    with pytest.raises(ValueError, match="must not share memory with"):
        adam(DEVICE, exp_avgs=[a], exp_avg_sqs=[b])


@requires_gpu
def test_non_contiguous_is_refused():
    strided = DEVICE.every_other_column(to_device(np.ones((3, 8), np.float32)))
    with pytest.raises(ValueError, match=r"^params\[0\] must be C-contiguous"):
        cuda.sgd_step([strided], [to_device(np.ones((3, 4), np.float32))], None, lr=0.1)


@requires_module
@pytest.mark.parametrize("case", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_raise_like_cpu(case):
    """No GPU needed: the same exception and message as _C."""
    with pytest.raises(Exception) as on_host:
        BAD_HYPERPARAMETERS[case](_C)
    with pytest.raises(on_host.type) as on_cuda:
        BAD_HYPERPARAMETERS[case](cuda)
    assert str(on_cuda.value) == str(on_host.value)


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: lists must hold DeviceArrays; an empty group is a no-op."""
    with pytest.raises(TypeError, match=r"^params must be a list or tuple of nnx\._cuda\.DeviceArray, got NoneType"):
        cuda.sgd_step(None, [], None, lr=0.1)
    with pytest.raises(TypeError, match=r"^params\[0\] must be an nnx\._cuda\.DeviceArray, got ndarray"):
        cuda.sgd_step([f32(3)], [f32(3)], None, lr=0.1)
    assert cuda.adam_step((), (), (), (), None, 1, 1e-3) is None


def test_bad_calls_fail_on_the_host():
    """The table above is only meaningful if every call really is refused by _C."""
    for call in BAD_CALLS.values():
        with pytest.raises((TypeError, ValueError)):
            call(HOST)
