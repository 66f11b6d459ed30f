"""nn.ConvTranspose2d's behaviour beyond F.conv_transpose2d (tests/ops/conv2d.py checks the functional): PyTorch's
weight layout and initialisation bounds, forward's output_size, repr and the refused arguments."""
import math

import numpy as np
import pytest

import nnx
import nnx.nn as nn


def test_conv_transpose2d_has_pytorchs_layout_and_init_bounds():
    layer = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, groups=2)
    assert layer.weight.shape == (4, 3, 3, 2) and layer.bias.shape == (6,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    fan_in = 3 * 3 * 2  # out_channels / groups * kernel: dimension 1 of the transposed weight
    assert np.abs(layer.weight.numpy()).max() <= 1 / math.sqrt(fan_in) + 1e-7
    assert np.abs(layer.bias.numpy()).max() <= 1 / math.sqrt(fan_in) + 1e-7
    assert layer.transposed and layer.output_padding == (0, 0)


def test_conv_transpose2d_repr_matches_pytorchs():
    layer = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, output_padding=1, dilation=2, bias=False)
    assert repr(layer) == ("ConvTranspose2d(4, 6, kernel_size=(3, 2), stride=(2, 2), dilation=(2, 2), "
                           "output_padding=(1, 1), bias=False)")


@pytest.mark.parametrize("output_size", [(9, 10), [3, 6, 9, 10]])
def test_conv_transpose2d_output_size_picks_the_output_padding(output_size):
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, dtype=np.float64)
    x = nnx.tensor(np.random.default_rng(0).standard_normal((3, 4, 5, 5)))
    out = layer(x, output_size=output_size)
    assert out.shape == (3, 6, 9, 10)
    expected = nnx.nn.functional.conv_transpose2d(x, layer.weight, layer.bias, 2, 1, (0, 1))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_conv_transpose2d_refuses_an_unreachable_output_size_and_other_padding_modes():
    layer = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match="valid sizes range from"):
        layer(nnx.zeros((1, 2, 4, 4)), output_size=(9, 7))
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


def test_conv_transpose2d_functional_refuses_a_large_output_padding():
    x, w = nnx.zeros((1, 2, 4, 4)), nnx.zeros((2, 3, 3, 3))
    with pytest.raises(ValueError, match="output_padding"):
        nnx.nn.functional.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="to have 2 channels"):
        nnx.nn.functional.conv_transpose2d(nnx.zeros((1, 3, 4, 4)), w)


@pytest.mark.parametrize("activation", [nn.ReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh()])
def test_sequential_fuses_conv2d_and_its_activation_with_the_unfused_results(activation):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, dtype=np.float64), activation,
                          nn.Conv2d(4, 2, 1, dtype=np.float64))
    plan = model.plan()
    assert len(plan) == 2 and plan[0].fuses[0] is model[0]
    x = nnx.tensor(np.random.default_rng(1).standard_normal((2, 3, 5, 6)), requires_grad=True)
    model(x).sum().backward()
    fused_out, fused_grads = model(x).numpy(), [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy()]
    model.zero_grad()
    x.grad = None
    unfused = model[2](activation(model[0](x)))  # the modules one by one, as written
    unfused.sum().backward()
    np.testing.assert_allclose(fused_out, unfused.numpy(), rtol=1e-13, atol=1e-14)
    for fused, plain in zip(fused_grads, [p.grad.numpy() for p in model.parameters()] + [x.grad.numpy()]):
        np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-13)


def test_sequential_runs_a_negative_leaky_slope_and_a_conv_subclass_as_written():
    class Doubled(nn.Conv2d):
        def forward(self, input):
            return super().forward(input) * 2

    model = nn.Sequential(Doubled(1, 1, 1), nn.ReLU())
    assert model.plan()[0] is model[0]
    leaky = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=np.float64), nn.LeakyReLU(-0.5))
    x = nnx.tensor(np.random.default_rng(2).standard_normal((1, 1, 4, 4)))
    np.testing.assert_allclose(leaky(x).numpy(), leaky[1](leaky[0](x)).numpy())


def test_an_in_place_write_to_a_fused_conv2d_output_is_refused_in_backward():
    x = nnx.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    w = nnx.tensor(np.ones((1, 1, 1, 1)), requires_grad=True)
    out = nnx.nn.functional.fused_conv2d(x, w, activation="relu")
    out.mul_(2)
    with pytest.raises(RuntimeError):
        out.sum().backward()
