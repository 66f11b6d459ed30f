"""batch_norm and layer_norm kernels beyond tests/ops' specs (which check forward, running statistics and backward
against the float64 references at every size): affine and statistics left out, one-row eval, float32 statistics
accumulated in double, empty batches, finite differences, thread counts, PyTorch when importable, bad input, and the
functional wrappers."""
import functools

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array
from nnx import _C
from nnx.ops import normalization as norms
from ops import normalization as family
from ops.normalization import as64, batch_norm_backward_reference, layer_norm_backward_reference

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

MOMENTUM, EPS = 0.3, 1e-3  # not the defaults, so a kernel that ignores them fails


@pytest.fixture
def restore_threads():
    threads = _C.get_num_threads()
    yield
    _C.set_num_threads(threads)


def affine(rng, size, dtype, with_weight=True, with_bias=True):
    weight = random_array(rng, (size,), dtype, 0.5, 1.5) if with_weight else None
    bias = random_array(rng, (size,), dtype) if with_bias else None
    return weight, bias


def running_stats(rng, C, dtype):
    return random_array(rng, (C,), dtype, -0.5, 0.5), random_array(rng, (C,), dtype, 0.5, 2.0)


# the family's references (tests/ops/normalization.py) with this file's non-default momentum and eps
batch_norm_reference = functools.partial(family.batch_norm_reference, momentum=MOMENTUM, eps=EPS)
layer_norm_reference = functools.partial(family.layer_norm_reference, eps=EPS)


# ---- kernel calls with NaN-poisoned outputs ------------------------------------------------------------------

def run_batch_norm(x, weight, bias, running_mean, running_var, training, momentum=MOMENTUM, eps=EPS):
    N, C = x.shape
    out, save_mean, save_invstd = poisoned((N, C), x.dtype), poisoned((C,), x.dtype), poisoned((C,), x.dtype)
    _C.batch_norm_forward(x, weight, bias, running_mean, running_var, out, save_mean, save_invstd, training,
                          momentum, eps)
    return out, save_mean, save_invstd


def run_batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, training, need=(True, True, True)):
    N, C = x.shape
    grads = [poisoned(shape, x.dtype) if wanted else None for shape, wanted in zip([(N, C), (C,), (C,)], need)]
    _C.batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, *grads, training)
    return grads


def run_layer_norm(x, weight, bias, eps=EPS):
    N, D = x.shape
    out, mean, rstd = poisoned((N, D), x.dtype), poisoned((N,), x.dtype), poisoned((N,), x.dtype)
    _C.layer_norm_forward(x, weight, bias, out, mean, rstd, eps)
    return out, mean, rstd


def run_layer_norm_backward(grad_out, x, weight, mean, rstd, need=(True, True, True)):
    N, D = x.shape
    grads = [poisoned(shape, x.dtype) if wanted else None for shape, wanted in zip([(N, D), (D,), (D,)], need)]
    _C.layer_norm_backward(grad_out, x, weight, mean, rstd, *grads)
    return grads


def reduction_scale(rows):
    """Tolerance scale for sums over `rows` rows of float32 terms rounded once each."""
    return max(2, np.sqrt(rows) / 4)


# ---- batch_norm forward ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("with_weight,with_bias", [(False, False), (True, False), (False, True)])
def test_batch_norm_without_affine_or_running_stats(rng, with_weight, with_bias, dtype):
    x = random_array(rng, (37, 11), dtype)
    weight, bias = affine(rng, 11, dtype, with_weight, with_bias)
    out, save_mean, save_invstd = run_batch_norm(x, weight, bias, None, None, True)
    expected = batch_norm_reference(x, weight, bias, None, None, True)
    assert_close(out, expected[0], scale=4)
    assert_close(save_invstd, expected[2])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_batch_norm_eval_with_one_row(rng, dtype):
    x = random_array(rng, (1, 7), dtype)
    weight, bias = affine(rng, 7, dtype)
    running_mean, running_var = running_stats(rng, 7, dtype)
    before = running_mean.copy(), running_var.copy()
    out, _, _ = run_batch_norm(x, weight, bias, running_mean, running_var, False)
    assert_close(out, batch_norm_reference(x, weight, bias, running_mean, running_var, False)[0], scale=4)
    np.testing.assert_array_equal(running_mean, before[0])  # eval never touches the running statistics
    np.testing.assert_array_equal(running_var, before[1])


def test_batch_norm_float32_statistics_accumulate_in_double(rng):
    """Offset data with a small spread: float sums of squares (E[x^2] - E[x]^2) would lose every digit."""
    x = (1000.0 + random_array(rng, (4096, 5), np.float64, -0.01, 0.01)).astype(np.float32)
    _, save_mean, save_invstd = run_batch_norm(x, None, None, None, None, True, eps=0.0)
    _, mean, invstd, _, _ = batch_norm_reference(x, None, None, None, None, True, eps=0.0)
    np.testing.assert_allclose(save_mean, mean, rtol=1e-7)
    np.testing.assert_allclose(save_invstd, invstd, rtol=1e-5)


def column_specials(rng, N, dtype):
    """x(N, 5) whose columns hold, among finite values: -inf in the first row chunk, inf in a later one, inf and
    -inf in different chunks, a NaN, nothing special (several row chunks, so the chunks' statistics are merged)."""
    x = random_array(rng, (N, 5), dtype)
    x[3, 0] = -np.inf
    x[N - 2, 1] = np.inf
    x[1, 2], x[N - 1, 2] = np.inf, -np.inf
    x[N // 2, 3] = np.nan
    return x


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_batch_norm_statistics_of_columns_holding_inf_or_nan(rng, dtype):
    """The mean is NumPy's (and PyTorch's): -inf, inf, NaN for inf - inf, NaN; the variance NaN; other columns
    untouched. Merging chunk statistics used to turn [-inf, finite] into -inf + inf = NaN."""
    x = column_specials(rng, 700, dtype)
    running_mean, running_var = running_stats(rng, 5, dtype)
    out, save_mean, save_invstd = run_batch_norm(x, None, None, running_mean, running_var, True)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(save_mean[:4], as64(x[:, :4]).mean(axis=0).astype(dtype))
    assert np.isnan(save_invstd[:4]).all() and np.isnan(out[:, :4]).all()
    _, mean, invstd, _, _ = batch_norm_reference(x[:, 4:], None, None, None, None, True)
    assert_close(save_mean[4:], mean, dtype=dtype)
    assert_close(save_invstd[4:], invstd, dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_batch_norm_empty_batch_keeps_running_stats(rng, dtype):
    running_mean, running_var = running_stats(rng, 4, dtype)
    before = running_mean.copy(), running_var.copy()
    out, save_mean, save_invstd = run_batch_norm(np.empty((0, 4), dtype), None, None, running_mean, running_var, True)
    assert out.shape == (0, 4) and (save_mean == 0).all() and (save_invstd == 0).all()
    np.testing.assert_array_equal(running_mean, before[0])
    np.testing.assert_array_equal(running_var, before[1])


# ---- batch_norm backward --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("need", [(True, False, False), (False, True, False), (False, False, True)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_backward_skips_outputs_given_as_none(rng, training, need, dtype):
    x, grad_out = random_array(rng, (9, 4), dtype), random_array(rng, (9, 4), dtype)
    _, save_mean, save_invstd = run_batch_norm(x, None, None, *running_stats(rng, 4, dtype), training)
    expected = batch_norm_backward_reference(grad_out, x, None, as64(save_mean), as64(save_invstd), training)
    grads = run_batch_norm_backward(grad_out, x, None, save_mean, save_invstd, training, need)
    for grad, reference, wanted in zip(grads, expected, need):
        if wanted:
            assert_close(grad, reference, scale=8)


def batch_norm_loss(x, weight, bias, probe, training, running):
    """sum(out * probe) in float64 through the kernel: the scalar the finite differences differentiate."""
    stats = [s.copy() for s in running]  # each evaluation starts from the same running statistics
    return float((run_batch_norm(x, weight, bias, *stats, training)[0] * probe).sum())


def central_differences(loss, arrays, step=1e-6):
    """d loss / d array for each array, perturbing every element in turn."""
    grads = []
    for array in arrays:
        grad = np.empty_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + step
            plus = loss()
            array[index] = original - step
            minus = loss()
            array[index] = original
            grad[index] = (plus - minus) / (2 * step)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_backward_matches_finite_differences(rng, training):
    x = random_array(rng, (6, 3), np.float64)
    weight, bias = affine(rng, 3, np.float64)
    running = running_stats(rng, 3, np.float64)
    probe = random_array(rng, (6, 3), np.float64)
    _, save_mean, save_invstd = run_batch_norm(x, weight, bias, *[s.copy() for s in running], training)
    analytic = run_batch_norm_backward(probe, x, weight, save_mean, save_invstd, training)
    numeric = central_differences(lambda: batch_norm_loss(x, weight, bias, probe, training, running), [x, weight, bias])
    for got, expected in zip(analytic, numeric):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


# ---- layer_norm -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_layer_norm_statistics_of_offset_rows_and_outliers(rng, dtype):
    """Rows far from 0 with a small spread, and rows led by an outlier (the kernel sums deviations from row[0])."""
    x = 1000.0 + random_array(rng, (6, 777), np.float64, -0.01, 0.01)
    x[3:, 0] = -1e4
    x = x.astype(dtype)
    _, mean, rstd = run_layer_norm(x, None, None, eps=0.0)
    _, expected_mean, expected_rstd = layer_norm_reference(x, None, None, eps=0.0)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-7 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(rstd, expected_rstd, rtol=1e-6 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False), (False, False, True)])
def test_layer_norm_backward_skips_outputs_given_as_none(rng, need):
    x, grad_out = random_array(rng, (9, 4), np.float64), random_array(rng, (9, 4), np.float64)
    weight, _ = affine(rng, 4, np.float64)
    _, mean, rstd = run_layer_norm(x, weight, None)
    expected = layer_norm_backward_reference(grad_out, x, weight, mean, rstd)
    for grad, reference, wanted in zip(run_layer_norm_backward(grad_out, x, weight, mean, rstd, need), expected, need):
        if wanted:
            assert_close(grad, reference, scale=8)


def test_layer_norm_backward_matches_finite_differences(rng):
    x = random_array(rng, (4, 5), np.float64)
    weight, bias = affine(rng, 5, np.float64)
    probe = random_array(rng, (4, 5), np.float64)
    _, mean, rstd = run_layer_norm(x, weight, bias)
    analytic = run_layer_norm_backward(probe, x, weight, mean, rstd)
    numeric = central_differences(lambda: float((run_layer_norm(x, weight, bias)[0] * probe).sum()), [x, weight, bias])
    for got, expected in zip(analytic, numeric):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


# ---- threads ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_results_do_not_depend_on_thread_count(rng, dtype, restore_threads):
    x, grad_out = random_array(rng, (700, 131), dtype), random_array(rng, (700, 131), dtype)
    weight, bias = affine(rng, 131, dtype)
    running = running_stats(rng, 131, dtype)
    results = []
    for threads in (1, 2, 3):
        _C.set_num_threads(threads)
        stats = [s.copy() for s in running]
        batch = run_batch_norm(x, weight, bias, *stats, True)
        batch_grads = run_batch_norm_backward(grad_out, x, weight, batch[1], batch[2], True)
        layer = run_layer_norm(x, weight, bias)
        layer_grads = run_layer_norm_backward(grad_out, x, weight, layer[1], layer[2])
        results.append([*batch, *stats, *batch_grads, *layer, *layer_grads])
    for first, *others in zip(*results):
        for other in others:
            np.testing.assert_array_equal(first, other)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_channel_layout_results_do_not_depend_on_thread_count(rng, dtype, restore_threads):
    """(N, C, S) input (channels over threads, chunks of whole images) with the fused relu."""
    x, grad_out = random_array(rng, (20, 7, 450), dtype), random_array(rng, (20, 7, 450), dtype)
    weight, bias = affine(rng, 7, dtype)
    results = []
    for threads in (1, 2, 3):
        _C.set_num_threads(threads)
        stats = [s.copy() for s in running_stats(np.random.default_rng(1), 7, dtype)]
        out, save_mean, save_invstd = (poisoned(x.shape, dtype), poisoned((7,), dtype), poisoned((7,), dtype))
        _C.batch_norm_forward(x, weight, bias, *stats, out, save_mean, save_invstd, True, MOMENTUM, EPS, "relu")
        grads = [poisoned(x.shape, dtype), poisoned((7,), dtype), poisoned((7,), dtype)]
        _C.batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, *grads, True, out)
        results.append([out, save_mean, save_invstd, *stats, *grads])
    for first, *others in zip(*results):
        for other in others:
            np.testing.assert_array_equal(first, other)


# ---- PyTorch ------------------------------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(rng, training):
    x = random_array(rng, (33, 7), np.float64)
    weight, bias = affine(rng, 7, np.float64)
    running = running_stats(rng, 7, np.float64)
    grad_out = random_array(rng, (33, 7), np.float64)
    ours = [s.copy() for s in running]
    out, save_mean, save_invstd = run_batch_norm(x, weight, bias, *ours, training)
    grads = run_batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, training)

    theirs = [torch.tensor(s) for s in running]
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    expected = torch.nn.functional.batch_norm(tensors[0], *theirs, *tensors[1:], training=training,
                                              momentum=MOMENTUM, eps=EPS)
    expected.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for got, reference in zip([*ours, *grads], [*theirs, *(t.grad for t in tensors)]):
        np.testing.assert_allclose(got, reference.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_layer_norm_matches_torch(rng):
    x = random_array(rng, (9, 13), np.float64)
    weight, bias = affine(rng, 13, np.float64)
    grad_out = random_array(rng, (9, 13), np.float64)
    out, mean, rstd = run_layer_norm(x, weight, bias)
    grads = run_layer_norm_backward(grad_out, x, weight, mean, rstd)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    expected = torch.nn.functional.layer_norm(tensors[0], (13,), *tensors[1:], eps=EPS)
    expected.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for got, tensor in zip(grads, tensors):
        np.testing.assert_allclose(got, tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- bad input ----------------------------------------------------------------------------------------------------

def batch_norm_arguments(dtype=np.float32, N=4, C=3, **changes):
    arguments = dict(x=np.ones((N, C), dtype), weight=np.ones(C, dtype), bias=np.zeros(C, dtype),
                     running_mean=np.zeros(C, dtype), running_var=np.ones(C, dtype), out=np.empty((N, C), dtype),
                     save_mean=np.empty(C, dtype), save_invstd=np.empty(C, dtype), training=True)
    arguments.update(changes)
    return arguments


def layer_norm_arguments(dtype=np.float32, N=4, D=3, **changes):
    arguments = dict(x=np.ones((N, D), dtype), weight=np.ones(D, dtype), bias=np.zeros(D, dtype),
                     out=np.empty((N, D), dtype), mean=np.empty(N, dtype), rstd=np.empty(N, dtype))
    arguments.update(changes)
    return arguments


def backward_arguments(dtype=np.float32, N=4, D=3, stat_size=3, **changes):
    arguments = dict(grad_out=np.ones((N, D), dtype), x=np.ones((N, D), dtype), weight=np.ones(D, dtype),
                     grad_input=np.empty((N, D), dtype), grad_weight=np.empty(D, dtype), grad_bias=np.empty(D, dtype))
    arguments.update(changes)
    return arguments, np.ones(stat_size, dtype)


BATCH_NORM_BAD = [
    (dict(x=[[1.0, 2.0]]), TypeError, "x must be a numpy.ndarray"),
    (dict(x=np.ones((4, 3), np.int32)), TypeError, "x must have dtype float32 or float64"),
    (dict(x=np.ones((4, 3, 2, 1), np.float32)), ValueError, "x must be 2-D"),  # (N, C) or (N, C, S)
    (dict(x=np.ones((3, 4), np.float32).T), ValueError, "x must be C-contiguous"),
    (dict(weight=np.ones(3, np.float64)), TypeError, "weight must have the dtype of x"),
    (dict(bias=np.ones(4, np.float32)), ValueError, r"bias must have shape \(3,\)"),
    (dict(running_var=None), ValueError, "running_mean and running_var must both"),
    (dict(running_mean=None, running_var=None, training=False), ValueError, "required in evaluation mode"),
    (dict(out=np.empty((4, 4), np.float32)), ValueError, r"out must have shape \(4, 3\)"),
    (dict(save_invstd=np.empty(3, np.float32)[::-1]), ValueError, "save_invstd must be C-contiguous"),
    (dict(N=1, x=np.ones((1, 3), np.float32), out=np.empty((1, 3), np.float32)), ValueError,
     r"Expected more than 1 value per channel when training, got input size \(1, 3\)"),
    (dict(momentum=float("nan")), ValueError, "momentum must be a finite number"),
    (dict(eps=-1.0), ValueError, "eps must be a finite number >= 0"),
]


@pytest.mark.parametrize("changes,error,message", BATCH_NORM_BAD)
def test_batch_norm_forward_bad_input_names_the_argument(changes, error, message):
    with pytest.raises(error, match=message):
        _C.batch_norm_forward(**batch_norm_arguments(**changes))


def test_batch_norm_forward_refuses_aliased_outputs():
    arguments = batch_norm_arguments()
    with pytest.raises(ValueError, match="out must not share memory with x"):
        _C.batch_norm_forward(**dict(arguments, out=arguments["x"]))
    with pytest.raises(ValueError, match="running_mean must not share memory with running_var"):
        _C.batch_norm_forward(**dict(arguments, running_var=arguments["running_mean"]))
    readonly = np.zeros(3, np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="running_mean must be writeable"):
        _C.batch_norm_forward(**dict(arguments, running_mean=readonly))


@pytest.mark.parametrize("name", ["save_mean", "save_invstd"])
def test_batch_norm_backward_bad_saved_statistics(name):
    arguments, stat = backward_arguments()
    saved = dict(save_mean=stat, save_invstd=stat.copy())
    with pytest.raises(ValueError, match=rf"{name} must have shape \(3,\)"):
        _C.batch_norm_backward(**arguments, **dict(saved, **{name: np.ones(4, np.float32)}))
    with pytest.raises(TypeError, match=f"{name} must have the dtype of grad_out"):
        _C.batch_norm_backward(**arguments, **dict(saved, **{name: np.ones(3, np.float64)}))


def test_batch_norm_backward_bad_gradients():
    arguments, stat = backward_arguments()
    saved = dict(save_mean=stat, save_invstd=stat.copy())
    with pytest.raises(ValueError, match=r"x must have shape \(4, 3\)"):
        _C.batch_norm_backward(**dict(arguments, x=np.ones((5, 3), np.float32)), **saved)
    with pytest.raises(ValueError, match="grad_input must not share memory with grad_out"):
        _C.batch_norm_backward(**dict(arguments, grad_input=arguments["grad_out"]), **saved)
    with pytest.raises(TypeError, match="grad_out must have dtype float32 or float64"):
        _C.batch_norm_backward(**dict(arguments, grad_out=np.ones((4, 3), np.float16)), **saved)


LAYER_NORM_BAD = [
    (dict(x=np.ones(3, np.float32)), ValueError, "x must be 2-D"),
    (dict(x=np.ones((4, 0), np.float32)), ValueError, "x must have at least one column"),
    (dict(weight=np.ones(4, np.float32)), ValueError, r"weight must have shape \(3,\)"),
    (dict(bias=np.ones(3, np.float64)), TypeError, "bias must have the dtype of x"),
    (dict(mean=np.empty(3, np.float32)), ValueError, r"mean must have shape \(4,\)"),
    (dict(rstd=[0.0] * 4), TypeError, "rstd must be a numpy.ndarray"),
    (dict(eps=float("inf")), ValueError, "eps must be a finite number >= 0"),
]


@pytest.mark.parametrize("changes,error,message", LAYER_NORM_BAD)
def test_layer_norm_forward_bad_input_names_the_argument(changes, error, message):
    with pytest.raises(error, match=message):
        _C.layer_norm_forward(**layer_norm_arguments(**changes))


def test_layer_norm_backward_bad_input_names_the_argument():
    arguments, stat = backward_arguments(stat_size=4)
    with pytest.raises(ValueError, match=r"rstd must have shape \(4,\)"):
        _C.layer_norm_backward(**arguments, mean=stat, rstd=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="grad_weight must not share memory with weight"):
        _C.layer_norm_backward(**dict(arguments, grad_weight=arguments["weight"]), mean=stat, rstd=stat.copy())


# ---- the functional layer: the kernels against the NumPy Functions they replace --------------------------------

def tensors(*arrays):
    return [None if a is None else nnx.tensor(a, requires_grad=True) for a in arrays]


def forward_backward(function, x, weight, bias, grad_out):
    """(out, grad_x, grad_weight, grad_bias) of function(x, weight, bias) for upstream gradient grad_out."""
    x, weight, bias = tensors(x, weight, bias)
    out = function(x, weight, bias)
    out.backward(nnx.tensor(grad_out))
    return [out.numpy()] + [None if t is None else t.grad.numpy() for t in (x, weight, bias)]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("with_affine", [True, False])
def test_functional_batch_norm_matches_the_numpy_function(rng, with_affine, training):
    x, grad_out = random_array(rng, (13, 5), np.float64), random_array(rng, (13, 5), np.float64)
    weight, bias = affine(rng, 5, np.float64, with_affine, with_affine)
    running = running_stats(rng, 5, np.float64)
    native_stats = [nnx.tensor(s.copy()) for s in running]
    numpy_stats = [s.copy() for s in running]
    native = forward_backward(lambda *args: F.batch_norm(args[0], *native_stats, *args[1:], training, MOMENTUM, EPS),
                              x, weight, bias, grad_out)
    numpy = forward_backward(lambda *args: norms.BatchNormFunction.apply(*args, *numpy_stats, training, MOMENTUM, EPS),
                             x, weight, bias, grad_out)
    for got, expected in zip(native + [s.numpy() for s in native_stats], numpy + numpy_stats):
        if expected is not None:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_functional_batch_norm_writes_strided_running_stats(rng):
    x = random_array(rng, (9, 4), np.float32)
    storage = np.stack([np.zeros(4, np.float32), np.ones(4, np.float32)], axis=1)  # columns: strided views
    running_mean, running_var = nnx.tensor(np.zeros(4, np.float32)), nnx.tensor(np.ones(4, np.float32))
    running_mean._data, running_var._data = storage[:, 0], storage[:, 1]
    F.batch_norm(nnx.tensor(x), running_mean, running_var, training=True, momentum=MOMENTUM, eps=EPS)
    expected = batch_norm_reference(x, None, None, np.zeros(4), np.ones(4), True)
    assert_close(storage[:, 0], expected[3])
    assert_close(storage[:, 1], expected[4])


@pytest.mark.parametrize("with_affine", [True, False])
def test_functional_layer_norm_over_trailing_dims_of_a_strided_input(rng, with_affine):
    x = random_array(rng, (2, 3, 4, 5), np.float64).transpose(1, 0, 2, 3)  # (3, 2, 4, 5), not C-contiguous
    grad_out = random_array(rng, x.shape, np.float64)
    weight, bias = [None if a is None else a.reshape(4, 5) for a in affine(rng, 20, np.float64, with_affine,
                                                                          with_affine)]
    native = forward_backward(lambda *args: F.layer_norm(args[0], (4, 5), *args[1:], eps=EPS),
                              x, weight, bias, grad_out)
    numpy = forward_backward(lambda *args: norms.LayerNormFunction.apply(*args, 2, EPS), x, weight, bias, grad_out)
    for got, expected in zip(native, numpy):
        if expected is not None:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_read_only_weight_and_bias_are_accepted(rng):
    """weight/bias are only read: read-only arrays (memory-mapped checkpoints, frozen views) must work."""
    x = random_array(rng, (9, 4), np.float32)
    weight, bias = affine(rng, 4, np.float32)
    weight.flags.writeable = False
    bias.flags.writeable = False
    out, _, _ = run_layer_norm(x, weight, bias)
    assert_close(out, layer_norm_reference(x, weight, bias)[0], scale=4)
    out, _, _ = run_batch_norm(x, weight, bias, None, None, True)
    assert_close(out, batch_norm_reference(x, weight, bias, None, None, True)[0], scale=4)
