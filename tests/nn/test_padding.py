"""The padding layers and F.pad against NumPy's np.pad (an independent reference for non-negative padding:
reflect = 'reflect', replicate = 'edge', circular = 'wrap'), their reprs, and PyTorch's errors."""
import numpy as np
import pytest

import nnx
from nnx import nn

NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
LAYERS_2D = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "circular": nn.CircularPad2d}
LAYERS_1D = {"reflect": nn.ReflectionPad1d, "replicate": nn.ReplicationPad1d, "circular": nn.CircularPad1d}


def numpy_pad(x, padding, mode, value=0.0):
    """np.pad of the trailing len(padding) // 2 axes, padding in PyTorch's order (the last axis first)."""
    widths = [(0, 0)] * x.ndim
    for j in range(len(padding) // 2):
        widths[x.ndim - 1 - j] = (padding[2 * j], padding[2 * j + 1])
    if mode == "constant":
        return np.pad(x, widths, constant_values=value)
    return np.pad(x, widths, mode=NUMPY_MODES[mode])


def numpy_pad_gradient(x_shape, padding, mode, grad):
    """The gradient of sum(pad(x) * grad) by finite sums: each input element's coefficient, from padding indices."""
    index = np.arange(int(np.prod(x_shape)), dtype=np.float64).reshape(x_shape)
    sources = numpy_pad(index, padding, mode).astype(np.int64)
    return np.bincount(sources.reshape(-1), weights=grad.reshape(-1), minlength=index.size).reshape(x_shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", sorted(LAYERS_2D))
@pytest.mark.parametrize("padding", [1, (2, 0, 1, 3), (0, 4, 3, 0)])
def test_2d_layers_match_numpy(rng, mode, padding, dtype):
    x = rng.normal(size=(2, 3, 5, 6)).astype(dtype)
    layer = LAYERS_2D[mode](padding)
    tensor = nnx.tensor(x, requires_grad=True)
    out = layer(tensor)
    pads = (padding,) * 4 if isinstance(padding, int) else padding
    np.testing.assert_array_equal(out.numpy(), numpy_pad(x, pads, mode))
    grad = rng.normal(size=out.shape)
    (out * nnx.tensor(grad.astype(dtype))).sum().backward()
    expected = numpy_pad_gradient(x.shape, pads, mode, grad.astype(dtype).astype(np.float64))
    np.testing.assert_allclose(tensor.grad.numpy(), expected, rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("mode", sorted(LAYERS_1D))
def test_1d_layers_match_numpy_unbatched_too(rng, mode):
    for shape in [(3, 7), (2, 3, 7)]:
        x = rng.normal(size=shape)
        np.testing.assert_array_equal(LAYERS_1D[mode]((3, 2))(nnx.tensor(x)).numpy(), numpy_pad(x, (3, 2), mode))


def test_constant_and_zero_layers(rng):
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(nn.ConstantPad1d((1, 2), 3.5)(nnx.tensor(x)).numpy(),
                                  numpy_pad(x, (1, 2), "constant", 3.5))
    np.testing.assert_array_equal(nn.ZeroPad2d((1, 0, 2, 1))(nnx.tensor(x)).numpy(),
                                  numpy_pad(x, (1, 0, 2, 1), "constant"))
    np.testing.assert_array_equal(nn.ZeroPad1d(-1)(nnx.tensor(x)).numpy(), x[..., 1:-1])  # negative padding crops


def test_pad_keeps_integer_dtype_in_constant_mode():
    x = nnx.tensor(np.arange(6, dtype=np.int64).reshape(2, 3))
    out = nn.functional.pad(x, (1, 1), value=7)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [[7, 0, 1, 2, 7], [7, 3, 4, 5, 7]])


def test_reprs():
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad2d(2, 3.5)) == "ConstantPad2d(padding=(2, 2, 2, 2), value=3.5)"
    assert repr(nn.ReflectionPad2d((1, 0, 2, 1))) == "ReflectionPad2d((1, 0, 2, 1))"
    assert repr(nn.ReplicationPad1d(3)) == "ReplicationPad1d((3, 3))"


@pytest.mark.parametrize("call, error, message", [
    (lambda x: nn.functional.pad(x, (1,)), RuntimeError, "divisible by 2"),
    (lambda x: nn.functional.pad(x, (1,) * 10), RuntimeError, "two times the input dimension"),
    (lambda x: nn.functional.pad(x, (1, 1), mode="bogus"), NotImplementedError, "padding mode"),
    (lambda x: nn.functional.pad(x, (1, 1), mode="reflect", value=2.0), RuntimeError, "doesn't take in value"),
    (lambda x: nn.functional.pad(x, (6, 0), mode="reflect"), RuntimeError, "less than the corresponding input"),
    (lambda x: nn.functional.pad(x, (7, 0), mode="circular"), RuntimeError, "wrapping around more than once"),
    (lambda x: nn.functional.pad(x, (-3, -3), mode="replicate"), RuntimeError, "too small"),
    (lambda x: nn.functional.pad(x, (-7, 2)), RuntimeError, "crops more than"),
    (lambda x: nn.functional.pad(x, (1.5, 1)), TypeError, "'pad'"),
    (lambda x: nn.ReflectionPad2d(1)(x[0]), NotImplementedError, "padding size 4"),
    (lambda x: nn.ReflectionPad2d((1, 2, 3)), TypeError, "4 ints"),
])
def test_bad_input(rng, call, error, message):
    x = nnx.tensor(rng.normal(size=(1, 2, 6)).astype(np.float32))
    with pytest.raises(error, match=message):
        call(x)


@pytest.mark.parametrize("mode", sorted(LAYERS_2D))
@pytest.mark.parametrize("padding, expected_pads",
                         [((1, 2), (2, 2, 1, 1)), ("same", (2, 2, 1, 1)), ("valid", (0,) * 4)])
def test_conv2d_padding_modes_pad_then_convolve(rng, mode, padding, expected_pads):
    """Conv2d's padding_mode pads with F.pad (PyTorch's order, 'same' from the kernel) and convolves unpadded."""
    layer = nn.Conv2d(2, 3, (3, 5), padding=padding, padding_mode=mode, dtype=np.float64)
    assert repr(layer).endswith(f"padding_mode={mode})")
    x = rng.normal(size=(2, 2, 6, 7))
    expected = nn.functional.conv2d(nnx.tensor(numpy_pad(x, expected_pads, mode)), layer.weight, layer.bias)
    np.testing.assert_allclose(layer(nnx.tensor(x)).numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", sorted(LAYERS_1D))
def test_conv1d_padding_modes_unbatched(rng, mode):
    layer = nn.Conv1d(2, 3, 4, padding="same", padding_mode=mode, dtype=np.float64)
    x = rng.normal(size=(2, 9))
    expected = nn.functional.conv1d(nnx.tensor(numpy_pad(x, (1, 2), mode)), layer.weight, layer.bias)
    np.testing.assert_allclose(layer(nnx.tensor(x)).numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", sorted(LAYERS_2D))
def test_pad_results_do_not_depend_on_the_thread_count(rng, mode):
    before = nnx.get_num_threads()
    x = rng.normal(size=(64, 3, 20, 30)).astype(np.float32)
    grad = rng.normal(size=(64, 3, 25, 33)).astype(np.float32)
    results = []
    try:
        for threads in (1, 2, 3):
            nnx.set_num_threads(threads)
            tensor = nnx.tensor(x, requires_grad=True)
            out = nn.functional.pad(tensor, (2, 1, 4, 1), mode)
            out.backward(nnx.tensor(grad))
            results.append((out.numpy(), tensor.grad.numpy()))
    finally:
        nnx.set_num_threads(before)
    for out, grad_x in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(grad_x, results[0][1])


@pytest.mark.parametrize("mode, pad, shape", [("constant", (1, -1, 2, 0, 1, 1), (2, 3, 4, 5, 6)),
                                              ("reflect", (2, 1, 1, 3), (2, 3, 5, 6)),
                                              ("replicate", (3, -1), (2, 3, 6)),
                                              ("circular", (1, 2, -1, 1, 1, 0), (2, 3, 4, 5, 6))])
def test_pad_on_a_device_matches_the_cpu(device, rng, mode, pad, shape):
    x = rng.normal(size=shape).astype(np.float32)
    results = []
    for where in ("cpu", device):
        tensor = nnx.tensor(x, device=where, requires_grad=True)
        out = nn.functional.pad(tensor, pad, mode, 0.5 if mode == "constant" else None)
        weights = np.random.default_rng(0).uniform(0.5, 1.5, out.shape).astype(np.float32)
        (out * nnx.tensor(weights, device=where)).sum().backward()
        results.append((out.detach().cpu().numpy(), tensor.grad.cpu().numpy()))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-6, atol=1e-6)
