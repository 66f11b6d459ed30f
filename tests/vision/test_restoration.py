"""nnx.vision.restoration: the degradations, the Gram matrix and FeatureLoss against NumPy references, and the
restoration demo end to end (the restored pictures nearer the clean ones than the degraded input)."""
import io

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.vision.restoration import (
    FeatureLoss,
    LossMetrics,
    add_noise,
    crappify,
    downscale_upscale,
    gram_matrix,
    jpeg_blocking,
    jpeg_table,
)


def _smooth_images(rng, n=6, size=16, channels=None):
    """Random smooth uint8 pictures (noise blurred by a 5x5 box): closer to photographs than white noise."""
    shape = (n, size + 4, size + 4) + ((channels,) if channels else ())
    noise = rng.random(shape)
    smooth = sum(noise[:, a:a + size, b:b + size] for a in range(5) for b in range(5)) / 25
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.rint(smooth * 255).astype(np.uint8)


DEGRADATIONS = {
    "noise": lambda images, seed: add_noise(images, 0.1, seed),
    "downscale": lambda images, seed: downscale_upscale(images, 2),
    "jpeg": lambda images, seed: jpeg_blocking(images, 20),
    "crappify": lambda images, seed: crappify(images, seed),
}


@pytest.mark.parametrize("name", sorted(DEGRADATIONS))
@pytest.mark.parametrize("layout", ["grey uint8", "rgb float32"])
def test_degradations_keep_shape_and_dtype_are_seeded_and_degrade(name, layout):
    rng = np.random.default_rng()
    images = _smooth_images(rng, channels=None if layout == "grey uint8" else 3)
    if layout == "rgb float32":
        images = (images / 255).astype(np.float32)
    degrade = DEGRADATIONS[name]
    out = degrade(images, 7)
    assert out.shape == images.shape and out.dtype == images.dtype
    np.testing.assert_array_equal(out, degrade(images, 7))
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    error = np.mean((out / scale - images / scale) ** 2)
    assert error > 1e-4, f"{name} left the images nearly unchanged (MSE {error})"
    assert out.min() >= 0 and out.max() <= scale
    if name in ("noise", "crappify"):
        assert not np.array_equal(out, degrade(images, 8))


def test_add_noise_has_the_asked_standard_deviation():
    images = np.full((4, 32, 32), 0.5)
    noise = add_noise(images, 0.1, np.random.default_rng()) - images
    assert abs(noise.std() - 0.1) < 0.005 and abs(noise.mean()) < 0.005


def test_downscale_upscale_nearest_is_block_means_repeated():
    rng = np.random.default_rng()
    images = rng.random((3, 12, 8, 3))
    blocks = images.reshape(3, 6, 2, 4, 2, 3).mean(axis=(2, 4))
    expected = blocks.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(downscale_upscale(images, 2, mode="nearest"), expected, atol=1e-6)
    constant = np.full((2, 10, 10), 0.25)  # (bilinear: a constant stays constant, odd sizes included)
    np.testing.assert_allclose(downscale_upscale(constant, 3), constant, atol=1e-6)


def _jpeg_reference(image, quality):
    """One grey image (0-255) through JPEG's 8x8 DCT quantisation, in float64 with the DCT written out as sums;
    not rounded to integers."""
    h, w = image.shape
    padded = np.pad(image.astype(np.float64) - 128, ((0, -h % 8), (0, -w % 8)), mode="edge")
    n = np.arange(8)
    c = np.where(n == 0, np.sqrt(1 / 8), np.sqrt(2 / 8))
    basis = c[:, None] * np.cos((2 * n[None, :] + 1) * n[:, None] * np.pi / 16)  # basis[u, x]
    table = jpeg_table(quality)
    out = np.empty_like(padded)
    for by in range(0, padded.shape[0], 8):
        for bx in range(0, padded.shape[1], 8):
            block = padded[by:by + 8, bx:bx + 8]
            coefficients = np.einsum("ux,vy,xy->uv", basis, basis, block)
            quantised = np.round(coefficients / table) * table
            out[by:by + 8, bx:bx + 8] = np.einsum("ux,vy,uv->xy", basis, basis, quantised)
    return np.clip(out[:h, :w] + 128, 0, 255)


def test_jpeg_blocking_against_a_reference_and_per_image_qualities():
    rng = np.random.default_rng()
    images = _smooth_images(rng, n=3, size=13)  # (13: edge padding to 16, cropped back)
    # Float images off the 1/255 grid: no coefficient lands exactly on a rounding tie (uint8 blocks can: their DC
    # term is a multiple of 1/8, and which way a tie goes depends on the order of the sums).
    floats = np.clip(images / 255 + rng.uniform(-1e-3, 1e-3, images.shape), 0, 1)
    qualities = [10, 45, 90]
    out = jpeg_blocking(floats, qualities)
    for image, result, quality in zip(floats, out, qualities):
        np.testing.assert_allclose(result * 255, _jpeg_reference(image * 255, quality), atol=1e-8)
    np.testing.assert_array_equal(out[1:2], jpeg_blocking(floats[1:2], 45))
    rounded = jpeg_blocking(images, qualities)  # (uint8: the same up to ties and the rounding to grey levels)
    for image, result, quality in zip(images, rounded, qualities):
        assert np.max(np.abs(result - np.rint(_jpeg_reference(image, quality)))) <= 1
    assert np.all(jpeg_table(100) == 1) and jpeg_table(50)[0, 0] == 16 and jpeg_table(10)[0, 0] == 80


@pytest.mark.parametrize("quality", [10, 30, 70])
def test_jpeg_blocking_is_close_to_pillows_encoder(quality):
    Image = pytest.importorskip("PIL.Image")
    image = _smooth_images(np.random.default_rng(), n=1, size=32)[0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    pillow = np.asarray(Image.open(buffer)).astype(np.int64)
    ours = jpeg_blocking(image[None], quality)[0].astype(np.int64)
    # Pillow's libjpeg uses integer DCTs: the same quantisation, but a coefficient near a rounding boundary may
    # land one step away (a whole block then differs by a few grey levels): close to Pillow, and as lossy.
    pillow_error, our_error = np.mean(np.abs(pillow - image)), np.mean(np.abs(ours - image))
    assert pillow_error > 1.0  # (the encoder did lose something)
    assert np.mean(np.abs(pillow - ours)) < 0.3 * pillow_error
    assert abs(our_error - pillow_error) < 0.15 * pillow_error


def test_degradations_reject_bad_arguments():
    images = np.zeros((2, 8, 8), np.uint8)
    with pytest.raises(ValueError, match="images must be a batch"):
        add_noise(np.zeros((8, 8)), 0.1)
    with pytest.raises(TypeError, match="images must be uint8"):
        add_noise(np.zeros((2, 8, 8), np.int32), 0.1)
    with pytest.raises(ValueError, match="sigma"):
        add_noise(images, -1.0)
    with pytest.raises(ValueError, match="factor"):
        downscale_upscale(images, 0)
    with pytest.raises(ValueError, match="mode"):
        downscale_upscale(images, 2, mode="bicubic")
    with pytest.raises(ValueError, match="quality"):
        jpeg_blocking(images, 0)
    with pytest.raises(ValueError, match="quality"):
        crappify(images, quality=(70, 10))


def test_gram_matrix_against_numpy_and_its_gradient():
    rng = np.random.default_rng()
    values = rng.standard_normal((2, 3, 5, 4))
    x = nnx.tensor(values, requires_grad=True)
    gram = gram_matrix(x)
    flat = values.reshape(2, 3, 20)
    np.testing.assert_allclose(gram.numpy(), np.einsum("ncp,ndp->ncd", flat, flat) / 60, rtol=1e-12)
    gram.sum().backward()  # d sum(G) / dx[n, c, p] = 2 sum_d x[n, d, p] / (C H W)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(2 * values.sum(1, keepdims=True) / 60, values.shape),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="'x' must be 4-D"):
        gram_matrix(nnx.tensor(values[0]))


def _conv_reference(x, weight, bias, stride):
    """NumPy float64 Conv2d with padding 1 (3x3 kernels)."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out_h, out_w = (h - 1) // stride + 1, (w - 1) // stride + 1
    out = np.zeros((n, weight.shape[0], out_h, out_w))
    for i in range(3):
        for j in range(3):
            patch = padded[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
            out += np.einsum("nchw,oc->nohw", patch, weight[:, :, i, j])
    return out + bias[None, :, None, None]


def _tiny_encoder():
    encoder = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, stride=2, padding=1),
                            nn.ReLU()).double().eval()
    encoder.requires_grad_(False)
    return encoder


def test_feature_loss_against_a_numpy_reference():
    rng = np.random.default_rng()
    encoder = _tiny_encoder()
    weights = {k: v.numpy() for k, v in encoder.state_dict().items()}
    pred_values, target_values = rng.random((2, 1, 8, 6)), rng.random((2, 1, 8, 6))
    feat_loss = FeatureLoss(encoder, [1, 3], [5, 15])
    pred = nnx.tensor(pred_values, requires_grad=True)
    total = feat_loss(pred, nnx.tensor(target_values))

    def features(x):
        first = np.maximum(_conv_reference(x, weights["0.weight"], weights["0.bias"], 1), 0)
        return [first, np.maximum(_conv_reference(first, weights["2.weight"], weights["2.bias"], 2), 0)]

    def gram(f):
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w)
        return flat @ flat.transpose(0, 2, 1) / (c * h * w)

    f_in, f_out = features(pred_values), features(target_values)
    expected = [np.mean(np.abs(pred_values - target_values))]
    expected += [np.mean(np.abs(a - b)) * w for a, b, w in zip(f_in, f_out, [5, 15])]
    expected += [np.mean(np.abs(gram(a) - gram(b))) * w ** 2 * 5e3 for a, b, w in zip(f_in, f_out, [5, 15])]
    np.testing.assert_allclose([float(v.item()) for v in feat_loss.feat_losses], expected, rtol=1e-10)
    np.testing.assert_allclose(float(total.item()), sum(expected), rtol=1e-10)
    assert feat_loss.metric_names == ["pixel", "feat_0", "feat_1", "gram_0", "gram_1"]
    assert list(feat_loss.metrics) == feat_loss.metric_names
    total.backward()
    assert pred.grad is not None and np.all(np.isfinite(pred.grad.numpy()))
    assert all(p.grad is None for p in encoder.parameters())  # (the encoder is frozen)
    feat_loss.remove()


def test_feature_loss_remove_takes_the_hooks_off():
    encoder = _tiny_encoder()
    feat_loss = FeatureLoss(encoder, [1, 3], [1, 1])
    assert all(len(encoder[i]._forward_hooks) == 1 for i in (1, 3))
    x = nnx.tensor(np.random.default_rng().random((1, 1, 8, 8)))
    feat_loss(x, x)
    stored = feat_loss.hooks.stored
    feat_loss.remove()
    assert all(len(encoder[i]._forward_hooks) == 0 for i in (1, 3))
    encoder(nnx.tensor(np.random.default_rng().random((1, 1, 8, 8))))
    assert all(a is b for a, b in zip(feat_loss.hooks.stored, stored))  # (nothing stored after remove)
    with pytest.raises(ValueError, match="one weight per layer id"):
        FeatureLoss(encoder, [1, 3], [1])


def test_loss_metrics_average_the_recorded_parts():
    encoder = _tiny_encoder()
    feat_loss = FeatureLoss(encoder, [1], [2])
    metrics = LossMetrics(feat_loss)
    assert [m.name for m in metrics] == ["pixel", "feat_0", "gram_0"]
    rng = np.random.default_rng()
    pixel = []
    for size in (3, 1):
        pred, targ = nnx.tensor(rng.random((size, 1, 4, 4))), nnx.tensor(rng.random((size, 1, 4, 4)))
        feat_loss(pred, targ)
        pixel.append(np.mean(np.abs(pred.numpy() - targ.numpy())))
        for metric in metrics:
            metric.accumulate(pred, targ)
    np.testing.assert_allclose(metrics[0].value, (3 * pixel[0] + pixel[1]) / 4, rtol=1e-10)
    feat_loss.remove()


@pytest.mark.slow
def test_restoration_lowers_the_pixel_error():
    from nnx.vision.restoration_demo import restore
    result = restore(size=16, n_train=256, epochs=2, pretrain_epochs=1, seed=0)
    assert result["mse_restored"] < 0.8 * result["mse_degraded"], result


@pytest.mark.slow
def test_demo_writes_its_pictures(tmp_path, capsys):
    pytest.importorskip("PIL.Image")
    from nnx.vision.restoration_demo import main
    assert main(["--size", "16", "--n-train", "64", "--epochs", "1", "--pretrain-epochs", "1", "--quiet",
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "degraded MSE" in printed and "restored MSE" in printed
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["restore_before_after.png", "restore_clean.png", "restore_degraded.png", "restore_restored.png"]
    assert all(str(tmp_path / name) in printed for name in names)


def test_feature_loss_value_and_input_gradient_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng()
    encoder = _tiny_encoder()
    torch_encoder = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), torch.nn.ReLU()).double()
    torch_encoder.load_state_dict({k: torch.tensor(v.numpy()) for k, v in encoder.state_dict().items()})
    torch_encoder.requires_grad_(False)
    pred_values, target_values = rng.random((2, 1, 8, 6)), rng.random((2, 1, 8, 6))
    feat_loss = FeatureLoss(encoder, [1, 3], [5, 15])
    pred = nnx.tensor(pred_values, requires_grad=True)
    loss = feat_loss(pred, nnx.tensor(target_values))
    loss.backward()
    feat_loss.remove()

    stored = {}
    for i in (1, 3):
        torch_encoder[i].register_forward_hook(lambda module, args, out, i=i: stored.__setitem__(i, out))

    def gram(f):
        n, c, h, w = f.shape
        f = f.reshape(n, c, h * w)
        return f @ f.transpose(1, 2) / (c * h * w)

    torch_pred, torch_target = torch.tensor(pred_values, requires_grad=True), torch.tensor(target_values)
    torch_encoder(torch_target)
    out_feat = [stored[1].clone(), stored[3].clone()]
    torch_encoder(torch_pred)
    in_feat = [stored[1], stored[3]]
    l1 = torch.nn.functional.l1_loss
    torch_loss = l1(torch_pred, torch_target) + sum(l1(a, b) * w for a, b, w in zip(in_feat, out_feat, [5, 15])) \
        + sum(l1(gram(a), gram(b)) * w ** 2 * 5e3 for a, b, w in zip(in_feat, out_feat, [5, 15]))
    torch_loss.backward()
    np.testing.assert_allclose(float(loss.item()), torch_loss.item(), rtol=1e-12)
    np.testing.assert_allclose(pred.grad.numpy(), torch_pred.grad.numpy(), rtol=1e-10, atol=1e-14)
