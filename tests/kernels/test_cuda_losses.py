"""CUDA loss kernels (nnx._cuda: fused softmax + cross-entropy, mse, l1, bce_with_logits) against the CPU
kernels (nnx._C, float64) on the same inputs, plus the bindings' validation and device-side target checks."""
import numpy as np
import pytest
from cuda_kernel_checks import (
    assert_same_error,
    cuda,
    poisoned_device,
    requires_gpu,
    requires_module,
    to_device,
    to_host,
)

from helpers import FLOAT_DTYPES, assert_close, random_array
from nnx.native import _C

pytestmark = pytest.mark.cuda

REDUCTIONS = ("mean", "sum", "none")
# (N, C): single row/class, odd sizes, rows for the warp kernel (C <= 1024) and the block kernel, many rows.
CE_SHAPES = [(1, 1), (1, 7), (3, 1), (17, 33), (64, 1000), (5, 1500), (20_001, 3)]
ELEMENTWISE = ("mse", "l1", "bce")
# () and 1 element, odd sizes, and one above the partial-sum pass's 1024 blocks of 256 threads.
ELEMENTWISE_SHAPES = [(), (1,), (17,), (3, 5), (40_003,), (300_001,)]


def loss_shape(reduction, per_element_shape):
    return per_element_shape if reduction == "none" else ()


def random_targets(rng, N, C, ignore_fraction=0.0, ignore_index=-100):
    target = rng.integers(0, C, size=N)
    target[rng.random(N) < ignore_fraction] = ignore_index
    return target


# ---- cross-entropy: the CPU reference and the GPU call ----------------------------------------------------

def cpu_cross_entropy(logits, target, reduction, **options):
    """(loss, logsumexp, grad_logits) of the float64 CPU kernel on the same values."""
    x = logits.astype(np.float64)
    loss, logsumexp, grad = np.empty(loss_shape(reduction, target.shape)), np.empty(len(x)), np.empty(x.shape)
    _C.cross_entropy_forward(x, target, loss, logsumexp, grad, reduction=reduction, **options)
    return loss, logsumexp, grad


def gpu_cross_entropy(logits, target, reduction, with_grad=True, **options):
    N, C = logits.shape
    loss = poisoned_device(loss_shape(reduction, (N,)), logits.dtype)
    logsumexp = poisoned_device((N,), logits.dtype)
    grad = poisoned_device((N, C), logits.dtype) if with_grad else None
    cuda.cross_entropy_forward(to_device(logits), to_device(target), loss, logsumexp, grad, reduction=reduction,
                               **options)
    return to_host(loss), to_host(logsumexp), to_host(grad) if with_grad else None


@requires_gpu
class TestCrossEntropy:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,C", CE_SHAPES)
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_forward(self, rng, reduction, N, C, dtype):
        logits, target = random_array(rng, (N, C), dtype, -5.0, 5.0), random_targets(rng, N, C)
        for actual, expected in zip(gpu_cross_entropy(logits, target, reduction),
                                    cpu_cross_entropy(logits, target, reduction)):
            assert_close(actual, expected, scale=4)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    @pytest.mark.parametrize("C", [10, 1500])
    @pytest.mark.parametrize("ignore_index,label_smoothing", [(-100, 0.1), (2, 0.0), (0, 0.25)])
    def test_ignore_index_and_label_smoothing(self, rng, ignore_index, label_smoothing, C, reduction, dtype):
        options = dict(ignore_index=ignore_index, label_smoothing=label_smoothing)
        logits = random_array(rng, (300, C), dtype, -5.0, 5.0)
        target = random_targets(rng, 300, C, 0.3, ignore_index)
        for actual, expected in zip(gpu_cross_entropy(logits, target, reduction, **options),
                                    cpu_cross_entropy(logits, target, reduction, **options)):
            assert_close(actual, expected, scale=4)

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_all_targets_ignored(self, rng, reduction):
        """mean is 0/0 = NaN like PyTorch; sum and none give 0; the gradient rows are all 0."""
        logits, target = random_array(rng, (5, 4), np.float32), np.full(5, -100)
        loss, _, grad = gpu_cross_entropy(logits, target, reduction)
        expected_loss, _, _ = cpu_cross_entropy(logits, target, reduction)
        np.testing.assert_array_equal(loss, expected_loss)  # NaN for mean, zeros otherwise
        np.testing.assert_array_equal(grad, np.zeros((5, 4)))

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_no_rows(self, reduction):
        loss, logsumexp, grad = gpu_cross_entropy(np.ones((0, 3), np.float32), np.zeros(0, np.int64), reduction)
        expected_loss, _, _ = cpu_cross_entropy(np.ones((0, 3), np.float32), np.zeros(0, np.int64), reduction)
        np.testing.assert_array_equal(loss, expected_loss)
        assert logsumexp.shape == (0,) and grad.shape == (0, 3)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("C", [10, 2000])
    @pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
    def test_exact_for_logits_of_magnitude_1e4(self, rng, label_smoothing, C, dtype):
        logits, target = random_array(rng, (64, C), dtype, -1e4, 1e4), random_targets(rng, 64, C)
        for reduction in REDUCTIONS:
            for actual, expected in zip(gpu_cross_entropy(logits, target, reduction, label_smoothing=label_smoothing),
                                        cpu_cross_entropy(logits, target, reduction, label_smoothing=label_smoothing)):
                assert_close(actual, expected, scale=4)

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_loss_without_gradient_is_the_same(self, rng, reduction):
        logits, target = random_array(rng, (100, 30), np.float64), random_targets(rng, 100, 30, 0.2)
        loss, logsumexp, _ = gpu_cross_entropy(logits, target, reduction)
        without_grad = gpu_cross_entropy(logits, target, reduction, with_grad=False)
        np.testing.assert_array_equal(without_grad[0], loss)
        np.testing.assert_array_equal(without_grad[1], logsumexp)

    def test_repeatable_to_the_bit(self, rng):
        logits, target = random_array(rng, (20_001, 17), np.float32), random_targets(rng, 20_001, 17, 0.1)
        first, second = gpu_cross_entropy(logits, target, "mean"), gpu_cross_entropy(logits, target, "mean")
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)

    @pytest.mark.parametrize("bad", ["C", -1, 1 << 40])
    @pytest.mark.parametrize("C", [5, 1500])
    def test_target_out_of_range_raises_index_error_at_synchronize(self, rng, C, bad):
        """The binding cannot read device memory: the kernel records the target, a synchronising call raises."""
        logits, target = random_array(rng, (4, C), np.float32), random_targets(rng, 4, C)
        target[2] = C if bad == "C" else bad
        with pytest.raises(IndexError):
            gpu_cross_entropy(logits, target, "mean")  # to_host synchronises
            cuda.synchronize()
        cuda.synchronize()  # reported once, then cleared
        gpu_cross_entropy(logits, np.zeros(4, np.int64), "mean")
        cuda.synchronize()


# ---- mse / l1 / bce_with_logits ---------------------------------------------------------------------------

def elementwise_inputs(rng, name, shape, dtype):
    x = random_array(rng, shape, dtype, -3.0, 3.0)
    target = random_array(rng, shape, dtype, 0.0, 1.0) if name == "bce" else random_array(rng, shape, dtype)
    return x, target


def function_names(name):
    prefix = "bce_with_logits" if name == "bce" else f"{name}_loss"
    return f"{prefix}_forward", f"{prefix}_backward"


def cpu_elementwise(name, x, target, reduction, grad_loss, **options):
    """(loss, grad_input) of the float64 CPU kernels on the same values."""
    forward, backward = function_names(name)
    x64, t64 = x.astype(np.float64), target.astype(np.float64)
    options = {k: v.astype(np.float64) for k, v in options.items()}
    loss, grad = np.empty(loss_shape(reduction, x.shape)), np.empty(x.shape)
    getattr(_C, forward)(x64, t64, loss, reduction, **options)
    getattr(_C, backward)(np.asarray(grad_loss, np.float64), x64, t64, grad, reduction, **options)
    return loss, grad


def gpu_elementwise(name, x, target, reduction, grad_loss, **options):
    forward, backward = function_names(name)
    x_d, t_d = to_device(x), to_device(target)
    options = {k: to_device(v) for k, v in options.items()}
    loss, grad = poisoned_device(loss_shape(reduction, x.shape), x.dtype), poisoned_device(x.shape, x.dtype)
    getattr(cuda, forward)(x_d, t_d, loss, reduction, **options)
    getattr(cuda, backward)(to_device(grad_loss), x_d, t_d, grad, reduction, **options)
    return to_host(loss), to_host(grad)


@requires_gpu
class TestElementwise:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES)
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    @pytest.mark.parametrize("name", ELEMENTWISE)
    def test_forward_and_backward(self, rng, name, reduction, shape, dtype):
        x, target = elementwise_inputs(rng, name, shape, dtype)
        grad_loss = random_array(rng, loss_shape(reduction, shape), dtype, 0.5, 1.5)
        for actual, expected in zip(gpu_elementwise(name, x, target, reduction, grad_loss),
                                    cpu_elementwise(name, x, target, reduction, grad_loss)):
            assert_close(actual, expected, scale=4)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("shape", [(1,), (7,), (33, 5), (9000, 7)])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_bce_pos_weight(self, rng, reduction, shape, dtype):
        x, target = elementwise_inputs(rng, "bce", shape, dtype)
        pos_weight = random_array(rng, shape[-1:], dtype, 0.5, 3.0)
        grad_loss = random_array(rng, loss_shape(reduction, shape), dtype, 0.5, 1.5)
        for actual, expected in zip(gpu_elementwise("bce", x, target, reduction, grad_loss, pos_weight=pos_weight),
                                    cpu_elementwise("bce", x, target, reduction, grad_loss, pos_weight=pos_weight)):
            assert_close(actual, expected, scale=4)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_bce_is_stable_for_extreme_logits(self, dtype):
        x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype)
        target = np.array([0.0, 1.0, 0.5, 1.0, 0.0, 0.25, 1.0], dtype)
        grad_loss = np.ones(x.shape, dtype)
        loss, grad = gpu_elementwise("bce", x, target, "none", grad_loss)
        assert np.isfinite(loss).all() and np.isfinite(grad).all()
        expected_loss, expected_grad = cpu_elementwise("bce", x, target, "none", grad_loss)
        assert_close(loss, expected_loss)
        assert_close(grad, expected_grad)

    @pytest.mark.parametrize("name", ELEMENTWISE)
    def test_mean_of_no_elements_is_nan_like_pytorch(self, name):
        empty = np.zeros(0, np.float32)
        for reduction in ("mean", "sum"):
            loss, _ = gpu_elementwise(name, empty, empty, reduction, np.float32(1.0))
            expected, _ = cpu_elementwise(name, empty, empty, reduction, np.float32(1.0))
            np.testing.assert_array_equal(loss, expected)

    def test_l1_gradient_is_zero_where_input_equals_target(self, rng):
        x = random_array(rng, (9,), np.float32)
        target = x.copy()
        target[::2] += 1.0
        _, grad = gpu_elementwise("l1", x, target, "sum", np.float32(1.0))
        np.testing.assert_array_equal(grad, np.where(np.arange(9) % 2 == 0, -1.0, 0.0))

    @pytest.mark.parametrize("name", ELEMENTWISE)
    def test_repeatable_to_the_bit(self, rng, name):
        x, target = elementwise_inputs(rng, name, (300_001,), np.float32)
        first = gpu_elementwise(name, x, target, "mean", np.float32(1.0))
        second = gpu_elementwise(name, x, target, "mean", np.float32(1.0))
        np.testing.assert_array_equal(first[0], second[0])


# ---- validation: the same errors and messages as _C ---------------------------------------------------------

def f32(*shape):
    return np.ones(shape, np.float32)


def ce_forward(s, logits=None, target=None, loss=None, logsumexp=None, grad=None, **options):
    """cross_entropy_forward on side s with valid (2, 3) defaults for every argument not given."""
    return s.module.cross_entropy_forward(
        s.array(f32(2, 3)) if logits is None else logits, s.array(np.zeros(2, np.int64)) if target is None else target,
        s.array(np.float32(0)) if loss is None else loss, s.array(f32(2)) if logsumexp is None else logsumexp,
        grad, **options)


BAD_CALLS = {
    "unknown reduction": lambda s: ce_forward(s, reduction="avg"),
    "logits dtype": lambda s: ce_forward(s, logits=s.array(np.ones((2, 3), np.int32))),
    "logits 1-D": lambda s: ce_forward(s, logits=s.array(f32(3))),
    "no classes": lambda s: ce_forward(s, logits=s.array(f32(2, 0))),
    "target dtype": lambda s: ce_forward(s, target=s.array(np.zeros(2, np.int32))),
    "target shape": lambda s: ce_forward(s, target=s.array(np.zeros(3, np.int64))),
    "label_smoothing": lambda s: ce_forward(s, label_smoothing=1.5),
    "loss dtype": lambda s: ce_forward(s, loss=s.array(np.float64(0))),
    "loss shape for none": lambda s: ce_forward(s, reduction="none"),
    "logsumexp shape": lambda s: ce_forward(s, logsumexp=s.array(f32(3))),
    "grad_logits shape": lambda s: ce_forward(s, grad=s.array(f32(3, 2))),
    "grad_logits dtype": lambda s: ce_forward(s, grad=s.array(np.ones((2, 3)))),
    "logsumexp overlaps loss": lambda s: (lambda base: ce_forward(
        s, loss=s.window(base, (), 1), logsumexp=s.window(base, (2,), 0)))(s.array(f32(4))),
    "grad_logits overlaps logits": lambda s: (lambda base: ce_forward(
        s, logits=s.window(base, (2, 3), 0), grad=s.window(base, (2, 3), 1)))(s.array(f32(8))),
    "mse target shape": lambda s: s.module.mse_loss_forward(s.array(f32(3)), s.array(f32(4)), s.array(np.float32(0))),
    "l1 target dtype": lambda s: s.module.l1_loss_forward(s.array(f32(3)), s.array(np.ones(3)), s.array(np.float32(0))),
    "mse loss shape for none": lambda s: s.module.mse_loss_forward(s.array(f32(3)), s.array(f32(3)),
                                                                   s.array(np.float32(0)), "none"),
    "l1 loss overlaps input": lambda s: (lambda base: s.module.l1_loss_forward(
        s.window(base, (3,), 0), s.array(f32(3)), s.window(base, (), 2), "sum"))(s.array(f32(3))),
    "mse backward grad_input shape": lambda s: s.module.mse_loss_backward(
        s.array(np.float32(1)), s.array(f32(3)), s.array(f32(3)), s.array(f32(4))),
    "bce pos_weight shape": lambda s: s.module.bce_with_logits_forward(
        s.array(f32(2, 3)), s.array(f32(2, 3)), s.array(np.float32(0)), pos_weight=s.array(f32(2))),
    "bce pos_weight dtype": lambda s: s.module.bce_with_logits_backward(
        s.array(np.float32(1)), s.array(f32(2, 3)), s.array(f32(2, 3)), s.array(f32(2, 3)),
        pos_weight=s.array(np.ones(3))),
    "bce pos_weight for 0-d input": lambda s: s.module.bce_with_logits_forward(
        s.array(np.float32(0)), s.array(np.float32(0)), s.array(np.float32(0)), pos_weight=s.array(f32(1))),
    "bce unknown reduction": lambda s: s.module.bce_with_logits_forward(
        s.array(f32(3)), s.array(f32(3)), s.array(np.float32(0)), "batchmean"),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^logits must be an nnx\._cuda\.DeviceArray"):
        cuda.cross_entropy_forward(f32(2, 3), np.zeros(2, np.int64), np.float32(0), f32(2))
    with pytest.raises(TypeError, match=r"^input must be an nnx\._cuda\.DeviceArray"):
        cuda.mse_loss_forward(f32(3), f32(3), f32())
    with pytest.raises(TypeError, match=r"^grad_loss must be an nnx\._cuda\.DeviceArray"):
        cuda.bce_with_logits_backward(f32(), f32(3), f32(3), f32(3))
