"""nnx.vision.models: fastai's XResNet layout (state-dict keys, BatchZero initialisation, shapes), simple_cnn,
torchvision's ResNet initialisation, gradients reaching every parameter, and the errors. (torchvision's keys and
logits themselves: tests/golden/test_golden_vision.py.)"""
import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.vision import layers, models


def test_xresnet18_has_fastais_layout_and_keys():
    model = models.xresnet18(n_out=7)
    keys = list(model.state_dict())
    assert keys[:2] == ["0.0.weight", "0.1.weight"]  # stem ConvLayer: conv (no bias), BatchNorm
    assert "0.0.bias" not in keys
    assert "4.0.convpath.0.0.weight" in keys and "4.0.convpath.1.1.weight" in keys
    assert not any(k.startswith("4.0.idpath") for k in keys)  # 64 -> 64, stride 1: the identity
    assert "5.0.idpath.1.0.weight" in keys  # 64 -> 128, stride 2: AvgPool2d then a 1x1 ConvLayer
    assert isinstance(model[5][0].idpath[0], nn.AvgPool2d) and model[5][0].idpath[0].ceil_mode
    assert keys[-2:] == ["11.weight", "11.bias"] and model[11].out_features == 7
    assert [type(m) for m in list(model)[8:11]] == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout]


def test_xresnet_residual_branches_start_at_zero_and_biases_at_zero():
    model = models.xresnet34(n_out=3)
    for block in model[4]:
        last_bn = block.convpath[-1][1]
        assert np.all(last_bn.weight.numpy() == 0)
        assert np.all(block.convpath[0][1].weight.numpy() == 1)
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            assert np.all(p.numpy() == 0), name
    std = model[0][0].weight.numpy().std()  # Kaiming normal, fan_in 27: std sqrt(2/27)
    assert 0.2 < std < 0.35


@pytest.mark.parametrize("factory,n_out", [(models.xresnet18, 5), (models.xresnet50, 4)])
def test_xresnet_forward_shape_and_every_parameter_gets_a_gradient(factory, n_out):
    nnx.manual_seed(0)
    model = factory(n_out=n_out, c_in=2)
    x = nnx.randn(2, 2, 32, 32)
    out = model(x)
    assert out.shape == (2, n_out)
    out.sum().backward()
    # (the zero-initialised BatchNorm weights stop gradients to the convolutions before them; all others flow)
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []


def test_resnet_init_is_torchvisions():
    nnx.manual_seed(0)
    model = models.resnet18(num_classes=10)
    w = model.conv1.weight.numpy()  # kaiming_normal_ fan_out: std sqrt(2 / (64 * 7 * 7))
    np.testing.assert_allclose(w.std(), np.sqrt(2 / (64 * 49)), rtol=0.05)
    assert np.all(model.bn1.weight.numpy() == 1) and np.all(model.bn1.bias.numpy() == 0)
    zeroed = models.resnet50(num_classes=3, zero_init_residual=True)
    assert np.all(zeroed.layer1[0].bn3.weight.numpy() == 0)
    assert isinstance(model.layer2[0].downsample[0], nn.Conv2d) and model.layer1[0].downsample is None


def test_resnet_forward_and_backward_at_an_odd_size():
    nnx.manual_seed(1)
    model = models.resnet18(num_classes=4)
    out = model(nnx.randn(3, 3, 37, 29))
    assert out.shape == (3, 4)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_simple_cnn_layers():
    model = models.simple_cnn((1, 8, 16, 10), bn=True)
    convs = [m for m in model if isinstance(m, layers.ConvLayer)]
    assert len(convs) == 3
    assert [type(m) for m in convs[0]] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert [type(m) for m in convs[2]] == [nn.Conv2d, nn.ReLU]  # no norm on the last: its conv keeps a bias
    assert convs[2][0].bias is not None and convs[0][0].bias is None
    assert [c[0].stride for c in convs] == [(2, 2)] * 3
    assert model(nnx.randn(4, 1, 16, 16)).shape == (4, 10)


def test_conv_layer_orders_and_zero_batchnorm():
    layer = layers.ConvLayer(3, 6, ks=5, stride=2, norm_type=layers.NormType.BatchZero, bn_1st=False)
    assert [type(m) for m in layer] == [nn.Conv2d, nn.ReLU, nn.BatchNorm2d]
    assert layer[0].padding == (2, 2)
    assert np.all(layer[2].weight.numpy() == 0) and np.allclose(layer[2].bias.numpy(), 1e-3)
    assert layers.ConvLayer(3, 6, act_cls=None, norm_type=None)[0].bias is not None


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="odd"):
        models.XResNet(1, [1, 1, 1, 1], ks=4)
    with pytest.raises(ValueError, match="layers"):
        models.ResNet(models.BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="actns"):
        models.simple_cnn([3])
    with pytest.raises(ValueError, match="kernel_szs"):
        models.simple_cnn([3, 8, 10], kernel_szs=[3])
    with pytest.raises(TypeError, match="norm_type"):
        layers.ConvLayer(3, 4, norm_type="batch")
