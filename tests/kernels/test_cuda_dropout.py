"""CUDA dropout and the Philox uniform stream (nnx._cuda) against the CPU kernels (nnx._C): the same (seed,
offset) must give bit-identical uniforms, masks and outputs on both devices; plus the bindings' validation
(the same errors and messages as _C)."""
import numpy as np
import pytest
from cuda_kernel_checks import (
    DEVICE,
    HOST,
    assert_same_error,
    cuda,
    poisoned_device,
    requires_gpu,
    requires_module,
    to_device,
    to_host,
)

from helpers import EDGE_SIZES, FLOAT_DTYPES, poisoned, random_array
from nnx.native import _C

pytestmark = pytest.mark.cuda

SEEDS = [(0, 0), (12345, 7), (2**40 + 3, 2**32 - 2), (2**64 - 1, 2**64 - 3)]  # the last wraps the counter
PROBABILITIES = (0.0, 0.1, 0.5, 0.9, 1.0)


def cpu_dropout(x, p, seed, offset):
    out, mask = poisoned(x.shape, x.dtype), np.full(x.shape, 7, np.uint8)
    _C.dropout_forward(x, out, mask, p, seed, offset)
    return out, mask


def gpu_dropout(x, p, seed, offset):
    out, mask = poisoned_device(x.shape, x.dtype), to_device(np.full(x.shape, 7, np.uint8))
    cuda.dropout_forward(to_device(x), out, mask, p, seed, offset)
    return to_host(out), to_host(mask)


@requires_gpu
class TestSameStreamAsCpu:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("size", EDGE_SIZES + (1_000_003,))
    @pytest.mark.parametrize("seed,offset", SEEDS)
    def test_philox_uniform(self, seed, offset, size, dtype):
        expected = poisoned((size,), dtype)
        _C.philox_uniform(expected, seed, offset)
        out = poisoned_device((size,), dtype)
        cuda.philox_uniform(out, seed, offset)
        np.testing.assert_array_equal(to_host(out), expected)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("size", EDGE_SIZES)
    @pytest.mark.parametrize("p", PROBABILITIES)
    def test_forward(self, rng, p, size, dtype):
        x = random_array(rng, (size,), dtype)
        seed, offset = int(rng.integers(2**63)), int(rng.integers(2**32))
        out, mask = gpu_dropout(x, p, seed, offset)
        expected_out, expected_mask = cpu_dropout(x, p, seed, offset)
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_array_equal(out, expected_out)

    @pytest.mark.parametrize("seed,offset", SEEDS)
    def test_forward_multidimensional(self, rng, seed, offset):
        x = random_array(rng, (3, 17, 5), np.float32)
        out, mask = gpu_dropout(x, 0.3, seed, offset)
        expected_out, expected_mask = cpu_dropout(x, 0.3, seed, offset)
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_array_equal(out, expected_out)

    @pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3)])
    def test_forward_empty_and_scalar(self, rng, shape):
        x = random_array(rng, shape, np.float64)
        out, mask = gpu_dropout(x, 0.5, 9, 4)
        expected_out, expected_mask = cpu_dropout(x, 0.5, 9, 4)
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_array_equal(out, expected_out)

    def test_everything_dropped_when_p_is_one(self, rng):
        out, mask = gpu_dropout(random_array(rng, (1001,), np.float32), 1.0, 5, 0)
        assert not mask.any() and not out.any()

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("size", EDGE_SIZES)
    @pytest.mark.parametrize("p", PROBABILITIES)
    def test_backward(self, rng, p, size, dtype):
        grad_out = random_array(rng, (size,), dtype)
        mask = (rng.random(size) >= p).astype(np.uint8)
        expected = poisoned((size,), dtype)
        _C.dropout_backward(grad_out, mask, expected, p)
        grad_in = poisoned_device((size,), dtype)
        cuda.dropout_backward(to_device(grad_out), to_device(mask), grad_in, p)
        np.testing.assert_array_equal(to_host(grad_in), expected)


def f32(*shape):
    return np.ones(shape, np.float32)


def u8(*shape):
    return np.ones(shape, np.uint8)


def forward(s, x=None, out=None, mask=None, p=0.5, seed=1, offset=0):
    """dropout_forward on side s with (3,) float32 defaults for the arrays not given."""
    s.module.dropout_forward(s.array(f32(3)) if x is None else x, s.array(f32(3)) if out is None else out,
                             s.array(u8(3)) if mask is None else mask, p, seed, offset)


def backward(s, grad_out=None, mask=None, grad_in=None, p=0.5):
    s.module.dropout_backward(s.array(f32(3)) if grad_out is None else grad_out,
                              s.array(u8(3)) if mask is None else mask,
                              s.array(f32(3)) if grad_in is None else grad_in, p)


# Each bad call runs on _C (NumPy arrays) and on _cuda (the same arrays as DeviceArrays).
BAD_CALLS = {
    "integer x": lambda s: forward(s, x=s.array(np.ones(3, np.int64))),
    "out dtype": lambda s: forward(s, out=s.array(np.ones(3))),
    "mask dtype": lambda s: forward(s, mask=s.array(np.ones(3, bool))),
    "out shape": lambda s: forward(s, out=s.array(f32(4))),
    "mask shape": lambda s: forward(s, mask=s.array(u8(2, 3))),
    "out overlaps x": lambda s: (lambda base: forward(s, x=s.window(base, (3,), 0), out=s.window(base, (3,), 2)))(
        s.array(f32(5))),
    "p above 1": lambda s: forward(s, p=1.5),
    "p nan": lambda s: forward(s, p=float("nan")),
    "negative seed": lambda s: forward(s, seed=-1),
    "seed of 2**64": lambda s: forward(s, seed=2**64),
    "float seed": lambda s: forward(s, seed=1.0),
    "bool offset": lambda s: forward(s, offset=True),
    "backward integer grad_out": lambda s: backward(s, grad_out=s.array(np.ones(3, np.int32))),
    "backward mask dtype": lambda s: backward(s, mask=s.array(f32(3))),
    "backward mask shape": lambda s: backward(s, mask=s.array(u8(4))),
    "backward grad_in dtype": lambda s: backward(s, grad_in=s.array(np.ones(3))),
    "backward grad_in overlaps grad_out": lambda s: (lambda base: backward(
        s, grad_out=s.window(base, (3,), 1), grad_in=s.window(base, (3,), 0)))(s.array(f32(4))),
    "backward negative p": lambda s: backward(s, p=-0.1),
    "philox integer out": lambda s: s.module.philox_uniform(s.array(np.ones(3, np.int32)), 1, 2),
    "philox negative offset": lambda s: s.module.philox_uniform(s.array(f32(3)), 1, -2),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_gpu
def test_non_contiguous_is_refused():
    strided = DEVICE.every_other_column(to_device(np.ones((3, 8), np.float32)))
    with pytest.raises(ValueError, match="^x must be C-contiguous"):
        cuda.dropout_forward(strided, poisoned_device((3, 4), np.float32), to_device(u8(3, 4)), 0.5, 1, 0)


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^x must be an nnx\._cuda\.DeviceArray"):
        cuda.dropout_forward(f32(3), f32(3), u8(3), 0.5, 1, 0)
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.dropout_backward(f32(3), u8(3), f32(3), 0.5)
    with pytest.raises(TypeError, match=r"^out must be an nnx\._cuda\.DeviceArray"):
        cuda.philox_uniform(f32(3), 1, 0)


def test_bad_calls_fail_on_the_host():
    """The table above is only meaningful if every call really is refused by _C."""
    for _case, call in BAD_CALLS.items():
        with pytest.raises((TypeError, ValueError)):
            call(HOST)
