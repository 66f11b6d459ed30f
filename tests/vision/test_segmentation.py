"""Segmentation (issue 16 item 3): nnx.losses' flattened losses against NumPy and PyTorch (torch's losses on the
transposed inputs), the metrics (foreground_acc, dice, Dice, DiceMulti) against NumPy references, masks under batch
augmentation (identity, image = mask in nearest mode, flips are involutions, lighting and validation leave them,
the seed reproduces them), the generated scenes, SegmentationDataLoaders, and the demo end to end."""
import numpy as np
import pytest

import nnx
from nnx.learner import Learner
from nnx.losses import BCEWithLogitsLossFlat, CrossEntropyLossFlat
from nnx.metrics import Dice, DiceMulti, as_metric, dice, foreground_acc
from nnx.vision import augment as A
from nnx.vision.segmentation import SegmentationDataLoaders
from nnx.vision.synthetic import SCENE_CODES, scenes


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ---- losses ---------------------------------------------------------------------------------------------------

def test_cross_entropy_flat_axis1_against_numpy(rng):
    scores = rng.normal(size=(3, 4, 5, 6)).astype(np.float32)
    targ = rng.integers(0, 4, size=(3, 5, 6))
    loss = CrossEntropyLossFlat(axis=1)
    logp = _log_softmax(scores.astype(np.float64), 1)
    expected = -np.take_along_axis(logp, targ[:, None], 1).mean()
    np.testing.assert_allclose(float(loss(nnx.tensor(scores), nnx.tensor(targ)).item()), expected, rtol=1e-5)
    probs = loss.activation(nnx.tensor(scores)).numpy()
    np.testing.assert_allclose(probs, np.exp(logp), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(loss.decodes(nnx.tensor(scores)).numpy(), scores.argmax(1))
    np.testing.assert_array_equal(loss.decodes(scores), scores.argmax(1))  # NumPy too (what predict hands it)
    # axis=-1 (the default) is the text models' flattening: (bs, seq, vocab) against (bs, seq)
    lm = rng.normal(size=(2, 7, 9)).astype(np.float32)
    lm_targ = rng.integers(0, 9, size=(2, 7))
    expected = -np.take_along_axis(_log_softmax(lm.astype(np.float64), -1), lm_targ[..., None], -1).mean()
    np.testing.assert_allclose(float(CrossEntropyLossFlat()(nnx.tensor(lm), nnx.tensor(lm_targ)).item()), expected,
                               rtol=1e-5)


def test_cross_entropy_flat_gradient_and_options_against_torch(rng):
    torch = pytest.importorskip("torch")
    scores = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    targ = rng.integers(0, 3, size=(2, 4, 5))
    targ[0, 0, :2] = -100
    weight = rng.uniform(0.5, 2, 3).astype(np.float32)
    x = nnx.tensor(scores, requires_grad=True)
    loss = CrossEntropyLossFlat(weight=weight, axis=1, label_smoothing=0.1)(x, nnx.tensor(targ))
    loss.backward()
    tx = torch.tensor(scores, requires_grad=True)
    flat = tx.transpose(1, -1).contiguous().view(-1, 3)  # fastai's BaseLoss on the transposed input
    tloss = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight), label_smoothing=0.1)(
        flat, torch.tensor(targ).transpose(1, -1).contiguous().view(-1))
    tloss.backward()
    np.testing.assert_allclose(float(loss.item()), tloss.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_bce_with_logits_flat(rng):
    logits = rng.normal(size=(4, 3)).astype(np.float32)
    targ = rng.integers(0, 2, size=(4, 3))
    loss = BCEWithLogitsLossFlat()
    expected = np.mean(np.maximum(logits, 0) - logits * targ + np.log1p(np.exp(-np.abs(logits))))
    np.testing.assert_allclose(float(loss(nnx.tensor(logits), nnx.tensor(targ)).item()), expected, rtol=1e-5)
    np.testing.assert_allclose(loss.activation(nnx.tensor(logits)).numpy(), 1 / (1 + np.exp(-logits)), rtol=1e-6)
    np.testing.assert_array_equal(loss.decodes(np.array([0.2, 0.7])), [False, True])
    assert BCEWithLogitsLossFlat(pos_weight=np.ones(3, np.float32)).flatten is False
    with pytest.raises(ValueError, match="flatten"):
        BCEWithLogitsLossFlat(pos_weight=np.ones(3), flatten=True)
    torch = pytest.importorskip("torch")
    chw = rng.normal(size=(2, 3, 4)).astype(np.float32)
    ctarg = rng.integers(0, 2, size=(2, 3, 4))
    ours = BCEWithLogitsLossFlat(axis=1)(nnx.tensor(chw), nnx.tensor(ctarg))
    theirs = torch.nn.BCEWithLogitsLoss()(torch.tensor(chw).transpose(1, -1).reshape(-1),
                                          torch.tensor(ctarg).transpose(1, -1).reshape(-1).float())
    np.testing.assert_allclose(float(ours.item()), theirs.item(), rtol=1e-5)


def test_text_learner_reexports_the_moved_loss():
    from nnx.text import CrossEntropyLossFlat as from_text
    from nnx.text.learner import CrossEntropyLossFlat as from_learner
    assert from_text is CrossEntropyLossFlat and from_learner is CrossEntropyLossFlat
    with pytest.raises(ValueError, match="axis 3"):
        CrossEntropyLossFlat(axis=3)(nnx.zeros(2, 3), nnx.tensor(np.array([0, 1])))


# ---- metrics --------------------------------------------------------------------------------------------------

def test_foreground_acc_and_dice_against_numpy(rng):
    scores = rng.normal(size=(4, 3, 6, 5)).astype(np.float32)
    targ = rng.integers(0, 3, size=(4, 6, 5))
    pred = scores.argmax(1)
    keep = targ != 0
    assert foreground_acc(nnx.tensor(scores), nnx.tensor(targ)) == pytest.approx(np.mean(pred[keep] == targ[keep]))
    assert foreground_acc(scores, targ[:, None], bkg_idx=2) == pytest.approx(np.mean(pred[targ != 2] ==
                                                                                     targ[targ != 2]))
    binary = rng.integers(0, 2, size=(4, 6, 5))
    two = scores[:, :2]
    p = two.argmax(1)
    assert dice(two, binary) == pytest.approx(2 * np.sum(p * binary) / np.sum(p + binary))
    assert dice(two, binary, iou=True) == pytest.approx(np.sum(p * binary) / (np.sum(p | binary) + 1e-8))
    assert dice(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2), np.int64)) == 1.0  # both empty


def test_dice_metrics_accumulate_over_the_epoch(rng):
    batches = [(rng.normal(size=(n, 3, 4, 4)).astype(np.float32), rng.integers(0, 3, size=(n, 4, 4)))
               for n in (3, 1, 2)]
    scores, targs = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    pred = scores.argmax(1)
    binary = Dice()
    multi = DiceMulti()
    for s, t in batches:
        binary.accumulate(nnx.tensor(s[:, :2]), nnx.tensor(np.minimum(t, 1)))
        multi.accumulate(s, t)
    p2, t2 = scores[:, :2].argmax(1), np.minimum(targs, 1)
    assert binary.value == pytest.approx(2 * np.sum(p2 * t2) / np.sum(p2 + t2))
    per_class = [2 * np.sum((pred == c) & (targs == c)) / (np.sum(pred == c) + np.sum(targs == c)) for c in range(3)]
    assert multi.value == pytest.approx(np.mean(per_class))
    assert isinstance(as_metric(dice), Dice) and as_metric(dice).name == "dice"
    binary.reset()
    assert np.isnan(binary.value)
    multi.reset()
    multi.accumulate(np.array([[[[1.0]], [[0.0]], [[0.0]]]]), np.array([[[0]]]))  # classes 1, 2 absent: left out
    assert multi.value == 1.0


# ---- masks under augmentation ---------------------------------------------------------------------------------

def _scene_batch(n=6, size=16, seed=0):
    images, masks = scenes(n, size, seed=seed)
    return images.transpose(0, 3, 1, 2).astype(np.float32) / 255, masks


@pytest.mark.parametrize("pad_mode", ["reflection", "zeros", "border"])
def test_mask_follows_an_image_made_of_it(rng, pad_mode):
    _, masks = _scene_batch(seed=int(rng.integers(1 << 30)))
    tfms = A.aug_transforms(flip_vert=True, max_rotate=40, min_zoom=0.8, max_zoom=1.3, max_warp=0.3, p_affine=1.0,
                            max_lighting=0, mode="nearest", pad_mode=pad_mode, min_scale=0.6, size=12)
    seed = int(rng.integers(1 << 30))
    image, moved = A.augment_batch(masks[:, None].astype(np.float32), tfms, seed, mask=masks)
    assert moved.shape == (6, 12, 12) and moved.dtype == masks.dtype
    np.testing.assert_array_equal(image[:, 0], moved)
    again = A.augment_batch(masks[:, None].astype(np.float32), tfms, seed, mask=masks)[1]  # the seed reproduces
    np.testing.assert_array_equal(again, moved)
    assert set(np.unique(moved)) <= set(np.unique(masks))
    # CropPad pads the masks with the image's padding (zeros: background)
    padded = A.augment_batch(masks[:, None].astype(np.float32), [A.CropPad(20)], 0, mask=nnx.tensor(masks))[1]
    assert isinstance(padded, nnx.Tensor) and padded.shape == (6, 20, 20)
    np.testing.assert_array_equal(padded.numpy()[:, 2:18, 2:18], masks)
    assert not padded.numpy()[:, :2].any()


def test_mask_identity_flips_lighting_and_validation(rng):
    images, masks = _scene_batch(seed=int(rng.integers(1 << 30)))
    out, same = A.augment_batch(images, [A.Flip(p=0.0), A.Rotate(p=0.0), A.Brightness(p=1.0)], 1, mask=masks)
    np.testing.assert_array_equal(same, masks)  # identity geometry; lighting never touches the masks
    assert not np.array_equal(out, images)
    flip = A.Flip(p=1.0)
    _, once = A.augment_batch(images, [flip], 0, mask=masks)
    np.testing.assert_array_equal(once, masks[:, :, ::-1])
    np.testing.assert_array_equal(A.augment_batch(images, [flip], 0, mask=once)[1], masks)  # an involution
    for k in range(8):
        dihedral = [A.Dihedral(p=1.0, draw=[k] * 6)]
        image, moved = A.augment_batch(masks[:, None].astype(np.float32), dihedral, 0, mask=masks)
        np.testing.assert_array_equal(image[:, 0], moved)
        if k in (1, 2, 4):  # the horizontal and vertical flips and their product: involutions
            np.testing.assert_array_equal(A.augment_batch(images, dihedral * 2, 0, mask=masks)[1], masks)
    valid_x, valid_m = A.augment_batch(images, A.aug_transforms(), 0, split_idx=1, mask=masks)
    np.testing.assert_array_equal(valid_x, images)
    np.testing.assert_array_equal(valid_m, masks)
    with pytest.raises(ValueError, match="mask must be integer"):
        A.augment_batch(images, [flip], 0, mask=masks[:, :4])
    with pytest.raises(ValueError, match="mask must be integer"):
        A.augment_batch(images, [flip], 0, mask=masks.astype(np.float32))


# ---- scenes and loaders ---------------------------------------------------------------------------------------

def test_scenes_are_reproducible_and_labelled():
    images, masks = scenes(20, 24, seed=3)
    again, masks_again = scenes(20, 24, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, masks_again)
    assert images.shape == (20, 24, 24, 3) and images.dtype == np.uint8 and masks.shape == (20, 24, 24)
    assert set(np.unique(masks)) == set(range(len(SCENE_CODES)))
    assert all(masks[i].any() for i in range(20))  # every scene holds a shape
    # shapes are brighter than the background they cover
    assert images[masks > 0].mean() > images[masks == 0].mean() + 60
    _, two = scenes(10, 16, seed=0, classes=("square", "cross"))
    assert set(np.unique(two)) <= {0, 2, 4}
    with pytest.raises(ValueError, match="classes"):
        scenes(2, classes=("hexagon",))


def test_segmentation_dataloaders(rng):
    images, masks = scenes(30, 16, seed=int(rng.integers(1 << 30)))
    tfms = A.aug_transforms(flip_vert=True, max_lighting=0.3)
    dls = SegmentationDataLoaders.from_arrays(images, masks, SCENE_CODES, valid_pct=0.2, seed=1, bs=8,
                                              batch_tfms=tfms)
    assert dls.codes == dls.vocab == list(SCENE_CODES) and dls.c == 5
    assert isinstance(dls.loss_func, CrossEntropyLossFlat) and dls.loss_func.axis == 1
    xb, yb = dls.one_batch()
    assert xb.shape == (8, 3, 16, 16) and xb.dtype == np.float32 and yb.shape == (8, 16, 16) and yb.dtype == np.int64
    assert abs(float(xb.numpy().mean())) < 0.5  # normalised images
    vx, vy = dls.one_batch(train=False)
    valid_idx = dls.valid.images  # the validation masks come through exactly, in order
    np.testing.assert_array_equal(vy.numpy(), dls.valid.labels[:len(vy)])
    np.testing.assert_allclose(dls.valid.denormalize(vx.numpy()), valid_idx[:len(vx)] / 255, atol=1e-5)
    # training batches: an augmented image and its mask stay aligned (the brightest pixels are the shapes)
    x = dls.train.denormalize(xb.numpy()).mean(1)
    assert x[yb.numpy() > 0].mean() > x[yb.numpy() == 0].mean() + 0.2
    test = dls.test_dl(images[:5], masks[:5])
    np.testing.assert_array_equal(next(iter(test))[1].numpy(), masks[:5])
    assert len(next(iter(dls.test_dl(images[:5])))) == 1
    plain = SegmentationDataLoaders.from_arrays(images, masks, bs=8)
    assert plain.codes == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="codes names only 2"):
        SegmentationDataLoaders.from_arrays(images, masks, ["a", "b"])
    with pytest.raises(ValueError, match="masks must be integer"):
        SegmentationDataLoaders.from_arrays(images, masks[:, :8])
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    fig = dls.show_batch(max_n=4)
    assert len(fig.axes) == 4 and all(len(ax.images) == 2 for ax in fig.axes)
    assert len(dls.show_batch(max_n=2, unique=True).axes) >= 2


def test_learner_predictions_use_the_loss_axis(rng):
    images, masks = scenes(12, 16, seed=int(rng.integers(1 << 30)))
    dls = SegmentationDataLoaders.from_arrays(images, masks, SCENE_CODES, seed=0, bs=4)
    learn = Learner(dls, nnx.nn.Conv2d(3, 5, 3, padding=1), metrics=[foreground_acc, DiceMulti()])
    probs, targs = learn.get_preds()
    assert probs.shape == (len(targs), 5, 16, 16) and targs.shape == (len(targs), 16, 16)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)  # the softmax over the class axis
    xb = next(iter(dls.test_dl(images[:3])))[0].numpy()
    assert learn.predict(xb).shape == (3, 16, 16)
