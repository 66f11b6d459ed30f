"""Loss kernels (cross-entropy, mse, l1, bce_with_logits) against NumPy float64 references."""
import numpy as np
import pytest

from helpers import EDGE_SIZES, FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C
from ops.losses import ELEMENTWISE, cross_entropy_reference, elementwise_reference, reduce_reference, scale_by_upstream

REDUCTIONS = ("mean", "sum", "none")
# (N, C): single row/class, odd sizes, a wide row, and N * C above the OpenMP threshold.
CE_SHAPES = [(1, 1), (1, 7), (3, 1), (17, 33), (250, 3), (64, 1000), (40_003, 3)]


@pytest.fixture
def restore_threads():
    threads = _C.get_num_threads()
    yield
    _C.set_num_threads(threads)


# ---- helpers (the float64 references are tests/ops/losses.py's) ----------------------------------------

def loss_buffer(reduction, per_element_shape, dtype):
    return poisoned(per_element_shape if reduction == "none" else (), dtype)


def upstream_gradient(rng, reduction, per_element_shape, dtype):
    return random_array(rng, per_element_shape if reduction == "none" else (), dtype, 0.5, 1.5)


def random_targets(rng, N, C, ignore_fraction=0.0, ignore_index=-100):
    target = rng.integers(0, C, size=N)
    target[rng.random(N) < ignore_fraction] = ignore_index
    return target


def run_cross_entropy(logits, target, reduction="mean", with_grad=True, **options):
    N, C = logits.shape
    loss = loss_buffer(reduction, (N,), logits.dtype)
    logsumexp = poisoned((N,), logits.dtype)
    grad = poisoned((N, C), logits.dtype) if with_grad else None
    _C.cross_entropy_forward(logits, target, loss, logsumexp, grad, reduction=reduction, **options)
    return loss, logsumexp, grad


# ---- cross-entropy ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("N,C", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_forward_matches_reference(rng, dtype, N, C, reduction):
    logits = random_array(rng, (N, C), dtype, -5, 5)
    target = random_targets(rng, N, C)
    expected_loss, expected_lse, expected_grad = cross_entropy_reference(logits, target, reduction)
    loss, logsumexp, grad = run_cross_entropy(logits, target, reduction)
    assert_close(loss, expected_loss, scale=4)
    assert_close(logsumexp, expected_lse)
    assert_close(grad, expected_grad)
    loss_only, logsumexp_only, _ = run_cross_entropy(logits, target, reduction, with_grad=False)
    np.testing.assert_array_equal(loss_only, loss)
    np.testing.assert_array_equal(logsumexp_only, logsumexp)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [-100, -1, 2])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
def test_cross_entropy_ignore_index_and_label_smoothing(rng, dtype, reduction, ignore_index, label_smoothing):
    N, C = 37, 11
    logits = random_array(rng, (N, C), dtype, -4, 4)
    target = random_targets(rng, N, C, ignore_fraction=0.3, ignore_index=ignore_index)
    options = dict(ignore_index=ignore_index, label_smoothing=label_smoothing)
    expected_loss, expected_lse, expected_grad = cross_entropy_reference(logits, target, reduction, **options)
    loss, logsumexp, grad = run_cross_entropy(logits, target, reduction, **options)
    assert_close(loss, expected_loss, scale=4)
    assert_close(logsumexp, expected_lse)
    assert_close(grad, expected_grad)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_all_targets_ignored(rng, dtype, reduction):
    N, C = 5, 4
    logits = random_array(rng, (N, C), dtype)
    target = np.full(N, -100)
    loss, logsumexp, grad = run_cross_entropy(logits, target, reduction, label_smoothing=0.2)
    if reduction == "mean":
        assert np.isnan(loss)  # 0 / 0, like PyTorch
    else:
        np.testing.assert_array_equal(loss, np.zeros_like(loss))
    assert_close(logsumexp, cross_entropy_reference(logits, target)[1])
    np.testing.assert_array_equal(grad, np.zeros((N, C), dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_exact_for_logits_of_magnitude_1e4(rng, dtype, label_smoothing):
    N, C = 33, 1000
    logits = random_array(rng, (N, C), dtype, -1e4, 1e4)
    logits[0] = 1e4  # a row of ties at the largest magnitude
    logits[1] = -1e4
    target = random_targets(rng, N, C)
    options = dict(label_smoothing=label_smoothing)
    for reduction in REDUCTIONS:
        expected_loss, expected_lse, expected_grad = cross_entropy_reference(logits, target, reduction, **options)
        loss, logsumexp, grad = run_cross_entropy(logits, target, reduction, **options)
        assert np.isfinite(loss).all() and np.isfinite(grad).all()
        assert_close(loss, expected_loss, scale=4)
        assert_close(logsumexp, expected_lse)
        assert_close(grad, expected_grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_gradient_matches_finite_differences(rng, reduction, label_smoothing):
    N, C, step = 4, 5, 1e-6
    logits = random_array(rng, (N, C), np.float64)
    target = np.array([0, 4, -100, 2])
    weights = rng.uniform(0.5, 1.5, size=N if reduction == "none" else ())  # upstream gradient

    def objective(x):
        loss, _, _ = run_cross_entropy(x, target, reduction, with_grad=False, label_smoothing=label_smoothing)
        return float((loss * weights).sum())

    numeric = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (objective(plus) - objective(minus)) / (2 * step)
    _, _, fused = run_cross_entropy(logits, target, reduction, label_smoothing=label_smoothing)
    np.testing.assert_allclose(scale_by_upstream(fused, weights, reduction), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cross_entropy_does_not_depend_on_thread_count(rng, dtype, restore_threads):
    logits = random_array(rng, (3001, 97), dtype, -5, 5)
    target = random_targets(rng, 3001, 97, ignore_fraction=0.1)
    results = []
    for threads in (1, 2):
        _C.set_num_threads(threads)
        results.append(run_cross_entropy(logits, target, "mean", label_smoothing=0.1))
    for single, double in zip(*results):
        np.testing.assert_array_equal(single, double)


# ---- mse, l1, bce_with_logits ----------------------------------------------------------------------

ELEMENTWISE_SHAPES = [(), *[(n,) for n in EDGE_SIZES], (7, 13), (3, 5, 4)]


def elementwise_inputs(rng, name, shape, dtype):
    x = random_array(rng, shape, dtype, -3, 3)
    if name == "bce_with_logits":
        return x, random_array(rng, shape, dtype, 0, 1)
    return x, random_array(rng, shape, dtype, -3, 3)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_loss_forward_and_backward(rng, name, dtype, shape, reduction):
    x, t = elementwise_inputs(rng, name, shape, dtype)
    expected_loss, expected_grad = elementwise_reference(name, x.astype(np.float64), t.astype(np.float64))
    loss = loss_buffer(reduction, shape, dtype)
    getattr(_C, f"{name}_forward")(x, t, loss, reduction=reduction)
    assert_close(loss, reduce_reference(expected_loss, reduction), scale=4)

    grad_loss = upstream_gradient(rng, reduction, shape, dtype)
    grad = poisoned(shape, dtype)
    getattr(_C, f"{name}_backward")(grad_loss, x, t, grad, reduction=reduction)
    if reduction == "mean":
        expected_grad = expected_grad / max(x.size, 1)
    assert_close(grad, scale_by_upstream(expected_grad, grad_loss, reduction))


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_loss_gradient_matches_finite_differences(rng, name, reduction):
    shape, step = (3, 4), 1e-6
    x, t = elementwise_inputs(rng, name, shape, np.float64)
    x[np.abs(x - t) < 0.01] += 0.1  # keep l1 away from its kink
    weights = rng.uniform(0.5, 1.5, size=shape if reduction == "none" else ())
    forward, backward = getattr(_C, f"{name}_forward"), getattr(_C, f"{name}_backward")

    def objective(values):
        loss = loss_buffer(reduction, shape, np.float64)
        forward(values, t, loss, reduction=reduction)
        return float((loss * weights).sum())

    numeric = np.zeros(shape)
    for index in np.ndindex(shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (objective(plus) - objective(minus)) / (2 * step)
    grad = poisoned(shape, np.float64)
    backward(np.asarray(weights), x, t, grad, reduction=reduction)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_mean_of_no_elements_is_nan_like_pytorch(dtype):
    for name in ELEMENTWISE:
        loss = poisoned((), dtype)
        getattr(_C, f"{name}_forward")(np.zeros(0, dtype), np.zeros(0, dtype), loss, reduction="mean")
        assert np.isnan(loss)
        getattr(_C, f"{name}_forward")(np.zeros(0, dtype), np.zeros(0, dtype), loss, reduction="sum")
        assert loss == 0


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_l1_gradient_is_zero_where_input_equals_target(rng, dtype):
    x = random_array(rng, (9,), dtype)
    t = x.copy()
    t[::2] += 1
    grad = poisoned((9,), dtype)
    _C.l1_loss_backward(np.ones(9, dtype), x, t, grad, reduction="none")
    np.testing.assert_array_equal(grad[1::2], 0)
    np.testing.assert_array_equal(grad[::2], -1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (17, 5), (2, 3, 9), (40_003, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_pos_weight(rng, dtype, shape, reduction):
    x, t = elementwise_inputs(rng, "bce_with_logits", shape, dtype)
    pos_weight = random_array(rng, shape[-1:], dtype, 0.2, 3.0)
    expected_loss, expected_grad = elementwise_reference("bce_with_logits", x.astype(np.float64), t.astype(np.float64),
                                                         pos_weight)
    loss = loss_buffer(reduction, shape, dtype)
    _C.bce_with_logits_forward(x, t, loss, reduction=reduction, pos_weight=pos_weight)
    assert_close(loss, reduce_reference(expected_loss, reduction), scale=4)
    grad_loss = upstream_gradient(rng, reduction, shape, dtype)
    grad = poisoned(shape, dtype)
    _C.bce_with_logits_backward(grad_loss, x, t, grad, reduction=reduction, pos_weight=pos_weight)
    if reduction == "mean":
        expected_grad = expected_grad / x.size
    assert_close(grad, scale_by_upstream(expected_grad, grad_loss, reduction))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("with_pos_weight", [False, True])
def test_bce_with_logits_is_stable_for_extreme_logits(dtype, with_pos_weight):
    x = np.array([-1e4, -100.0, -20.0, 20.0, 100.0, 1e4] * 2, dtype).reshape(2, 6)
    t = np.array([0.0] * 6 + [1.0] * 6, dtype).reshape(2, 6)
    pos_weight = np.linspace(0.5, 2.0, 6).astype(dtype) if with_pos_weight else None
    expected_loss, expected_grad = elementwise_reference("bce_with_logits", x.astype(np.float64), t.astype(np.float64),
                                                         pos_weight)
    loss, grad = poisoned(x.shape, dtype), poisoned(x.shape, dtype)
    _C.bce_with_logits_forward(x, t, loss, reduction="none", pos_weight=pos_weight)
    _C.bce_with_logits_backward(np.ones_like(x), x, t, grad, reduction="none", pos_weight=pos_weight)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert_close(loss, expected_loss)
    assert_close(grad, expected_grad)
    # Tiny losses keep their relative precision (no cancellation): loss(x=-20, t=0) = log1p(e^-20).
    np.testing.assert_allclose(loss[0, 2], np.log1p(np.exp(-20.0)), rtol=1e-6)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_loss_does_not_depend_on_thread_count(rng, name, restore_threads):
    x, t = elementwise_inputs(rng, name, (100_003,), np.float32)
    results = []
    for threads in (1, 2):
        _C.set_num_threads(threads)
        loss = poisoned((), np.float32)
        getattr(_C, f"{name}_forward")(x, t, loss, reduction="sum")
        results.append(loss)
    np.testing.assert_array_equal(results[0], results[1])


# ---- bad input -------------------------------------------------------------------------------------

class TestCrossEntropyBadInput:
    def setup_method(self):
        self.logits = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
        self.target = np.array([0, 1, 2, 1])
        self.loss = np.zeros((), np.float32)
        self.lse = np.zeros(4, np.float32)

    def forward(self, **overrides):
        args = dict(logits=self.logits, target=self.target, loss=self.loss, logsumexp=self.lse)
        args.update(overrides)
        _C.cross_entropy_forward(**args)

    @pytest.mark.parametrize("bad", [3, 7, -1, -101])
    def test_target_out_of_range(self, bad):
        target = self.target.copy()
        target[2] = bad
        with pytest.raises(IndexError, match=rf"target .*got {bad} at position 2"):
            self.forward(target=target)

    def test_custom_ignore_index_is_allowed(self):
        self.forward(target=np.array([0, -1, 2, -1]), ignore_index=-1)
        assert np.isfinite(self.loss)

    @pytest.mark.parametrize("ignore_index", [-100, 1])
    def test_first_bad_target_is_reported_and_outputs_are_untouched(self, rng, ignore_index):
        """Checked before the kernels run (they check again what they read: tests/reliability/
        test_index_races.py races another thread against them); ignore_index keeps its meaning."""
        N, C = 40_003, 3
        logits = random_array(rng, (N, C), np.float32)
        target = random_targets(rng, N, C, ignore_fraction=0.1, ignore_index=ignore_index)
        target[[20_000, 30_000, N - 1]] = [C, -2**63, 2**40]
        message = (rf"target must hold class indices in \[0, 3\) or ignore_index \({ignore_index}\), "
                   r"got 3 at position 20000$")
        loss, logsumexp, grad = poisoned((N,), np.float32), poisoned((N,), np.float32), poisoned((N, C), np.float32)
        with pytest.raises(IndexError, match=message):
            _C.cross_entropy_forward(logits, target, loss, logsumexp, grad, "none", ignore_index)
        assert np.isnan(loss).all() and np.isnan(logsumexp).all() and np.isnan(grad).all()

    @pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
    def test_label_smoothing_out_of_range(self, value):
        with pytest.raises(ValueError, match="label_smoothing must be in"):
            self.forward(label_smoothing=value)

    def test_unknown_reduction(self):
        with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
            self.forward(reduction="avg")

    def test_target_dtype(self):
        with pytest.raises(TypeError, match="target must have dtype int64"):
            self.forward(target=self.target.astype(np.int32))

    def test_logits_dtype(self):
        with pytest.raises(TypeError, match="logits must have dtype float32 or float64"):
            self.forward(logits=self.logits.astype(np.float16))

    def test_mixed_dtypes(self):
        with pytest.raises(TypeError, match="loss must have the dtype of logits"):
            self.forward(loss=np.zeros((), np.float64))

    def test_list_is_refused(self):
        with pytest.raises(TypeError, match="logits must be a numpy.ndarray"):
            self.forward(logits=self.logits.tolist())

    def test_non_contiguous(self):
        with pytest.raises(ValueError, match="logits must be C-contiguous"):
            self.forward(logits=np.asfortranarray(np.ones((4, 3), np.float32)))

    def test_shapes(self):
        with pytest.raises(ValueError, match="logits must be 2-D"):
            self.forward(logits=np.ones(3, np.float32))
        with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
            self.forward(target=np.zeros(5, np.int64))
        with pytest.raises(ValueError, match=r"loss must have shape \(\)"):
            self.forward(loss=np.zeros(4, np.float32))
        with pytest.raises(ValueError, match="loss must have the shape of target"):
            self.forward(loss=np.zeros((), np.float32), reduction="none")
        with pytest.raises(ValueError, match=r"logsumexp must have shape \(4,\)"):
            self.forward(logsumexp=np.zeros(3, np.float32))
        with pytest.raises(ValueError, match=r"grad_logits must have shape \(4, 3\)"):
            self.forward(grad_logits=np.zeros((3, 4), np.float32))
        with pytest.raises(ValueError, match="logits must have at least one class"):
            self.forward(logits=np.zeros((4, 0), np.float32))

    def test_aliasing(self):
        with pytest.raises(ValueError, match="grad_logits must not share memory with logits"):
            self.forward(grad_logits=self.logits)
        with pytest.raises(ValueError, match="logsumexp must not share memory with logits"):
            self.forward(logsumexp=self.logits.reshape(-1)[:4])
        with pytest.raises(ValueError, match="logsumexp must not share memory with loss"):
            buffer = np.zeros(5, np.float32)
            self.forward(loss=buffer[0:1].reshape(()), logsumexp=buffer[:4])

    def test_read_only_output(self):
        loss = np.zeros((), np.float32)
        loss.flags.writeable = False
        with pytest.raises(ValueError, match="loss must be writeable"):
            self.forward(loss=loss)


class TestElementwiseBadInput:
    x = np.ones((2, 3), np.float32)

    @pytest.mark.parametrize("name", ELEMENTWISE)
    def test_target_shape_and_dtype(self, name):
        forward = getattr(_C, f"{name}_forward")
        with pytest.raises(ValueError, match="target must have the shape of input"):
            forward(self.x, np.ones((3, 2), np.float32), np.zeros((), np.float32))
        with pytest.raises(TypeError, match="target must have the dtype of input"):
            forward(self.x, np.ones((2, 3), np.float64), np.zeros((), np.float32))
        with pytest.raises(TypeError, match="input must have dtype float32 or float64"):
            forward(self.x.astype(np.int64), self.x.astype(np.int64), np.zeros((), np.int64))

    @pytest.mark.parametrize("name", ELEMENTWISE)
    def test_loss_shape_and_reduction(self, name):
        forward = getattr(_C, f"{name}_forward")
        with pytest.raises(ValueError, match=r"loss must have shape \(\)"):
            forward(self.x, self.x, np.zeros(6, np.float32))
        with pytest.raises(ValueError, match="loss must have the shape of input"):
            forward(self.x, self.x, np.zeros((), np.float32), reduction="none")
        with pytest.raises(ValueError, match="reduction must be one of"):
            forward(self.x, self.x, np.zeros((), np.float32), reduction="max")

    @pytest.mark.parametrize("name", ELEMENTWISE)
    def test_backward_shapes_and_aliasing(self, name):
        backward = getattr(_C, f"{name}_backward")
        with pytest.raises(ValueError, match="grad_loss must have the shape of input"):
            backward(np.ones(3, np.float32), self.x, self.x, np.zeros((2, 3), np.float32), reduction="none")
        with pytest.raises(ValueError, match="grad_input must have the shape of input"):
            backward(np.ones((), np.float32), self.x, self.x, np.zeros((3, 2), np.float32))
        x = self.x.copy()
        with pytest.raises(ValueError, match="grad_input must not share memory with input"):
            backward(np.ones((), np.float32), x, self.x, x)

    def test_pos_weight(self):
        with pytest.raises(ValueError, match=r"pos_weight must have shape \(3,\)"):
            _C.bce_with_logits_forward(self.x, self.x, np.zeros((), np.float32), pos_weight=np.ones(2, np.float32))
        with pytest.raises(TypeError, match="pos_weight must have the dtype of input"):
            _C.bce_with_logits_forward(self.x, self.x, np.zeros((), np.float32), pos_weight=np.ones(3))
        with pytest.raises(TypeError, match="pos_weight must be a numpy.ndarray"):
            _C.bce_with_logits_backward(np.ones((), np.float32), self.x, self.x, np.zeros((2, 3), np.float32),
                                        pos_weight=[1.0, 1.0, 1.0])
        with pytest.raises(ValueError, match="pos_weight needs an input with a last axis"):
            _C.bce_with_logits_forward(np.ones((), np.float32), np.ones((), np.float32), np.zeros((), np.float32),
                                       pos_weight=np.ones(1, np.float32))
