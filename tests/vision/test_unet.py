"""fastai's U-Net (nnx.vision.unet) and its layers: ICNR initialisation, PixelShuffle_ICNR, SelfAttention,
DynamicUnet's output sizes (odd ones included), its state-dict layout against fastai's, unet_learner's splitter and
freezing, and a tiny segmentation run whose loss drops."""
import copy

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.data import DataLoaders
from nnx.vision import ConvLayer, create_body, resnet18
from nnx.vision.layers import PixelShuffle_ICNR, icnr_init
from nnx.vision.unet import DynamicUnet, SelfAttention, unet_learner


def tiny_encoder():
    """Three strided ConvLayers: 1/2, 1/4, 1/8 of the input (8, 16, 32 channels)."""
    return nn.Sequential(ConvLayer(3, 8, stride=2), ConvLayer(8, 16, stride=2), ConvLayer(16, 32, stride=2))


def tiny_arch():
    """A classifier whose body create_body cuts at its pooling layer (model_meta's default split: body, decoder)."""
    return nn.Sequential(*tiny_encoder(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


@pytest.mark.parametrize("scale", [2, 3])
def test_icnr_groups_of_scale_squared_kernels_are_equal(scale):
    nnx.manual_seed(scale)
    weight = icnr_init(nnx.zeros(5 * scale ** 2, 7, 3, 3), scale).numpy()
    groups = weight.reshape(5, scale ** 2, 7, 3, 3)
    np.testing.assert_array_equal(groups, np.broadcast_to(groups[:, :1], groups.shape))
    assert not np.allclose(groups[0, 0], groups[1, 0])  # distinct draws between groups
    assert abs(groups[:, 0].std() - np.sqrt(2 / (7 * 9))) < 0.06  # kaiming_normal_ with the real fan-in


def test_pixel_shuffle_icnr_starts_as_nearest_upsampling():
    layer = PixelShuffle_ICNR(4, 3)
    x = nnx.randn(2, 4, 5, 6)
    out = layer(x).numpy()
    assert out.shape == (2, 3, 10, 12)
    np.testing.assert_allclose(out, np.repeat(np.repeat(out[:, :, ::2, ::2], 2, axis=2), 2, axis=3))
    assert list(layer.state_dict()) == ["0.0.weight", "0.0.bias"]
    blurred = PixelShuffle_ICNR(4, 3, blur=True)
    assert [type(m).__name__ for m in blurred] == ["ConvLayer", "PixelShuffle", "ReplicationPad2d", "AvgPool2d"]
    assert tuple(blurred(x).shape) == (2, 3, 10, 12)


def test_self_attention_starts_as_identity_then_attends():
    attention = SelfAttention(16)
    x = nnx.randn(2, 16, 3, 5)
    np.testing.assert_allclose(attention(x).numpy(), x.numpy(), rtol=1e-6)
    attention.gamma.data.numpy()[...] = 1.0
    out = attention(x)
    assert tuple(out.shape) == (2, 16, 3, 5) and not np.allclose(out.numpy(), x.numpy())
    out.sum().backward()
    assert attention.query[0].weight_orig.grad is not None and attention.gamma.grad is not None
    assert [k for k in attention.state_dict() if k.startswith("query")] == [
        "query.0.weight_orig", "query.0.weight_u", "query.0.weight_v"]


@pytest.mark.parametrize("build_size, sizes", [((32, 32), [(32, 32), (16, 24), (17, 17), (31, 29), (9, 40)]),
                                               ((33, 21), [(33, 21), (32, 32)])])
def test_dynamic_unet_output_has_the_input_size(build_size, sizes):
    model = DynamicUnet(tiny_encoder(), 5, build_size, self_attention=True, blur=True, y_range=(-1, 2))
    for size in sizes:
        out = model(nnx.randn(2, 3, *size))
        assert tuple(out.shape) == (2, 5, *size)
        assert -1 <= out.numpy().min() and out.numpy().max() <= 2


def test_dynamic_unet_layout_and_backward():
    model = DynamicUnet(tiny_encoder(), 2, (32, 32), last_cross=True, bottle=True)
    names = [type(m).__name__ for m in model.layers]
    assert names == ["Sequential", "BatchNorm2d", "ReLU", "Sequential", "UnetBlock", "UnetBlock", "PixelShuffle_ICNR",
                     "ResizeToOrig", "MergeLayer", "ResBlock", "ConvLayer"]
    # the last UnetBlock: (32 // 2 + 8) // 2 = 12 channels, + 3 input channels crossed over; bottle halves inside
    assert model.layers[9].convpath[0][0].in_channels == 15 and model.layers[9].convpath[0][0].out_channels == 7
    assert model.layers[9].convpath[1][0].out_channels == 15
    x = nnx.randn(2, 3, 32, 32, requires_grad=True)
    model(x).square().mean().backward()
    assert x.grad is not None and model.layers[0][0][0].weight.grad is not None
    twin = copy.deepcopy(model).eval()  # the copy's decoder reads the copy's encoder through its own hooks
    x = nnx.randn(1, 3, 16, 16)
    np.testing.assert_allclose(twin(x).numpy(), model.eval()(x).numpy(), rtol=1e-5, atol=1e-6)
    no_cross = DynamicUnet(tiny_encoder(), 2, (32, 32), last_cross=False)
    assert [type(m).__name__ for m in no_cross.layers][-2:] == ["ResizeToOrig", "ConvLayer"]


@pytest.fixture(scope="module")
def resnet_unet():
    return DynamicUnet(create_body(resnet18(), pretrained=False, cut=-2), 3, (64, 64), self_attention=True)


def test_resnet_unet_state_dict_matches_fastai_layout(resnet_unet):
    shapes = {k: tuple(v.shape) for k, v in resnet_unet.state_dict().items()}
    # fastai's DynamicUnet(create_body(resnet18), 3, (64, 64), self_attention=True): the keys and shapes it saves
    expected = {
        "layers.0.0.weight": (64, 3, 7, 7), "layers.0.4.0.conv1.weight": (64, 64, 3, 3),
        "layers.1.weight": (512,), "layers.1.running_var": (512,),
        "layers.3.0.0.weight": (1024, 512, 3, 3), "layers.3.0.0.bias": (1024,),
        "layers.3.1.0.weight": (512, 1024, 3, 3),
        "layers.4.shuf.0.0.weight": (1024, 512, 1, 1), "layers.4.bn.weight": (256,),
        "layers.4.conv1.0.weight": (512, 512, 3, 3), "layers.4.conv2.0.weight": (512, 512, 3, 3),
        "layers.5.shuf.0.0.weight": (1024, 512, 1, 1), "layers.5.conv1.0.weight": (384, 384, 3, 3),
        "layers.5.conv2.2.gamma": (1,), "layers.5.conv2.2.query.0.weight_orig": (48, 384, 1),
        "layers.5.conv2.2.value.0.weight_orig": (384, 384, 1),
        "layers.6.conv1.0.weight": (256, 256, 3, 3), "layers.7.bn.weight": (64,),
        "layers.7.conv1.0.weight": (96, 192, 3, 3), "layers.8.0.0.weight": (384, 96, 1, 1),
        "layers.11.convpath.0.0.weight": (99, 99, 3, 3), "layers.11.convpath.1.0.bias": (99,),
        "layers.12.0.weight": (3, 99, 1, 1), "layers.12.0.bias": (3,),
    }
    assert {k: shapes.get(k) for k in expected} == expected
    assert not any(k.startswith(("layers.2.", "layers.9.", "layers.10.")) for k in shapes)  # no parameters
    assert tuple(resnet_unet(nnx.randn(1, 3, 50, 70)).shape) == (1, 3, 50, 70)


def segmentation_dls(n=24, size=16, seed=0):
    """Images whose mask is where the first channel is positive (a per-pixel task a U-Net learns fast)."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, 3, size, size)).astype(np.float32)
    masks = (images[:, 0] > 0).astype(np.int64)
    dls = DataLoaders.from_arrays(images[:16], masks[:16], images[16:], masks[16:], bs=8, seed=seed)
    return dls


def test_unet_learner_splits_and_freezes():
    weights = {k: v.numpy() for k, v in tiny_arch().state_dict().items()}
    learn = unet_learner(segmentation_dls(), tiny_arch, n_out=2, pretrained_weights=weights,
                         loss_func=nn.CrossEntropyLoss())
    model = learn.model
    assert isinstance(model, DynamicUnet) and learn.pretrained
    encoder = {id(p) for p in model[0].parameters()}
    groups = [list(g["params"]) for g in learn.opt.param_groups]
    assert len(groups) == 2 and {id(p) for p in groups[0]} == encoder
    np.testing.assert_array_equal(model[0][0][0].weight.numpy(), weights["0.0.weight"])  # the weights loaded
    norm = {id(p) for m in model[0].modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()}
    assert all(p.requires_grad == (id(p) in norm) for p in model[0].parameters())  # frozen but BatchNorm (train_bn)
    assert all(p.requires_grad for p in groups[1])
    learn.unfreeze()
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="n_out"):
        unet_learner(segmentation_dls(), tiny_arch)


def test_unet_learner_training_lowers_the_loss():
    nnx.manual_seed(0)
    learn = unet_learner(segmentation_dls(), tiny_arch, n_out=2, loss_func=nn.CrossEntropyLoss())
    xb, yb = next(iter(learn.dls.valid))
    learn.model.eval()
    with nnx.no_grad():
        before = float(learn.loss_func(learn.model(xb), yb))
    learn.fit(4, lr=3e-2)
    learn.model.eval()
    with nnx.no_grad():
        after = float(learn.loss_func(learn.model(xb), yb))
    assert after < 0.65 * before, (before, after)  # measured: 0.71 -> 0.38 (seed 0)
