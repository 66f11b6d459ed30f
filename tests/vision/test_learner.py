"""nnx.vision's transfer learning: create_head's layers (fastai's), AdaptiveConcatPool2d, create_body's cut and
first-layer adaptation, vision_learner's groups and freezing (a pretrained body stays fixed while the head
trains, then everything trains with discriminative rates), and ClassificationInterpretation's figures."""
import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.metrics import accuracy
from nnx.vision import data, interpret, layers, learner, models


def tiny_arch(n_out=1000):
    """A small XResNet for 1-channel 16x16 images (fast enough for tests)."""
    return models.XResNet(1, [1, 1, 1, 1], c_in=1, n_out=n_out, stem_szs=(8, 8, 64), widen=0.125)


def blob_images(n, n_classes, seed, size=16):
    """Images whose class is the position of a bright square (learnable in a few epochs)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    images = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 2)
        images[i, 2 + 7 * row:7 + 7 * row, 2 + 7 * col:7 + 7 * col] = 250
    return images, labels


def test_create_head_is_fastais():
    head = layers.create_head(32, 5)
    kinds = [type(m) for m in head]
    assert kinds == [layers.AdaptiveConcatPool2d, nn.Flatten, nn.BatchNorm1d, nn.Dropout, nn.Linear, nn.ReLU,
                     nn.BatchNorm1d, nn.Dropout, nn.Linear]
    assert head[2].num_features == 64 and head[4].in_features == 64 and head[4].out_features == 512
    assert head[3].p == 0.25 and head[7].p == 0.5
    assert head[4].bias is None and head[8].bias is None and head[8].out_features == 5
    plain = layers.create_head(32, 3, lin_ftrs=[16], ps=[0.1, 0.2], concat_pool=False, first_bn=False)
    assert [type(m) for m in plain][:3] == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout]
    assert plain[3].in_features == 32 and plain[3].bias is not None


def test_adaptive_concat_pool_is_max_then_average():
    x = nnx.randn(2, 3, 5, 7)
    out = layers.AdaptiveConcatPool2d()(x).numpy()
    assert out.shape == (2, 6, 1, 1)
    np.testing.assert_allclose(out[:, :3, 0, 0], x.numpy().max(axis=(2, 3)), rtol=1e-6)
    np.testing.assert_allclose(out[:, 3:, 0, 0], x.numpy().mean(axis=(2, 3)), rtol=1e-5)


def test_create_body_cuts_at_the_last_pool_and_adapts_the_first_layer():
    model = models.resnet18(num_classes=3)
    weight = model.conv1.weight.numpy().copy()
    body = learner.create_body(model, n_in=1, pretrained=True, cut=-2)
    assert list(body.children())[-1] is model.layer4
    np.testing.assert_allclose(body[0].weight.numpy(), weight.sum(axis=1, keepdims=True), rtol=1e-6)
    assert learner.num_features_model(body) == 512
    xres = tiny_arch()
    assert len(learner.create_body(xres, pretrained=False)) == 8  # up to the AdaptiveAvgPool2d (index 8)
    with pytest.raises(TypeError, match="cut"):
        learner.create_body(tiny_arch(), cut="half")


def test_resnet_splitter_makes_three_groups():
    model = learner.create_vision_model(models.resnet18, 4)
    groups = learner.model_meta[models.resnet18]["split"](model)
    assert len(groups) == 3
    assert sum(len(g) for g in groups) == len(list(model.parameters()))
    assert groups[0][0] is model[0][0].weight


def test_vision_learner_freezes_a_pretrained_body_then_fine_tunes():
    nnx.manual_seed(0)
    images, labels = blob_images(96, 4, seed=1)
    dls = data.ImageDataLoaders.from_arrays(images, labels, valid_pct=0.25, seed=0, bs=16)
    source = tiny_arch()  # (its own 1000-way head, as an ImageNet model's: vision_learner replaces it)
    weights = {k: v.numpy().copy() for k, v in source.state_dict().items()}
    learn = learner.vision_learner(dls, tiny_arch, pretrained_weights=weights, metrics=accuracy, verbose=False)
    assert learn.pretrained and learn.n_out == 4
    body_conv = learn.model[0][0][0]
    np.testing.assert_array_equal(body_conv.weight.numpy(), weights["0.0.weight"])
    head_linear = learn.model[1][-1]
    before_body, before_head = body_conv.weight.numpy().copy(), head_linear.weight.numpy().copy()
    learn.fit(1, 1e-2)
    np.testing.assert_array_equal(body_conv.weight.numpy(), before_body)  # frozen
    assert not np.array_equal(head_linear.weight.numpy(), before_head)
    learn.fine_tune(2, base_lr=1e-2)
    assert not np.array_equal(body_conv.weight.numpy(), before_body)
    rates = [g["lr"] for g in learn.opt.param_groups]
    assert rates[0] < rates[-1]  # discriminative rates after unfreezing


def test_vision_learner_learns_and_interpretation_counts_its_mistakes():
    nnx.manual_seed(0)
    images, labels = blob_images(160, 4, seed=2)
    names = np.array(["a", "b", "c", "d"])[labels]
    dls = data.ImageDataLoaders.from_arrays(images, names, valid_pct=0.25, seed=0, bs=16)
    learn = learner.cnn_learner(dls, tiny_arch, metrics=accuracy, verbose=False)
    assert learn.opt is None or learn.frozen_idx == 0  # not pretrained: not frozen
    learn.fit_one_cycle(4, 1e-2)
    interp = interpret.ClassificationInterpretation.from_learner(learn)
    preds, targs = learn.get_preds()
    cm = interp.confusion_matrix()
    expected = np.zeros((4, 4), np.int64)
    np.add.at(expected, (targs.astype(np.int64), preds.argmax(1)), 1)
    np.testing.assert_array_equal(cm, expected)
    assert cm.trace() / cm.sum() > 0.5
    losses, idx = interp.top_losses(5)
    assert np.all(np.diff(losses) <= 0)
    np.testing.assert_allclose(losses, -np.log(preds[idx, targs[idx].astype(np.int64)]), rtol=1e-6)
    for actual, predicted, count in interp.most_confused():
        assert actual != predicted and count == cm[dls.vocab.index(actual), dls.vocab.index(predicted)]


def test_plots_need_matplotlib_and_draw():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    nnx.manual_seed(0)
    images, labels = blob_images(48, 4, seed=3)
    dls = data.ImageDataLoaders.from_arrays(images, labels, valid_pct=0.5, seed=0, bs=8)
    learn = learner.vision_learner(dls, tiny_arch, verbose=False)
    interp = interpret.ClassificationInterpretation.from_learner(learn)
    fig = interp.plot_top_losses(4)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 4
    assert interp.plot_confusion_matrix() is not None
    assert len(dls.show_batch(max_n=4).axes) == 4


def test_vision_learner_argument_errors():
    images, labels = blob_images(20, 2, seed=4)
    dls = data.ImageDataLoaders.from_arrays(images, labels, valid_pct=0.5, seed=0)
    with pytest.raises(ValueError, match="n_out"):
        learner.vision_learner(object(), tiny_arch)
    learn = learner.vision_learner(dls, tiny_arch, verbose=False)
    assert learn.n_out == 2
