"""The pooling layers (AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d) and the shape-only layers (PixelShuffle,
PixelUnshuffle, Unflatten, Flatten, Identity): PyTorch's attributes, reprs and argument errors, return_indices,
and gradients flowing through the reshapes (the kernels themselves are covered by tests/ops' specs)."""
import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from nnx import nn


def _grad(function, x, upstream):
    t = nnx.tensor(x, requires_grad=True)
    out = function(t)
    (out * nnx.tensor(upstream)).sum().backward()
    return out.numpy(), t.grad.numpy()


def test_reprs_and_attributes_are_pytorchs():
    avg = nn.AvgPool2d((3, 2), None, 1, True, False, 3)
    assert repr(avg) == "AvgPool2d(kernel_size=(3, 2), stride=(3, 2), padding=1)"
    assert (avg.ceil_mode, avg.count_include_pad, avg.divisor_override) == (True, False, 3)
    assert repr(nn.AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(nn.AdaptiveAvgPool2d((None, 3))) == "AdaptiveAvgPool2d(output_size=(None, 3))"
    assert repr(nn.AdaptiveMaxPool2d(2, True)) == "AdaptiveMaxPool2d(output_size=2)"
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Identity(3, unused=True)) == "Identity()"
    for layer in (avg, nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1), nn.PixelShuffle(2), nn.Unflatten(1, (2,))):
        assert layer.state_dict() == {} and list(layer.parameters()) == []


def test_avg_pool2d_layer_matches_functional_and_counts_padding(rng):
    x = rng.normal(size=(2, 3, 7, 6))
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_array_equal(layer(nnx.tensor(x)).numpy(),
                                  F.avg_pool2d(nnx.tensor(x), 3, 2, 1, True, False).numpy())
    ones = nnx.tensor(np.ones((1, 1, 3, 3)))
    # The corner window covers 2x2 input cells of a 3x3 padded window: 4/9 with the padding counted, 1 without.
    assert F.avg_pool2d(ones, 3, 2, 1).numpy()[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert F.avg_pool2d(ones, 3, 2, 1, count_include_pad=False).numpy()[0, 0, 0, 0] == 1.0
    assert F.avg_pool2d(ones, 3, 2, 1, divisor_override=2).numpy()[0, 0, 0, 0] == 2.0


@pytest.mark.parametrize("call, error, words", [
    (lambda x: F.avg_pool2d(x, 2, padding=2), ValueError, "at most half of kernel_size"),
    (lambda x: F.avg_pool2d(x, 0), ValueError, "kernel_size"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=1.5), TypeError, "divisor_override"),
    (lambda x: F.avg_pool2d(x, 2, count_include_pad="yes"), TypeError, "count_include_pad"),
    (lambda x: F.avg_pool2d(x, 9), ValueError, "too small"),
    (lambda x: F.adaptive_avg_pool2d(x, -1), ValueError, "output_size"),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 3, 4)), ValueError, "output_size"),
    (lambda x: F.adaptive_max_pool2d(x, None), TypeError, "output_size"),
    (lambda x: F.adaptive_max_pool2d(x, (2.0, 1)), TypeError, "output_size"),
    (lambda x: F.adaptive_avg_pool2d(x[:, :, :0], 1), ValueError, "input"),
    (lambda x: F.pixel_shuffle(x, 2), ValueError, "divisible by 4"),
    (lambda x: F.pixel_unshuffle(x, 2), ValueError, "divisible by downscale_factor"),
    (lambda x: F.pixel_shuffle(x, 0), ValueError, "upscale_factor"),
    (lambda x: F.pixel_shuffle(x[0, 0], 1), ValueError, "at least 3 dimensions"),
])
def test_bad_arguments_name_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call(nnx.tensor(np.zeros((2, 3, 5, 5))))


def test_unflatten_refuses_non_int_sizes():
    with pytest.raises(TypeError, match="tuple of ints"):
        nn.Unflatten(1, 3)
    with pytest.raises(TypeError, match="pos 1"):
        nn.Unflatten(1, (2, 1.5))
    with pytest.raises(TypeError, match="dim"):
        nn.Unflatten("channels", (2, 3))


@pytest.mark.parametrize("output_size", [1, (2, 3), (None, 2), (4, None), (0, 1)])
def test_adaptive_layers_shapes_and_unbatched_input(rng, output_size):
    x = rng.normal(size=(3, 5, 4))
    expected = tuple(size if o is None else o for o, size in
                     zip((output_size, output_size) if isinstance(output_size, int) else output_size, (5, 4)))
    assert nn.AdaptiveAvgPool2d(output_size)(nnx.tensor(x)).shape == (3,) + expected
    out, indices = nn.AdaptiveMaxPool2d(output_size, return_indices=True)(nnx.tensor(x))
    assert out.shape == indices.shape == (3,) + expected and indices.dtype == np.int64
    # indices are flat h * W + w within each plane, as PyTorch's
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(3, -1), indices.numpy().reshape(3, -1), axis=1),
                                  out.numpy().reshape(3, -1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_average_pooling_is_the_mean(rng, dtype):
    x = rng.normal(size=(4, 64, 7, 7)).astype(dtype)
    upstream = rng.normal(size=(4, 64, 1, 1))
    out, grad = _grad(nn.AdaptiveAvgPool2d(1), x, upstream)
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out, x.astype(np.float64).mean(axis=(2, 3), keepdims=True), rtol=tolerance,
                               atol=tolerance)
    np.testing.assert_allclose(grad, np.broadcast_to(upstream / 49, x.shape), rtol=tolerance, atol=tolerance)


def test_adaptive_max_picks_the_first_maximum_and_nan_wins():
    x = np.array([[[[1.0, 3.0, 3.0], [0.0, 3.0, np.nan]]]])
    out, indices = F.adaptive_max_pool2d(nnx.tensor(x), (1, 2), return_indices=True)
    # windows: columns [0, 2) and [1, 3)
    np.testing.assert_array_equal(indices.numpy(), [[[[1, 5]]]])
    assert out.numpy()[0, 0, 0, 0] == 3.0 and np.isnan(out.numpy()[0, 0, 0, 1])


@pytest.mark.parametrize("shape, r", [((2, 8, 3, 5), 2), ((18, 2, 3), 3), ((1, 2, 4, 1, 1), 2), ((2, 3, 2, 2), 1)])
def test_pixel_shuffle_definition_inverse_and_gradient(rng, shape, r):
    x = rng.normal(size=shape)
    *batch, channels, height, width = shape
    c = channels // (r * r)
    out_shape = tuple(batch) + (c, height * r, width * r)
    upstream = rng.normal(size=out_shape)
    out, grad = _grad(nn.PixelShuffle(r), x, upstream)
    expected = np.empty(out_shape)
    for k in range(c):
        for i in range(r):
            for j in range(r):
                expected[..., k, i::r, j::r] = x[..., k * r * r + i * r + j, :, :]
    np.testing.assert_array_equal(out, expected)
    # A permutation of the elements: the gradient is the upstream permuted back, i.e. unshuffled.
    np.testing.assert_array_equal(grad, F.pixel_unshuffle(nnx.tensor(upstream), r).numpy())
    back, grad_back = _grad(nn.PixelUnshuffle(r), out, x)
    np.testing.assert_array_equal(back, x)
    np.testing.assert_array_equal(grad_back, out)


def test_unflatten_flatten_identity_gradients(rng):
    x = rng.normal(size=(3, 12, 2))
    upstream = rng.normal(size=(3, 2, 6, 2))
    out, grad = _grad(nn.Unflatten(1, (2, -1)), x, upstream)
    np.testing.assert_array_equal(out, x.reshape(3, 2, 6, 2))
    np.testing.assert_array_equal(grad, upstream.reshape(x.shape))
    out, grad = _grad(nn.Unflatten(-1, [1, 2]), x, upstream.reshape(3, 12, 1, 2))
    assert out.shape == (3, 12, 1, 2)
    out, grad = _grad(nn.Flatten(), x, upstream.reshape(3, 24))
    np.testing.assert_array_equal(out, x.reshape(3, 24))
    np.testing.assert_array_equal(grad, upstream.reshape(x.shape))
    assert nn.Flatten(0, 1)(nnx.tensor(x)).shape == (36, 2)
    out, grad = _grad(nn.Identity(), x, upstream.reshape(x.shape))
    np.testing.assert_array_equal(grad, upstream.reshape(x.shape))
