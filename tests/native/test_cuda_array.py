"""CudaArray against NumPy: attributes, conversions and refusals, operators, ufuncs, promotion and broadcasting
(views and indexing: test_cuda_array_indexing.py; reductions, matmul and functions: test_cuda_array_functions.py).

Runs on the NumPy stand-in for nnx._cuda (tests/fake_cuda) everywhere and on a real GPU when one is
visible. Every result is compared with NumPy on the same (random, never zero) host values, dtype included.
"""
import copy
import pickle

import numpy as np
import pytest
from cuda_array_checks import dev, host, numpy_or_type_error, random, same

from nnx.native.cuda_array import CudaArray


@pytest.fixture(autouse=True)
def native(cuda_native):
    """Every test here runs on the fake CUDA module, and on the real one where a GPU is visible."""
    return cuda_native


# --- attributes, conversions, refusals --------------------------------------------------------------------------------
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
