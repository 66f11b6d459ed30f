"""CUDA batch_norm and layer_norm, forward and backward (nnx._cuda), against the CPU kernels (nnx._C) on the
same inputs: odd sizes, many rows (several row slices in the column passes), long rows (a block per row),
optional weight/bias/outputs, N == 0; plus the bindings' validation (the same errors and messages as _C)."""
import numpy as np
import pytest
from cuda_kernel_checks import DEVICE, HOST, assert_same_error, cuda, requires_gpu, requires_module, to_host

from helpers import FLOAT_DTYPES, assert_close, poisoned, random_array

pytestmark = pytest.mark.cuda

BATCH_SHAPES = [(2, 1), (3, 17), (64, 33), (257, 5), (3000, 40), (40_003, 3)]
LAYER_SHAPES = [(1, 1), (3, 17), (64, 33), (5, 1500), (3000, 40), (7, 4099)]


def run(side, function, arrays, written, **options):
    """side.module.<function>(**arrays, **options) on copies of the NumPy arrays moved to the side (None stays
    None); returns {name: NumPy array} for the names in `written` that were given."""
    moved = {name: None if a is None else side.array(a.copy()) for name, a in arrays.items()}
    getattr(side.module, function)(**moved, **options)
    return {name: to_host(moved[name]) if side is DEVICE else moved[name]
            for name in written if moved[name] is not None}


def assert_sides_match(function, arrays, written, dtype, scale=1.0, **options):
    """The same call on the GPU and on the CPU (both in dtype) gives the same outputs to rounding."""
    on_gpu = run(DEVICE, function, arrays, written, **options)
    on_cpu = run(HOST, function, arrays, written, **options)
    assert on_gpu.keys() == on_cpu.keys()
    for name in on_cpu:
        assert_close(on_gpu[name], on_cpu[name].astype(np.float64), dtype=dtype, scale=scale, err_msg=name)


def maybe(rng, present, shape, dtype, low=-2.0, high=2.0):
    return random_array(rng, shape, dtype, low, high) if present else None


def batch_norm_arrays(rng, N, C, dtype, affine=True, running=True):
    return dict(x=random_array(rng, (N, C), dtype), weight=maybe(rng, affine, (C,), dtype),
                bias=maybe(rng, affine, (C,), dtype), running_mean=maybe(rng, running, (C,), dtype),
                running_var=maybe(rng, running, (C,), dtype, 0.5, 2.0), out=poisoned((N, C), dtype),
                save_mean=poisoned((C,), dtype), save_invstd=poisoned((C,), dtype))


BATCH_FORWARD_OUTPUTS = ("out", "save_mean", "save_invstd", "running_mean", "running_var")


def batch_norm_backward_arrays(rng, N, C, dtype, affine=True, outputs=(True, True, True)):
    x = random_array(rng, (N, C), dtype)
    return dict(grad_out=random_array(rng, (N, C), dtype), x=x, weight=maybe(rng, affine, (C,), dtype),
                save_mean=x.mean(0).astype(dtype) if N else random_array(rng, (C,), dtype),
                save_invstd=random_array(rng, (C,), dtype, 0.5, 2.0),
                grad_input=poisoned((N, C), dtype) if outputs[0] else None,
                grad_weight=poisoned((C,), dtype) if outputs[1] else None,
                grad_bias=poisoned((C,), dtype) if outputs[2] else None)


def layer_norm_arrays(rng, N, D, dtype, weight=True, bias=True):
    return dict(x=random_array(rng, (N, D), dtype, -1.0, 3.0), weight=maybe(rng, weight, (D,), dtype),
                bias=maybe(rng, bias, (D,), dtype), out=poisoned((N, D), dtype), mean=poisoned((N,), dtype),
                rstd=poisoned((N,), dtype))


def layer_norm_backward_arrays(rng, N, D, dtype, weight=True, outputs=(True, True, True)):
    x = random_array(rng, (N, D), dtype)
    return dict(grad_out=random_array(rng, (N, D), dtype), x=x, weight=maybe(rng, weight, (D,), dtype),
                mean=x.mean(1).astype(dtype), rstd=(1 / np.sqrt(x.var(1) + 1e-5)).astype(dtype),
                grad_input=poisoned((N, D), dtype) if outputs[0] else None,
                grad_weight=poisoned((D,), dtype) if outputs[1] else None,
                grad_bias=poisoned((D,), dtype) if outputs[2] else None)


GRADIENT_OUTPUTS = ("grad_input", "grad_weight", "grad_bias")
OUTPUT_CHOICES = [(True, True, True), (True, False, False), (False, True, True), (False, False, True)]


@requires_gpu
class TestBatchNorm:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,C", BATCH_SHAPES)
    @pytest.mark.parametrize("training", [True, False])
    def test_forward(self, rng, training, N, C, dtype):
        arrays = batch_norm_arrays(rng, N, C, dtype)
        assert_sides_match("batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, dtype, scale=4, training=training,
                           momentum=0.3, eps=1e-3)

    @pytest.mark.parametrize("affine,running", [(False, True), (True, False), (False, False)])
    def test_forward_optional_arguments(self, rng, affine, running):
        arrays = batch_norm_arrays(rng, 300, 7, np.float64, affine, running)
        assert_sides_match("batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, np.float64)

    def test_forward_offset_data_keeps_its_variance(self, rng):
        """Two-pass statistics: a large common offset must not swallow the variance. Each device rounds its mean
        (summed in double, in its own order) to float32, where one ulp at 1e4 is 1e-3, so the saved means may differ
        by that ulp and the outputs (x - mean) * invstd * weight by ulp * invstd * |weight| (seen at
        NNX_TEST_SEED=3937825974); everything else to float32 rounding."""
        arrays = batch_norm_arrays(rng, 5000, 9, np.float32)
        arrays["x"] = (arrays["x"] + 1e4).astype(np.float32)
        on_gpu = run(DEVICE, "batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS)
        on_cpu = run(HOST, "batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS)
        ulp = float(np.spacing(np.float32(1e4)))
        np.testing.assert_allclose(on_gpu["save_mean"], on_cpu["save_mean"], rtol=0, atol=ulp)
        output_scale = on_cpu["save_invstd"].astype(np.float64) * np.abs(arrays["weight"])
        np.testing.assert_allclose(on_gpu["out"], on_cpu["out"], rtol=0, atol=1.01 * ulp * output_scale.max() + 1e-5)
        for name in ("save_invstd", "running_var"):
            assert_close(on_gpu[name], on_cpu[name].astype(np.float64), dtype=np.float32, scale=50, err_msg=name)
        np.testing.assert_allclose(on_gpu["running_mean"], on_cpu["running_mean"], rtol=0, atol=ulp)

    @pytest.mark.parametrize("training", [True, False])
    def test_forward_without_rows(self, rng, training):
        arrays = batch_norm_arrays(rng, 0, 6, np.float32)
        result = run(DEVICE, "batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, training=training)
        assert result["out"].shape == (0, 6)
        np.testing.assert_array_equal(result["running_mean"], arrays["running_mean"])
        np.testing.assert_array_equal(result["running_var"], arrays["running_var"])
        assert_sides_match("batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, np.float32, training=training)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_forward_columns_holding_inf_or_nan(self, rng, dtype):
        """The row slices' statistics merge as the CPU's chunks do: -inf, inf, NaN means where NumPy has them."""
        arrays = batch_norm_arrays(rng, 40_003, 5, dtype)
        x = arrays["x"]
        x[3, 0], x[-2, 1], x[1, 2], x[-1, 2], x[20_000, 3] = -np.inf, np.inf, np.inf, -np.inf, np.nan
        result = run(DEVICE, "batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, training=True)
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(result["save_mean"][:4], x[:, :4].astype(np.float64).mean(0).astype(dtype))
        assert_sides_match("batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, dtype, scale=4, training=True)

    def test_one_row_in_eval(self, rng):
        arrays = batch_norm_arrays(rng, 1, 5, np.float32)
        assert_sides_match("batch_norm_forward", arrays, BATCH_FORWARD_OUTPUTS, np.float32, training=False)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,C", BATCH_SHAPES)
    @pytest.mark.parametrize("training", [True, False])
    def test_backward(self, rng, training, N, C, dtype):
        arrays = batch_norm_backward_arrays(rng, N, C, dtype)
        assert_sides_match("batch_norm_backward", arrays, GRADIENT_OUTPUTS, dtype, scale=8, training=training)

    @pytest.mark.parametrize("outputs", OUTPUT_CHOICES)
    @pytest.mark.parametrize("training", [True, False])
    def test_backward_optional_arguments(self, rng, training, outputs):
        arrays = batch_norm_backward_arrays(rng, 301, 6, np.float64, affine=False, outputs=outputs)
        assert_sides_match("batch_norm_backward", arrays, GRADIENT_OUTPUTS, np.float64, training=training)

    def test_backward_without_rows(self, rng):
        arrays = batch_norm_backward_arrays(rng, 0, 4, np.float64)
        result = run(DEVICE, "batch_norm_backward", arrays, GRADIENT_OUTPUTS)
        np.testing.assert_array_equal(result["grad_weight"], np.zeros(4))
        np.testing.assert_array_equal(result["grad_bias"], np.zeros(4))


@requires_gpu
class TestLayerNorm:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,D", LAYER_SHAPES)
    def test_forward(self, rng, N, D, dtype):
        arrays = layer_norm_arrays(rng, N, D, dtype)
        assert_sides_match("layer_norm_forward", arrays, ("out", "mean", "rstd"), dtype, scale=4, eps=1e-3)

    @pytest.mark.parametrize("weight,bias", [(True, False), (False, True), (False, False)])
    def test_forward_optional_arguments(self, rng, weight, bias):
        arrays = layer_norm_arrays(rng, 33, 70, np.float64, weight, bias)
        assert_sides_match("layer_norm_forward", arrays, ("out", "mean", "rstd"), np.float64)

    def test_forward_without_rows(self, rng):
        arrays = layer_norm_arrays(rng, 0, 5, np.float32)
        assert run(DEVICE, "layer_norm_forward", arrays, ("out",))["out"].shape == (0, 5)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("N,D", LAYER_SHAPES)
    def test_backward(self, rng, N, D, dtype):
        arrays = layer_norm_backward_arrays(rng, N, D, dtype)
        # Rounding errors in grad_input are multiplied by rstd: a row of one element has variance 0 and rstd =
        # 1/sqrt(eps) ~ 316, so both devices' float32 results are rounding noise of that size around the exact 0
        # (an FMA on one side and not the other differs there); ordinary rows have rstd ~ 1.
        scale = 8 * max(1.0, float(np.max(arrays["rstd"], initial=1.0)))
        assert_sides_match("layer_norm_backward", arrays, GRADIENT_OUTPUTS, dtype, scale=scale)

    @pytest.mark.parametrize("outputs", OUTPUT_CHOICES)
    @pytest.mark.parametrize("D", [9, 2000])
    def test_backward_optional_arguments(self, rng, D, outputs):
        arrays = layer_norm_backward_arrays(rng, 300, D, np.float64, weight=False, outputs=outputs)
        assert_sides_match("layer_norm_backward", arrays, GRADIENT_OUTPUTS, np.float64)

    def test_backward_without_rows(self, rng):
        arrays = layer_norm_backward_arrays(rng, 0, 4, np.float64)
        result = run(DEVICE, "layer_norm_backward", arrays, GRADIENT_OUTPUTS)
        np.testing.assert_array_equal(result["grad_weight"], np.zeros(4))
        np.testing.assert_array_equal(result["grad_bias"], np.zeros(4))


def f32(*shape):
    return np.ones(shape, np.float32)


def batch_forward(s, training=True, momentum=0.1, eps=1e-5, **overrides):
    """batch_norm_forward on side s: x (4, 3) and every optional argument given, unless overridden."""
    arrays = dict(x=f32(4, 3), weight=f32(3), bias=f32(3), running_mean=f32(3), running_var=f32(3), out=f32(4, 3),
                  save_mean=f32(3), save_invstd=f32(3))
    moved = {name: s.array(a) for name, a in arrays.items()}
    moved.update(overrides)
    s.module.batch_norm_forward(**moved, training=training, momentum=momentum, eps=eps)


def layer_forward(s, eps=1e-5, **overrides):
    arrays = dict(x=f32(4, 3), weight=f32(3), bias=f32(3), out=f32(4, 3), mean=f32(4), rstd=f32(4))
    moved = {name: s.array(a) for name, a in arrays.items()}
    moved.update(overrides)
    s.module.layer_norm_forward(**moved, eps=eps)


def backward(s, function, stat_size, **overrides):
    """batch_norm_backward (stat_size 3) or layer_norm_backward (stat_size 4) with (4, 3) arrays."""
    saved = ("save_mean", "save_invstd") if function == "batch_norm_backward" else ("mean", "rstd")
    arrays = dict(grad_out=f32(4, 3), x=f32(4, 3), weight=f32(3), grad_input=f32(4, 3), grad_weight=f32(3),
                  grad_bias=f32(3), **{saved[0]: f32(stat_size), saved[1]: f32(stat_size)})
    moved = {name: s.array(a) for name, a in arrays.items()}
    moved.update(overrides)
    getattr(s.module, function)(**moved)


def overlapping(s, shape_a, shape_b, offset):
    """Two windows of one array, the second starting `offset` elements in."""
    base = s.array(f32(int(np.prod(shape_a)) + int(np.prod(shape_b)) + offset))
    return s.window(base, shape_a, 0), s.window(base, shape_b, offset)


# Each bad call runs on _C (NumPy arrays) and on _cuda (the same arrays as DeviceArrays).
BAD_CALLS = {
    "integer x": lambda s: batch_forward(s, x=s.array(np.ones((4, 3), np.int64))),
    "1-D x": lambda s: batch_forward(s, x=s.array(f32(12))),
    "weight shape": lambda s: batch_forward(s, weight=s.array(f32(4))),
    "bias dtype": lambda s: batch_forward(s, bias=s.array(np.ones(3))),
    "out shape": lambda s: batch_forward(s, out=s.array(f32(3, 4))),
    "save_invstd shape": lambda s: batch_forward(s, save_invstd=s.array(f32(4))),
    "running_mean without running_var": lambda s: batch_forward(s, running_var=None),
    "eval without running statistics": lambda s: batch_forward(s, training=False, running_mean=None,
                                                               running_var=None),
    "one row while training": lambda s: batch_forward(s, x=s.array(f32(1, 3)), out=s.array(f32(1, 3))),
    "nan momentum": lambda s: batch_forward(s, momentum=float("nan")),
    "negative eps": lambda s: batch_forward(s, eps=-1e-5),
    "out overlaps x": lambda s: (lambda x, out: batch_forward(s, x=x, out=out))(*overlapping(s, (4, 3), (4, 3), 5)),
    "save_mean overlaps running_mean": lambda s: (lambda a, b: batch_forward(s, running_mean=a, save_mean=b))(
        *overlapping(s, (3,), (3,), 1)),
    "batch backward save_mean shape": lambda s: backward(s, "batch_norm_backward", 3, save_mean=s.array(f32(4))),
    "batch backward x dtype": lambda s: backward(s, "batch_norm_backward", 3, x=s.array(np.ones((4, 3)))),
    "batch backward grad_input overlaps grad_out": lambda s: (lambda g, gi: backward(
        s, "batch_norm_backward", 3, grad_out=g, grad_input=gi))(*overlapping(s, (4, 3), (4, 3), 2)),
    "layer no columns": lambda s: layer_forward(s, x=s.array(f32(4, 0)), weight=None, bias=None,
                                                out=s.array(f32(4, 0))),
    "layer rstd shape": lambda s: layer_forward(s, rstd=s.array(f32(3))),
    "layer weight dtype": lambda s: layer_forward(s, weight=s.array(np.ones(3))),
    "layer negative eps": lambda s: layer_forward(s, eps=-1.0),
    "layer mean overlaps out": lambda s: (lambda out, mean: layer_forward(s, out=out, mean=mean))(
        *overlapping(s, (4, 3), (4,), 10)),
    "layer backward mean shape": lambda s: backward(s, "layer_norm_backward", 4, mean=s.array(f32(3))),
    "layer backward no columns": lambda s: backward(
        s, "layer_norm_backward", 4, grad_out=s.array(f32(4, 0)), x=s.array(f32(4, 0)), weight=None,
        grad_input=None, grad_weight=None, grad_bias=None),
    "layer backward grad_weight overlaps weight": lambda s: (lambda w, gw: backward(
        s, "layer_norm_backward", 4, weight=w, grad_weight=gw))(*overlapping(s, (3,), (3,), 2)),
}


@requires_gpu
@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_raises_like_cpu(case):
    assert_same_error(BAD_CALLS[case])


@requires_gpu
def test_non_contiguous_is_refused():
    strided = DEVICE.every_other_column(DEVICE.array(np.ones((4, 6), np.float32)))
    with pytest.raises(ValueError, match="^x must be C-contiguous"):
        layer_forward(DEVICE, x=strided)


@requires_module
def test_numpy_arrays_are_refused():
    """No GPU needed: the binding refuses host arrays before it touches a device."""
    with pytest.raises(TypeError, match=r"^x must be an nnx\._cuda\.DeviceArray"):
        cuda.batch_norm_forward(f32(4, 3), None, None, None, None, f32(4, 3), f32(3), f32(3))
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.batch_norm_backward(f32(4, 3), f32(4, 3), None, f32(3), f32(3), None, None, None)
    with pytest.raises(TypeError, match=r"^x must be an nnx\._cuda\.DeviceArray"):
        cuda.layer_norm_forward(f32(4, 3), None, None, f32(4, 3), f32(4), f32(4))
    with pytest.raises(TypeError, match=r"^grad_out must be an nnx\._cuda\.DeviceArray"):
        cuda.layer_norm_backward(f32(4, 3), f32(4, 3), None, f32(4), f32(4), None, None, None)


def test_bad_calls_fail_on_the_host():
    """The table above is only meaningful if every call really is refused by _C."""
    for call in BAD_CALLS.values():
        with pytest.raises((TypeError, ValueError)):
            call(HOST)
