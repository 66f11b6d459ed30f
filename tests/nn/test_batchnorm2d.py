"""nn.BatchNorm2d (and BatchNorm1d's 3-D input) against a float64 NumPy reference: training and eval, running
statistics (momentum, cumulative average), track_running_stats=False, state-dict keys, PyTorch's errors, the fused
relu, and the native path for (N, C, *) input."""
import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.ops import normalization


def reference(x, g, weight, bias, eps=1e-5):
    """(out, grad_x, grad_weight, grad_bias) of training-mode batch norm over axes (0, 2, 3, ...)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = [1, -1] + [1] * (x.ndim - 2)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * rstd
    gx = g * weight.reshape(shape)
    dx = rstd * (gx - gx.mean(axis=axes, keepdims=True) - xhat * (gx * xhat).mean(axis=axes, keepdims=True))
    return xhat * weight.reshape(shape) + bias.reshape(shape), dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


def forward_backward(layer, x, g, activation=None):
    tensor = nnx.tensor(x, requires_grad=True)
    out = layer(tensor) if activation is None else layer._normalize(tensor, activation)
    (out * nnx.tensor(g)).sum().backward()
    return out.numpy(), tensor.grad.numpy()


def affine_layer(rng, channels, dtype=np.float64, **kwargs):
    layer = nn.BatchNorm2d(channels, dtype=dtype, **kwargs)
    layer.weight.numpy()[:] = rng.uniform(0.5, 1.5, size=channels)
    layer.bias.numpy()[:] = rng.normal(size=channels)
    return layer


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (2, 1, 1, 3), (7, 2, 9, 1)])
def test_batchnorm2d_training(rng, shape):
    layer = affine_layer(rng, shape[1], momentum=0.2)
    x, g = rng.normal(size=shape) * 2 + 1, rng.normal(size=shape)
    out, dx = forward_backward(layer, x, g)
    expected, expected_dx, dweight, dbias = reference(x, g, layer.weight.numpy(), layer.bias.numpy())
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.weight.grad.numpy(), dweight, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.numpy(), dbias, rtol=1e-10, atol=1e-12)
    count = x.size / shape[1]
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.2 * x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), 0.8 + 0.2 * x.var(axis=(0, 2, 3)) * count / (count - 1),
                               rtol=1e-12)
    assert int(layer.num_batches_tracked.numpy()) == 1


def test_batchnorm2d_eval_uses_running_statistics(rng):
    layer = affine_layer(rng, 3)
    layer.running_mean.numpy()[:] = [0.5, -1.0, 2.0]
    layer.running_var.numpy()[:] = [1.5, 0.25, 4.0]
    layer.eval()
    x, g = rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(2, 3, 4, 4))
    out, dx = forward_backward(layer, x, g)
    scale = (layer.weight.numpy() / np.sqrt(layer.running_var.numpy() + 1e-5))[:, None, None]
    np.testing.assert_allclose(out, (x - layer.running_mean.numpy()[:, None, None]) * scale
                               + layer.bias.numpy()[:, None, None], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, g * scale, rtol=1e-12)
    assert int(layer.num_batches_tracked.numpy()) == 0


def test_batchnorm2d_cumulative_average(rng):
    layer = nn.BatchNorm2d(2, momentum=None, affine=False, dtype=np.float64)
    assert list(layer.parameters()) == []
    batches = [rng.normal(size=(3, 2, 4, 5)) for _ in range(3)]
    for x in batches:
        layer(nnx.tensor(x))
    np.testing.assert_allclose(layer.running_mean.numpy(), np.mean([x.mean((0, 2, 3)) for x in batches], axis=0),
                               rtol=1e-12)
    assert int(layer.num_batches_tracked.numpy()) == 3


def test_batchnorm2d_without_running_statistics_normalises_with_the_batch_in_eval(rng):
    layer = nn.BatchNorm2d(3, track_running_stats=False, dtype=np.float64).eval()
    assert layer.running_mean is None and "running_mean" not in layer.state_dict()
    x = rng.normal(size=(2, 3, 3, 3)) * 3 + 2
    out = layer(nnx.tensor(x)).numpy()
    expected = reference(x, x, np.ones(3), np.zeros(3))[0]
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_batchnorm2d_state_dict_and_repr():
    layer = nn.BatchNorm2d(4)
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert layer.weight.dtype == np.float32 and layer.num_batches_tracked.dtype == np.int64
    assert repr(layer) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"


def test_batchnorm2d_bad_input(rng):
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(nnx.tensor(rng.normal(size=(2, 3, 4)).astype(np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm2d(3)(nnx.tensor(rng.normal(size=(1, 3, 1, 1)).astype(np.float32)))
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm2d(3)(nnx.tensor(rng.normal(size=(2, 5, 2, 2)).astype(np.float32)))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_relu_equals_batchnorm_then_relu(rng, training, dtype):
    fused, plain = affine_layer(rng, 3, dtype), None
    plain = nn.BatchNorm2d(3, dtype=dtype)
    plain.load_state_dict(fused.state_dict())
    fused.train(training), plain.train(training)
    x, g = rng.normal(size=(4, 3, 5, 5)).astype(dtype), rng.normal(size=(4, 3, 5, 5)).astype(dtype)
    out, dx = forward_backward(fused, x, g, activation="relu")
    plain_x = nnx.tensor(x, requires_grad=True)
    plain_out = nn.functional.relu(plain(plain_x))
    (plain_out * nnx.tensor(g)).sum().backward()
    np.testing.assert_array_equal(out, plain_out.numpy())
    np.testing.assert_allclose(dx, plain_x.grad.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    np.testing.assert_allclose(fused.weight.grad.numpy(), plain.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fused.running_var.numpy(), plain.running_var.numpy())


def test_batch_norm_refuses_unknown_activation(rng):
    x = nnx.tensor(rng.normal(size=(2, 3, 2, 2)).astype(np.float32))
    with pytest.raises(ValueError, match="activation"):
        nn.functional.batch_norm(x, None, None, training=True, activation="sigmoid")


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm1d(3), (4, 3, 5)), (nn.BatchNorm2d(3), (2, 3, 4, 5))])
def test_channel_input_runs_natively(rng, monkeypatch, layer, shape):
    """float32 (N, C, *) input goes through the native kernels, never the NumPy Function."""
    def refuse(*args):
        raise AssertionError("the NumPy batch norm ran")
    monkeypatch.setattr(normalization.BatchNormFunction, "apply", refuse)
    x = rng.normal(size=shape).astype(np.float32)
    g = rng.normal(size=shape).astype(np.float32)
    out, dx = forward_backward(layer, x, g)
    expected, expected_dx, _, _ = reference(x.astype(np.float64), g.astype(np.float64), np.ones(3), np.zeros(3))
    np.testing.assert_allclose(out, expected, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(dx, expected_dx, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("activation", ["none", "relu"])
def test_batch_norm_nchw_on_a_device_matches_the_cpu(device, rng, activation):
    """F.batch_norm of NCHW input (training, running statistics updated) on the device against the CPU."""
    x, weight, bias = rng.normal(size=(4, 3, 5, 6)).astype(np.float32), rng.uniform(0.5, 1.5, 3), rng.normal(size=3)
    g = rng.normal(size=x.shape).astype(np.float32)
    results = []
    for where in ("cpu", device):
        tensors = [nnx.tensor(a.astype(np.float32), device=where, requires_grad=True) for a in (x, weight, bias)]
        stats = [nnx.tensor(np.zeros(3, np.float32), device=where), nnx.tensor(np.ones(3, np.float32), device=where)]
        out = nn.functional.batch_norm(tensors[0], *stats, tensors[1], tensors[2], training=True,
                                       activation=activation)
        (out * nnx.tensor(g, device=where)).sum().backward()
        results.append([out.detach().cpu().numpy(), *(s.cpu().numpy() for s in stats),
                        *(t.grad.cpu().numpy() for t in tensors)])
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
