"""CudaArray against NumPy: operators, ufuncs, promotion, broadcasting, views, indexing, reductions, functions.

Runs on the NumPy stand-in for nnx._cuda (tests/fake_cuda) everywhere and on a real GPU when one is
visible. Every result is compared with NumPy on the same (random, never zero) host values, dtype included.
"""
import copy
import pickle

import numpy as np
import pytest

import nnx.native.cuda as cuda
from nnx.native.cuda_array import CudaArray


@pytest.fixture(autouse=True)
def native(cuda_native):
    """Every test here runs on the fake CUDA module, and on the real one where a GPU is visible."""
    return cuda_native


def dev(array):
    return cuda.from_numpy(np.asarray(array))


def host(array):
    assert isinstance(array, CudaArray), f"expected a CudaArray, got {type(array).__name__}"
    return cuda.to_numpy(array)


def same(result, expected, exact=True):
    """The CudaArray `result` holds NumPy's `expected`: same shape, dtype and values."""
    expected = np.asarray(expected)
    values = host(result)
    assert values.shape == expected.shape, (values.shape, expected.shape)
    assert values.dtype == expected.dtype, (values.dtype, expected.dtype)
    if exact or expected.dtype.kind not in "f":
        np.testing.assert_array_equal(values, expected)
    else:
        tolerance = 1e-5 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(values, expected, rtol=tolerance, atol=tolerance)


_DEVICE_DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64))


def numpy_or_type_error(function, *args):
    """NumPy's result, or None where NumPy raises TypeError or gives a dtype device arrays do not hold."""
    try:
        result = np.asarray(function(*args))
    except TypeError:
        return None
    return result if result.dtype in _DEVICE_DTYPES else None


def random(rng, shape, dtype=np.float32, low=-3.0, high=3.0):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else int(low) * 3
        return rng.integers(low, int(high) * 3 + 1, size=shape).astype(dtype)
    values = rng.uniform(low, high, size=shape)
    values[values == 0] = 0.5
    return values.astype(dtype)


# --- attributes, conversions, refusals ---------------------------------------------------------------------------------
def test_attributes_match_numpy(rng):
    data = random(rng, (3, 5, 2), np.float64)
    a = dev(data)
    for view, reference in ((a, data), (a.T, data.T), (a[:, 1:4:2], data[:, 1:4:2]), (a[..., 0], data[..., 0])):
        assert view.shape == reference.shape and view.ndim == reference.ndim and view.size == reference.size
        assert view.dtype == reference.dtype and view.itemsize == 8 and view.nbytes == reference.nbytes
        assert view.strides == reference.strides
        assert view.flags.c_contiguous == reference.flags.c_contiguous
        assert view.flags.f_contiguous == reference.flags.f_contiguous
        same(view, reference)
    assert len(a) == 3 and [host(row).shape for row in a] == [(5, 2)] * 3


def test_no_implicit_host_conversion(rng):
    a = dev(random(rng, (4,)))
    for convert in (np.asarray, np.array, lambda x: np.ascontiguousarray(x), lambda x: np.float32(0) + np.array(x)):
        with pytest.raises(TypeError, match="implicit conversion of a CUDA array to NumPy"):
            convert(a)


@pytest.mark.parametrize("function", [np.sort, np.median, np.unique, np.argsort, np.cov])
def test_unsupported_functions_raise_type_error(rng, function):
    with pytest.raises(TypeError, match=f"do not support numpy.{function.__name__}"):
        function(dev(random(rng, (4,))))


def test_mixing_with_host_arrays_is_refused_but_scalars_work(rng):
    a = dev(random(rng, (3,)))
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        np.add(a, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        np.ones(3, np.float32) + a
    same(a + np.float32(2), host(a) + np.float32(2))
    same(a * np.array(2.0), host(a) * np.array(2.0))  # a 0-d array is a strongly typed scalar (float64)


def test_scalar_conversions_read_the_device(rng):
    data = random(rng, (2, 3))
    a = dev(data)
    assert a[1, 2].item() == data[1, 2].item() and a.item(4) == data.item(4)
    assert a.tolist() == data.tolist()
    assert float(a[0, 0]) == float(data[0, 0]) and int(dev(np.int64(7))) == 7
    assert bool(dev(np.array([True]))) and not bool(dev(np.array(0.0)))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
    assert list(range(10))[dev(np.int64(3))] == 3  # __index__
    assert "CudaArray(" in repr(a) and "cuda:0" in repr(a)
    assert f"{a[0, 1]:.3f}" == f"{data[0, 1]:.3f}" and f"{a}" == str(a)


def test_copies_pickle_and_deepcopy_are_independent(rng):
    data = random(rng, (3, 4))
    a = dev(data)
    for duplicate in (a.copy(), copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert isinstance(duplicate, CudaArray) and not np.may_share_memory(duplicate, a)
        duplicate[...] = 0
        same(a, data)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64])
def test_astype_between_every_device_dtype(rng, dtype):
    data = random(rng, (7, 3), np.float64, -300, 300)
    for target in (np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64):
        source = data.astype(dtype) if np.dtype(dtype).kind != "u" else np.abs(data).astype(dtype)
        if np.dtype(target).kind == "u":
            source = np.abs(source) if np.dtype(dtype) != np.bool_ else source
        with np.errstate(invalid="ignore", over="ignore"):
            expected = source.astype(target)
        if np.dtype(target).kind in "iu" and np.dtype(dtype).kind == "f" and np.dtype(target).itemsize < 4:
            continue  # float -> uint8 overflow is undefined in C and NumPy alike
        same(dev(source).astype(target), expected)
    with pytest.raises(TypeError, match="do not support dtype float16"):
        dev(data).astype(np.float16)


# --- ufuncs and operators ---------------------------------------------------------------------------------------------
_FLOAT_UNARY = [np.negative, np.abs, np.exp, np.expm1, np.square, np.sign, np.sin, np.cos, np.tan, np.tanh,
                np.arctan, np.floor, np.ceil, np.rint, np.trunc, np.isnan, np.isinf, np.isfinite, np.logical_not,
                np.positive, np.reciprocal, np.fabs]
_POSITIVE_UNARY = [np.log, np.log1p, np.log2, np.log10, np.sqrt]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ufunc", _FLOAT_UNARY + _POSITIVE_UNARY, ids=lambda f: f.__name__)
def test_float_unary_ufuncs(rng, ufunc, dtype):
    low = 0.1 if ufunc in _POSITIVE_UNARY else -3.0
    data = random(rng, (5, 7), dtype, low)
    data[0, :3] = [np.nan, np.inf, -np.inf] if ufunc not in _POSITIVE_UNARY else [np.nan, np.inf, 0.5]
    with np.errstate(all="ignore"):
        expected, expected_view = ufunc(data), ufunc(data[:, ::2])
    same(ufunc(dev(data)), expected, exact=False)
    same(ufunc(dev(data)[:, ::2]), expected_view, exact=False)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("ufunc", [np.negative, np.abs, np.square, np.sign, np.invert, np.logical_not, np.isnan,
                                   np.isfinite, np.floor, np.exp, np.sqrt], ids=lambda f: f.__name__)
def test_integer_unary_ufuncs_promote_like_numpy(rng, ufunc, dtype):
    data = random(rng, (4, 5), dtype)
    with np.errstate(all="ignore"):
        expected = numpy_or_type_error(ufunc, data)
    if expected is None:  # NumPy refuses, or its result dtype (float16, int8) has no device twin
        with pytest.raises(TypeError):
            ufunc(dev(data))
    else:
        same(ufunc(dev(data)), expected, exact=False)


_BINARY = [np.add, np.subtract, np.multiply, np.true_divide, np.floor_divide, np.remainder, np.power, np.maximum,
           np.minimum, np.fmax, np.fmin, np.arctan2, np.copysign, np.equal, np.not_equal, np.less, np.less_equal,
           np.greater, np.greater_equal, np.logical_and, np.logical_or, np.logical_xor, np.logaddexp, np.hypot]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("ufunc", _BINARY, ids=lambda f: f.__name__)
def test_binary_ufuncs_broadcast(rng, ufunc, dtype):
    a, b = random(rng, (4, 1, 3), dtype), random(rng, (5, 1), dtype)
    if ufunc is np.power:
        a, b = np.abs(a) + 1, np.abs(b) % 3
    if np.dtype(dtype).kind == "f":
        a[0, 0, :2] = [np.nan, np.inf]
    with np.errstate(all="ignore"):
        expected = ufunc(a, b)
        result = ufunc(dev(a), dev(b))
    same(result, expected, exact=False)


@pytest.mark.parametrize("ufunc", [np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.logical_and, np.add,
                                   np.multiply, np.maximum, np.equal], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.uint8])
def test_bool_and_bitwise_ufuncs(rng, ufunc, dtype):
    a, b = random(rng, (6, 4), dtype), random(rng, (4,), dtype)
    same(ufunc(dev(a), dev(b)), ufunc(a, b))


def test_ufunc_methods_and_dtype_argument(rng):
    data = random(rng, (3, 4))
    a = dev(data)
    same(np.add(a, 1, dtype=np.float64), np.add(data, 1, dtype=np.float64))
    same(np.add.reduce(a), np.add.reduce(data), exact=False)
    same(np.maximum.reduce(a, axis=1), np.maximum.reduce(data, axis=1))
    same(np.logical_and.reduce(a > 0, axis=0), np.logical_and.reduce(data > 0, axis=0))
    same(np.add.accumulate(a, axis=1), np.add.accumulate(data, axis=1), exact=False)
    with pytest.raises(TypeError, match="do not support numpy.multiply.outer"):
        np.multiply.outer(a, a)


def test_integer_division_by_zero_gives_zero_and_follows_the_divisor_sign():
    a = np.array([7, -7, 7, -7, 5], np.int64)
    b = np.array([2, 2, -2, -2, 0], np.int64)
    with np.errstate(divide="ignore"):
        same(dev(a) // dev(b), a // b)
        same(dev(a) % dev(b), a % b)
    x, y = np.array([7.5, -7.5, 7.5], np.float64), np.array([2.0, 2.0, -2.0])
    same(dev(x) // dev(y), x // y)
    same(dev(x) % dev(y), x % y)


@pytest.mark.parametrize("left", ["bool", "uint8", "int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("right", ["bool", "uint8", "int32", "int64", "float32", "float64", 2, 2.5, True,
                                   "np.float64", "np.int32", "0d-float64"])
def test_promotion_follows_numpy_2(rng, left, right):
    a = random(rng, (3,), left)
    if right == "np.float64":
        operand = np.float64(1.5)
    elif right == "np.int32":
        operand = np.int32(3)
    elif right == "0d-float64":
        operand = np.array(1.5)
    elif isinstance(right, str):
        operand = random(rng, (3,), right)
    else:
        operand = right
    device_operand = dev(operand) if isinstance(operand, np.ndarray) and operand.ndim else operand
    for ufunc in (np.add, np.multiply, np.true_divide, np.maximum, np.less):
        with np.errstate(all="ignore"):
            expected, reflected = numpy_or_type_error(ufunc, a, operand), numpy_or_type_error(ufunc, operand, a)
        if expected is None:
            with pytest.raises(TypeError):
                ufunc(dev(a), device_operand)
            continue
        same(ufunc(dev(a), device_operand), expected, exact=False)
        same(ufunc(device_operand, dev(a)), reflected, exact=False)


def test_operators_and_reflected_operators(rng):
    a, b = random(rng, (3, 4)), random(rng, (4,))
    x, y = dev(a), dev(b)
    pairs = [(x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b), (x ** 2, a ** 2), (2 ** x, 2 ** a),
             (1 - x, 1 - a), (3 / x, 3 / a), (-x, -a), (+x, +a), (abs(x), abs(a)), (x // 1.5, a // 1.5),
             (x % 1.5, a % 1.5), (x < y, a < b), (x >= 0.5, a >= 0.5), (x == x, a == a), (x != y, a != b),
             ((x > 0) & (y > 0), (a > 0) & (b > 0)), ((x > 0) | (y > 0), (a > 0) | (b > 0)),
             ((x > 0) ^ (y > 0), (a > 0) ^ (b > 0)), (~(x > 0), ~(a > 0)), (x @ y, a @ b)]
    for result, expected in pairs:
        same(result, expected, exact=False)


def test_in_place_operators_write_into_the_array_and_its_views(rng):
    data = random(rng, (4, 6))
    a = dev(data)
    base = a
    a += 1
    a *= dev(data[0])
    a -= np.float32(0.5)
    a /= 3
    view = a[:, ::2]
    view += 10  # a strided output: computed aside, copied back
    expected = ((data + 1) * data[0] - np.float32(0.5)) / 3
    expected[:, ::2] += 10
    assert a is base
    same(a, expected, exact=False)
    counts = dev(np.arange(4))
    counts **= 2
    counts //= 3
    same(counts, np.arange(4) ** 2 // 3)
    with pytest.raises(TypeError, match="same_kind"):
        counts += 1.5
    flags = dev(np.array([True, False]))
    flags &= dev(np.array([True, True]))
    flags |= dev(np.array([False, False]))
    flags ^= dev(np.array([True, False]))
    same(flags, np.array([False, False]))


def test_ufunc_out_argument(rng):
    a, b = random(rng, (3, 4)), random(rng, (3, 4))
    out = dev(np.full((3, 4), np.nan, np.float32))
    assert np.add(dev(a), dev(b), out=out) is out
    same(out, a + b)
    wide = dev(np.zeros((3, 4), np.float64))
    np.multiply(dev(a), 2, out=wide)  # float32 -> float64 out: cast on the way
    same(wide, (a * 2).astype(np.float64))
    np.exp(out, out=out)
    same(out, np.exp(a + b), exact=False)
    with pytest.raises(ValueError, match="non-broadcastable output"):
        np.add(dev(a), dev(b), out=dev(np.zeros(4, np.float32)))
    readonly = np.broadcast_to(dev(np.zeros(4, np.float32)), (3, 4))
    with pytest.raises(ValueError, match="read-only"):
        np.add(dev(a), 1, out=readonly)
    with pytest.raises(TypeError, match="out must be a CUDA array"):
        np.add(dev(a), 1, out=np.zeros((3, 4), np.float32))
    np.add(2, 3.5, out=out)  # only the output is a CUDA array
    same(out, np.full((3, 4), 5.5, np.float32))
    np.negative(2, out=out)
    same(out, np.full((3, 4), -2.0, np.float32))


def test_clip_round_where_and_composites(rng):
    data = random(rng, (5, 6), np.float64)
    a = dev(data)
    same(np.clip(a, -1, 1), np.clip(data, -1, 1))
    same(np.clip(a, None, 0.5), np.clip(data, None, 0.5))
    same(a.clip(dev(data[0]), 2.0), data.clip(data[0], 2.0))
    out = a.copy()
    np.clip(out, -0.5, 0.5, out=out)
    same(out, np.clip(data, -0.5, 0.5))
    same(np.round(a), np.round(data))
    same(np.round(a, 2), np.round(data, 2), exact=False)
    same(np.where(a > 0, a, 0.0), np.where(data > 0, data, 0.0))
    same(np.where(a > 0, 1, dev(data.astype(np.float32))), np.where(data > 0, 1, data.astype(np.float32)))
    same(np.where(a[0] > 0, a, -a), np.where(data[0] > 0, data, -data))
    mask = data > 0
    for result, expected in zip(np.where(dev(mask)), np.where(mask)):
        same(result, expected)
    same(np.logaddexp(dev(np.array([-np.inf, np.inf, 1.0])), dev(np.array([-np.inf, np.inf, 1.0]))),
         np.logaddexp(np.array([-np.inf, np.inf, 1.0]), np.array([-np.inf, np.inf, 1.0])), exact=False)


# --- views and reshape ----------------------------------------------------------------------------------------------------
_BASIC_INDICES = [1, -1, (1, 2), (slice(None), 0), (slice(1, None, 2),), (slice(None, None, -1), slice(1, 3)),
                  (Ellipsis, 1), (None, 0), (0, None, slice(None), None), (slice(None), None, -2, slice(None, 1)),
                  (np.int64(2), Ellipsis), (slice(-2, None), slice(None), slice(None, None, -2))]


@pytest.mark.parametrize("index", _BASIC_INDICES, ids=str)
def test_basic_indexing_gives_views(rng, index):
    data = random(rng, (4, 5, 3))
    a = dev(data)
    view = a[index]
    same(view, data[index])
    assert np.may_share_memory(view, a) or view.size == 0
    view[...] = 7.0  # writes show in the base array
    data[index] = 7.0
    same(a, data)


def test_index_errors_are_numpy_s(rng):
    a = dev(random(rng, (3, 4)))
    with pytest.raises(IndexError):
        a[3]
    with pytest.raises(IndexError):
        a[0, 0, 0]
    with pytest.raises(IndexError):
        a[np.array([0, 5])]
    with pytest.raises(IndexError):
        a["x"]


@pytest.mark.parametrize("source, target", [((3, 4), (12,)), ((3, 4), (2, -1)), ((2, 3, 4), (6, 4)),
                                            ((2, 3, 4), (2, 12)), ((1, 5), (5, 1)), ((0, 3), (3, 0)),
                                            ((2, 3), (3, 1, 2))])
def test_reshape_of_contiguous_arrays_is_a_view(rng, source, target):
    data = random(rng, source)
    a = dev(data)
    result = a.reshape(target)
    same(result, data.reshape(target))
    assert result.size == 0 or np.may_share_memory(result, a)


def test_reshape_of_strided_arrays_copies_only_when_numpy_does(rng):
    data = random(rng, (4, 6, 2))
    a = dev(data)
    for view, reference in ((a.T, data.T), (a[:, ::2], data[:, ::2]), (a.transpose(1, 0, 2), data.transpose(1, 0, 2)),
                            (a[1:3], data[1:3])):
        for shape in ((-1,), (reference.shape[0], -1), (-1, reference.shape[-1])):
            expected = reference.reshape(shape)
            result = view.reshape(shape)
            same(result, expected)
            assert np.may_share_memory(result, a) == np.may_share_memory(expected, data)
    with pytest.raises(ValueError):
        a.reshape(5, -1)
    same(np.ravel(a.T), data.T.ravel())
    same(a.flatten(), data.flatten())


@pytest.mark.parametrize("make", [
    lambda x: np.transpose(x, (2, 0, 1)), lambda x: np.moveaxis(x, 0, -1), lambda x: np.swapaxes(x, 0, 2),
    lambda x: np.expand_dims(x, (0, 2)), lambda x: np.squeeze(x[:, :1], 1), lambda x: np.broadcast_to(x[:, :1], (3, 4, 2)),
    lambda x: np.flip(x, 1), lambda x: x.T, lambda x: x.mT, lambda x: x.squeeze(), lambda x: np.atleast_2d(x[0, 0])])
def test_view_functions(rng, make):
    data = random(rng, (3, 4, 2))
    same(make(dev(data)), make(data))


def test_base_is_none_for_fresh_arrays_and_the_owner_for_views(rng):
    data = random(rng, (3, 4, 2))
    a = dev(data)
    fresh = [a, a + 1, a.copy(), a.astype(np.float64), a[[0, 2]], a[a > 0], np.zeros_like(a), cuda.empty((2,), np.int64),
             np.concatenate([a, a]), a.sum(0), a.T.copy()]
    assert all(array.base is None for array in fresh)
    views = [a[1:], a[0, :, 1], a.T, a.reshape(-1), a.reshape(3, 4, 2), np.broadcast_to(a[:, :1], (3, 4, 2)),
             np.expand_dims(a, 0), a.swapaxes(0, 1), a[None, ..., ::-1], np.flip(a, 1)]
    assert all(view.base is a for view in views)
    assert a[1:][::2][0].T[None].base is a  # the owner, never a view in between (NumPy's rule)
    copied = a.T.reshape(-1)  # this reshape has to copy: like NumPy, a view of a fresh copy
    assert copied.base is not None and copied.base is not a and copied.base.base is None
    assert data.T.reshape(-1).base is not None  # (NumPy agrees)


def test_broadcast_views_are_read_only(rng):
    a = np.broadcast_to(dev(random(rng, (1, 4))), (3, 4))
    assert not a.flags.writeable and a.strides[0] == 0
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        a += 1


# --- advanced indexing ------------------------------------------------------------------------------------------------------
def _advanced_indices(rng):
    rows = np.array([2, 0, -1, 2])
    columns = np.array([[1], [4]])
    return [rows, (rows,), (slice(None), rows), (rows, slice(1, 4)), (rows, columns[:, :1].ravel()[:1]),
            (rows[:, None], slice(None), np.array([0, 2, 1, 0])), (slice(None), np.array([[0, 1], [4, 3]]), 1),
            (Ellipsis, np.array([1, 0])), (None, rows), (1, slice(None), np.array([1, 1, 0])),
            (np.array([0, 2]), np.array([1, 3]), np.array([0, 1])), [0, 0, 1], np.array([], dtype=np.int64),
            (rows, None, 2)]


@pytest.mark.parametrize("case", range(14))
@pytest.mark.parametrize("on_device", [False, True], ids=["host-index", "device-index"])
def test_integer_array_indexing_matches_numpy(rng, case, on_device):
    data = random(rng, (3, 5, 4))
    index = _advanced_indices(rng)[case]
    device_index = tuple(dev(part) if on_device and isinstance(part, np.ndarray) else part for part in index) \
        if isinstance(index, tuple) else (dev(index) if on_device and isinstance(index, np.ndarray) else index)
    a = dev(data)
    same(a[device_index], data[index])
    values = random(rng, data[index].shape)
    written = np.arange(data.size).reshape(data.shape)[index].ravel()
    if len(np.unique(written)) < len(written):
        # an element indexed twice: NumPy keeps the last write, a GPU (like PyTorch's index_put_) any one of them
        values = np.broadcast_to(np.float32(0.5), values.shape)
    a[device_index] = dev(np.ascontiguousarray(values))
    data[index] = values
    same(a, data)
    a[device_index] = 0.25  # a scalar broadcasts
    data[index] = 0.25
    same(a, data)


@pytest.mark.parametrize("mask_shape", [(3,), (3, 5), (3, 5, 4)])
@pytest.mark.parametrize("on_device", [False, True], ids=["host-mask", "device-mask"])
def test_boolean_mask_indexing(rng, mask_shape, on_device):
    data = random(rng, (3, 5, 4))
    mask = rng.random(mask_shape) < 0.5
    a = dev(data)
    index = dev(mask) if on_device else mask
    same(a[index], data[mask])
    data[mask] = -1.0
    a[index] = -1.0
    same(a, data)
    same(a[dev(data > 0)], data[data > 0])
    with pytest.raises(IndexError, match="boolean index did not match"):
        a[dev(np.ones(4, bool))]


def test_np_add_at_accumulates_repeated_indices(rng):
    data = random(rng, (4, 3), np.float64)
    a = dev(data)
    rows, values = np.array([0, 2, 0, 0, 3]), random(rng, (5, 3), np.float64)
    np.add.at(a, dev(rows), dev(values))
    np.add.at(data, rows, values)
    same(a, data, exact=False)
    positions = np.indices((2, 3), sparse=True)
    index = np.array([[1, 1, 0], [3, 3, 3]])
    grid = (index, positions[1])
    grad = random(rng, (2, 3), np.float64)
    np.add.at(a, (dev(index), positions[1]), dev(grad))
    np.add.at(data, grid, grad)
    same(a, data, exact=False)


def test_out_of_range_indices_raise_index_error(rng, native):
    a = dev(random(rng, (3, 4)))
    with pytest.raises(IndexError, match="out of bounds"):
        a[np.array([0, 3])]
    with pytest.raises(IndexError, match="out of bounds"):
        a[dev(np.array([0, 1])), dev(np.array([1, 9]))]
    with pytest.raises(IndexError):  # one device index array: checked by the kernel, raised at the next sync
        cuda.to_numpy(a[dev(np.array([5]))])
    cuda.synchronize()  # nothing left pending


def test_take_and_put_along_axis(rng):
    data = random(rng, (4, 6, 3))
    a = dev(data)
    for axis in (0, 1, 2, -1):
        # two distinct positions per line: with a repeated one NumPy keeps the last write, a GPU any one of them
        indices = np.take(np.argsort(rng.random(data.shape), axis=axis), [0, 1], axis=axis)
        same(np.take_along_axis(a, dev(indices), axis), np.take_along_axis(data, indices, axis))
        values = random(rng, indices.shape)
        np.put_along_axis(a, dev(indices), dev(values), axis)
        np.put_along_axis(data, indices, values, axis)
        same(a, data)
    column = np.argmax(data, axis=1)[:, None]  # broadcasting indices, as Tensor.max(dim) does
    same(np.take_along_axis(a, dev(column), 1), np.take_along_axis(data, column, 1))
    strided = a[:, ::2]
    np.put_along_axis(strided, dev(np.zeros((4, 1, 3), np.int64)), 9.0, 1)
    data[:, ::2][:, :1] = 9.0
    same(a, data)
    same(np.take(a, dev(np.array([2, 0])), axis=1), np.take(data, [2, 0], axis=1))


# --- reductions ----------------------------------------------------------------------------------------------------------------
_AXES = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2), ()]


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod", "any", "all"])
@pytest.mark.parametrize("axis", _AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(rng, op, axis, keepdims):
    data = random(rng, (3, 5, 4), np.float64, 0.5, 1.5)
    data[1, 2, 3] = 0.0 if op in ("any", "all") else data[1, 2, 3]
    for source, reference in ((dev(data), data), (dev(data).transpose(2, 0, 1), data.transpose(2, 0, 1))):
        same(getattr(source, op)(axis=axis, keepdims=keepdims), getattr(reference, op)(axis=axis, keepdims=keepdims),
             exact=False)
        same(getattr(np, op)(source, axis=axis, keepdims=keepdims),
             getattr(np, op)(reference, axis=axis, keepdims=keepdims), exact=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32])
def test_reduction_dtypes(rng, dtype):
    data = random(rng, (6, 7), dtype)
    a = dev(data)
    expected_sum = data.sum(0)
    same(a.sum(0), expected_sum if expected_sum.dtype != np.uint64 else expected_sum.astype(np.int64), exact=False)
    same(a.mean(1), data.mean(1), exact=False)
    same(a.max(), data.max())
    same(a.argmax(1), data.argmax(1))
    same(a.argmin(), np.int64(data.argmin()))
    same(np.argmax(a, axis=0, keepdims=True), np.argmax(data, axis=0, keepdims=True))
    same(a.sum(dtype=np.float64), data.sum(dtype=np.float64), exact=False)
    expected_cumsum = np.cumsum(data, axis=1)
    # float prefix sums accumulate in double on the device (NumPy's in float32): last-bit differences
    same(np.cumsum(a, axis=1), expected_cumsum if expected_cumsum.dtype != np.uint64 else expected_cumsum.astype(np.int64),
         exact=dtype != np.float32)


def test_reductions_above_the_threshold_and_of_odd_sizes(rng):
    for shape in ((1,), (33000,), (17, 2049), (1, 1, 1)):
        data = random(rng, shape, np.float32)
        a = dev(data)
        same(a.sum(), data.sum(dtype=np.float64).astype(np.float32), exact=False)
        same(a.max(axis=-1), data.max(axis=-1))
        same(a.argmax(axis=0), data.argmax(axis=0))
        prefix = host(a.cumsum())  # float32 running sums: rounding grows with the length
        assert prefix.dtype == np.float32
        np.testing.assert_allclose(prefix, np.cumsum(data, dtype=np.float64), rtol=1e-4, atol=1e-5 * data.size)


def test_nan_propagation_and_empty_reductions():
    data = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], np.float32)
    a = dev(data)
    same(a.max(1), data.max(1))
    same(a.argmax(1), data.argmax(1))
    same(a.argmin(1), data.argmin(1))
    empty = dev(np.zeros((0, 3), np.float32))
    same(empty.sum(0), np.zeros(3, np.float32))
    same(empty.prod(0), np.ones(3, np.float32))
    same(empty.any(0), np.zeros(3, bool))
    same(empty.all(0), np.ones(3, bool))
    with pytest.raises(ValueError, match="zero-size array"):
        empty.max(0)
    with pytest.raises(ValueError):
        empty.argmax()


def test_var_std_norm_count_nonzero(rng):
    data = random(rng, (5, 6), np.float64)
    a = dev(data)
    for axis in (None, 0, (0, 1)):
        same(a.var(axis=axis), data.var(axis=axis), exact=False)
        same(np.std(a, axis=axis, ddof=1), np.std(data, axis=axis, ddof=1), exact=False)
    same(np.linalg.norm(a), np.linalg.norm(data), exact=False)
    same(np.linalg.norm(a, axis=1), np.linalg.norm(data, axis=1), exact=False)
    same(np.count_nonzero(a > 0), np.int64(np.count_nonzero(data > 0)))
    same(np.count_nonzero(a > 0, axis=0), np.count_nonzero(data > 0, axis=0).astype(np.int64))


# --- matmul ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((1, 33), (33, 1)), ((3, 0), (0, 2))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_matmul_matches_numpy(rng, shapes, dtype):
    a, b = random(rng, shapes[0], dtype), random(rng, shapes[1], dtype)
    same(dev(a) @ dev(b), a @ b, exact=False)
    same(np.matmul(dev(a), dev(b)), np.matmul(a, b), exact=False)
    if len(shapes[0]) <= 2 and len(shapes[1]) <= 2:
        same(np.dot(dev(a), dev(b)), np.dot(a, b), exact=False)


def test_matmul_of_transposed_and_strided_operands(rng):
    a, b = random(rng, (6, 4)), random(rng, (5, 6))
    x, y = dev(a), dev(b)
    same(x.T @ y.T, a.T @ b.T, exact=False)
    same(x[::2].T @ y[:, ::2].T, a[::2].T @ b[:, ::2].T, exact=False)
    same(dev(a.astype(np.float64)).T @ y.T, a.astype(np.float64).T @ b.T, exact=False)  # float64 @ float32 promotes
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        x @ y
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        np.matmul(x, 2.0)
    same(np.outer(x[0], y[0]), np.outer(a[0], b[0]), exact=False)


# --- joining, splitting, creation and other functions -------------------------------------------------------------------------
def test_concatenate_stack_split_tile(rng):
    a, b = random(rng, (2, 3)), random(rng, (4, 3)).astype(np.float64)
    x, y = dev(a), dev(b)
    same(np.concatenate([x, y]), np.concatenate([a, b]))
    same(np.concatenate([x.T, y.T], axis=1), np.concatenate([a.T, b.T], axis=1))
    same(np.concatenate([x, y], axis=None), np.concatenate([a, b], axis=None))
    with pytest.raises(ValueError, match="must match exactly"):
        np.concatenate([x, y], axis=1)
    same(np.stack([x, x + 1], axis=1), np.stack([a, a + 1], axis=1))
    same(np.vstack([x, y]), np.vstack([a, b]))
    same(np.hstack([x[0], y[0]]), np.hstack([a[0], b[0]]))
    for pieces, expected in ((np.split(y, 2), np.split(b, 2)), (np.split(y, [1, 3], axis=0), np.split(b, [1, 3])),
                             (np.split(x, [1], axis=1), np.split(a, [1], axis=1))):
        assert len(pieces) == len(expected)
        for piece, reference in zip(pieces, expected):
            same(piece, reference)
    with pytest.raises(ValueError, match="equal division"):
        np.split(y, 3)
    for reps in (2, (2, 1), (1, 3), (2, 1, 2)):
        same(np.tile(x, reps), np.tile(a, reps))


def test_like_creation_and_like_functions(rng):
    a = dev(random(rng, (2, 3)))
    same(np.zeros_like(a), np.zeros((2, 3), np.float32))
    same(np.ones_like(a, dtype=np.int64), np.ones((2, 3), np.int64))
    same(np.full_like(a, 7.5), np.full((2, 3), 7.5, np.float32))
    assert np.empty_like(a).shape == (2, 3) and isinstance(np.empty_like(a), CudaArray)
    same(np.full((4,), 2.5, np.float32, like=a), np.full((4,), 2.5, np.float32))
    same(np.full((2,), 3, like=a), np.full((2,), 3))
    same(np.zeros((2, 2), like=a), np.zeros((2, 2)))
    same(np.ones(3, dtype=bool, like=a), np.ones(3, dtype=bool))
    same(np.arange(7, like=a), np.arange(7))
    same(np.arange(1.0, 2.0, 0.25, like=a), np.arange(1.0, 2.0, 0.25))
    same(np.arange(5, 0, -2, dtype=np.float32, like=a), np.arange(5, 0, -2, dtype=np.float32))
    same(np.asarray([[1, 2]], dtype=np.float32, like=a), np.asarray([[1, 2]], dtype=np.float32))
    same(np.eye(3, 4, k=1, like=a), np.eye(3, 4, k=1))
    same(np.eye(3, k=-1, dtype=np.int64, like=a), np.eye(3, k=-1, dtype=np.int64))
    with pytest.raises(TypeError, match="do not support dtype complex128"):
        np.zeros(3, dtype=complex, like=a)


def test_repeat_average_and_numpy_scalars_on_the_left(rng):
    data = random(rng, (3, 4), np.float64)
    a = dev(data)
    for axis in (None, 0, 1):
        same(np.repeat(a, 2, axis=axis), np.repeat(data, 2, axis=axis))
        same(np.average(a, axis=axis), np.average(data, axis=axis), exact=False)
        weights = random(rng, (3, 4), np.float64, 0.5, 2.0)
        same(np.average(a, axis=axis, weights=dev(weights)), np.average(data, axis=axis, weights=weights), exact=False)
    same(np.float32(2) * a, np.float32(2) * data)
    same(np.float64(1) - a[0], np.float64(1) - data[0])
    with pytest.raises(TypeError):
        [1.0, 2.0, 3.0, 4.0] + a[0]


def test_copyto_memory_and_comparisons(rng):
    data = random(rng, (3, 4))
    a = dev(data)
    target = dev(np.zeros((3, 4), np.float64))
    np.copyto(target, a)
    same(target, data.astype(np.float64))
    np.copyto(target, 2)
    same(target, np.full((3, 4), 2.0))
    with pytest.raises(TypeError, match="same_kind"):
        np.copyto(dev(np.zeros(3, np.int64)), dev(np.ones(3)))
    assert np.may_share_memory(a, a[1:]) and np.shares_memory(a[1], a)
    assert not np.may_share_memory(a[0], a[1]) and not np.may_share_memory(a, a.copy())
    assert np.array_equal(a, a.copy()) and not np.array_equal(a, a + 1) and not np.array_equal(a, a[:2])
    assert np.allclose(a, a + 1e-9) and not np.allclose(a, a + 1)
    same(np.isclose(a, a[0]), np.isclose(data, data[0]))
    nan = dev(np.array([np.nan, 1.0]))
    assert not np.array_equal(nan, nan) and np.array_equal(nan, nan, equal_nan=True)
    assert np.result_type(a, 1.0) == np.float32 and np.result_type(a, dev(np.zeros(1))) == np.float64
    assert np.shape(a) == (3, 4) and np.ndim(a) == 2 and np.size(a) == 12


def test_setitem_basic_and_overlapping(rng):
    data = random(rng, (5, 4))
    a = dev(data)
    a[1:] = a[:-1]  # overlapping source and destination
    data[1:] = data[:-1].copy()
    same(a, data)
    a[0] = dev(np.arange(4, dtype=np.float32))
    data[0] = np.arange(4)
    a[:, 1] = np.array([1, 2, 3, 4, 5])  # host values written explicitly
    data[:, 1] = [1, 2, 3, 4, 5]
    a[2:4, ::2] = dev(np.array([[7.0], [8.0]], np.float64))  # broadcast and cast
    data[2:4, ::2] = [[7.0], [8.0]]
    a[-1, -1] = np.float64(-3)
    data[-1, -1] = -3
    same(a, data)
    a.fill(0.5)
    same(a, np.full((5, 4), 0.5, np.float32))
