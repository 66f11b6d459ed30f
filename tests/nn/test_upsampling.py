"""nn.Upsample, UpsamplingNearest2d and UpsamplingBilinear2d beyond F.interpolate (tests/ops/interpolate.py checks
the functional): PyTorch's attributes and repr, and the modes and align_corners each layer passes on."""
import numpy as np
import pytest

import nnx
import nnx.nn as nn


def test_upsample_keeps_pytorchs_attributes_and_repr():
    layer = nn.Upsample(scale_factor=2, mode="bilinear")
    assert layer.scale_factor == 2.0 and isinstance(layer.scale_factor, float) and layer.size is None
    assert repr(layer) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"
    assert nn.Upsample(scale_factor=(2, 3)).scale_factor == (2.0, 3.0)
    assert list(layer.state_dict()) == []


def test_upsampling_bilinear2d_aligns_the_corners():
    x = nnx.tensor(np.arange(4.0).reshape(1, 1, 2, 2))
    out = nn.UpsamplingBilinear2d(size=(3, 3))(x).numpy()[0, 0]
    np.testing.assert_allclose(out, [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])  # corners kept, midpoints averaged
    assert repr(nn.UpsamplingBilinear2d(scale_factor=2)) == "UpsamplingBilinear2d(scale_factor=2.0, mode='bilinear')"


def test_upsampling_nearest2d_repeats_each_pixel():
    x = nnx.tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    out = nn.UpsamplingNearest2d(scale_factor=2)(x).numpy()[0, 0]
    np.testing.assert_array_equal(out, np.repeat(np.repeat(np.arange(6.0).reshape(2, 3), 2, 0), 2, 1))


def test_upsample_linear_on_3d_input_and_its_mode_errors():
    x = nnx.tensor(np.array([[[0.0, 2.0]]]))
    np.testing.assert_allclose(nn.Upsample(size=3, mode="linear", align_corners=True)(x).numpy(), [[[0, 1, 2]]])
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        nn.Upsample(scale_factor=2, mode="bilinear")(x)
    with pytest.raises(ValueError, match="align_corners option"):
        nn.Upsample(scale_factor=2, mode="nearest", align_corners=True)(x)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        nnx.nn.functional.interpolate(x, size=3, scale_factor=2.0)
