"""nnx.vision.augment: fastai's batch augmentation. Invariants (identity parameters give the input exactly, flips
are involutions, the dihedral symmetries move whole pixels, the same seed gives the same batch, validation batches
come back untouched, sizes), the composed grid against grid_sample over the transforms' own matrices, and the
lighting maps against their logit-space formulas."""
import math

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from nnx.vision import augment as A


def _batch(rng, shape=(6, 3, 8, 10), dtype=np.float32):
    return rng.random(shape).astype(dtype)


def test_aug_transforms_defaults_as_fastai():
    tfms = A.aug_transforms()
    assert [type(t).__name__ for t in tfms] == ["Flip", "Warp", "Rotate", "Zoom", "Brightness", "Contrast"]
    flip, warp, rotate, zoom, brightness, contrast = tfms
    assert flip.p == 0.5 and warp.magnitude == 0.2 and warp.p == 0.75 and rotate.max_deg == 10.0
    assert (zoom.min_zoom, zoom.max_zoom, zoom.p) == (1.0, 1.1, 0.75)
    assert brightness.max_lighting == contrast.max_lighting == 0.2 and brightness.p == contrast.p == 0.75
    assert all(t.pad_mode == "reflection" and t.align_corners and t.mode == "bilinear" for t in tfms[:4])
    names = [type(t).__name__ for t in A.aug_transforms(flip_vert=True, max_warp=0, max_zoom=1.0, max_lighting=0,
                                                        min_scale=0.5, mult=2.0)]
    assert names == ["Dihedral", "Rotate", "RandomResizedCropGPU"]
    assert A.aug_transforms(mult=2.0)[2].max_deg == 20.0
    extra = A.Rotate(max_deg=5, p=0.5)
    assert A.aug_transforms(xtra_tfms=[extra])[-1] is extra and "max_deg=5.0" in repr(extra)


def test_identity_parameters_give_the_input_exactly(rng):
    x = _batch(rng)
    identity = [A.Flip(p=0.0), A.Rotate(max_deg=10, p=0.0), A.Zoom(p=0.0), A.Warp(p=0.0), A.Dihedral(p=0.0),
                A.Brightness(p=0.0), A.Contrast(p=0.0), A.Rotate(max_deg=10, p=1.0, draw=0.0),
                A.Zoom(p=1.0, draw=1.0), A.Warp(p=1.0, draw_x=0.0, draw_y=0.0)]
    out = A.augment_batch(x, identity, rng=0)
    assert out.dtype == x.dtype and np.array_equal(out, x)
    t = nnx.tensor(x)
    assert isinstance(A.augment_batch(t, identity, 0), nnx.Tensor)


def test_images_with_identity_parameters_are_copied_exactly(rng):
    x = _batch(rng)
    degrees = [0.0, 7.0, 0.0, -3.0, 0.0, 2.0]
    out = A.augment_batch(x, [A.Rotate(p=1.0, draw=degrees), A.Brightness(p=1.0, draw=[0.5, 0.5, 0.6, 0.5, 0.5, 0.5])],
                          0)
    for i, deg in enumerate(degrees):
        assert np.array_equal(out[i], x[i]) == (deg == 0.0 and i != 2), i


def test_zero_rotation_through_grid_sample_reproduces_pixels(rng):
    # The sampling itself (not only the skipped identity) lands on the pixel centres with align_corners=True.
    x = _batch(rng, dtype=np.float64)
    theta = nnx.tensor(np.broadcast_to(np.array([[1.0, 0, 0], [0, 1, 0]]), (6, 2, 3)).copy())
    grid = F.affine_grid(theta, x.shape, align_corners=True)
    out = F.grid_sample(nnx.tensor(x), grid, "bilinear", "reflection", align_corners=True).numpy()
    np.testing.assert_allclose(out, x, rtol=0, atol=1e-14)


def test_horizontal_flip_twice_is_the_identity(rng):
    x = _batch(rng)
    flip = [A.Flip(p=1.0)]
    once = A.augment_batch(x, flip, 1)
    assert np.array_equal(once, x[..., ::-1])
    assert np.array_equal(A.augment_batch(once, flip, 2), x)
    assert np.array_equal(A.augment_batch(x, [A.Flip(p=1.0), A.Flip(p=1.0)], 3), x)


@pytest.mark.parametrize("k", range(8))
def test_dihedral_moves_whole_pixels_as_the_grid_would(rng, k):
    x = _batch(rng, (3, 2, 6, 6), np.float64)
    tfm = A.Dihedral(p=1.0, draw=k)
    out = A.augment_batch(x, [tfm], 0)
    theta = nnx.tensor(tfm.matrix(3, np.random.default_rng(0))[:, :2].copy())
    grid = F.affine_grid(theta, x.shape, align_corners=True)
    sampled = F.grid_sample(nnx.tensor(x), grid, "bilinear", "reflection", align_corners=True).numpy()
    np.testing.assert_allclose(out, sampled, atol=1e-12)
    assert np.array_equal(np.sort(out.reshape(3, -1)), np.sort(x.reshape(3, -1)))  # a permutation of pixels


def test_same_seed_same_output_and_validation_untouched(rng):
    x = _batch(rng)
    tfms = A.aug_transforms(max_zoom=1.3)
    first, second = A.augment_batch(x, tfms, 123), A.augment_batch(x, tfms, 123)
    assert np.array_equal(first, second) and not np.array_equal(first, x)
    assert not np.array_equal(first, A.augment_batch(x, tfms, 124))
    assert np.array_equal(A.augment_batch(x, tfms, 123, split_idx=1), x)
    a, b = A.BatchAugment(tfms, seed=7), A.BatchAugment(tfms, seed=7)
    assert np.array_equal(a(x), b(x)) and np.array_equal(a(x), b(x))
    assert np.array_equal(a(x, split_idx=1), x)
    out = A.augment_batch(nnx.tensor(x), tfms, np.random.default_rng(123))
    assert np.array_equal(out.numpy(), first)


def test_output_sizes(rng):
    x = _batch(rng)
    assert A.augment_batch(x, A.aug_transforms(size=(5, 7)), 0).shape == (6, 3, 5, 7)
    assert A.augment_batch(x, A.aug_transforms(size=4), 0, split_idx=1).shape == (6, 3, 4, 4)
    cropped = A.augment_batch(x, A.aug_transforms(min_scale=0.35, size=7), 0)
    assert cropped.shape == (6, 3, 7, 7) and np.isfinite(cropped).all()
    assert A.augment_batch(x[:0], A.aug_transforms(), 0).shape == (0, 3, 8, 10)
    assert A.augment_batch(x, [A.RandomResizedCropGPU(min_scale=0.3)], 0).shape == x.shape
    # validation: the centre crop of the whole image at valid_scale 1, no resize: untouched
    assert np.array_equal(A.augment_batch(x, [A.RandomResizedCropGPU(ratio=(0.5, 2))], 0, split_idx=1), x)


@pytest.mark.parametrize("pad_mode", ["zeros", "border", "reflection"])
def test_crop_pad_keeps_pixels_and_fills_with_pad_mode(rng, pad_mode):
    x = _batch(rng, (2, 1, 4, 5), np.float64)
    out = A.augment_batch(x, [A.CropPad((8, 9), pad_mode=pad_mode, mode="nearest")], 0, split_idx=1)
    assert out.shape == (2, 1, 8, 9)
    np.testing.assert_array_equal(out[:, :, 2:6, 2:7], x)
    numpy_mode = {"zeros": "constant", "border": "edge", "reflection": "reflect"}[pad_mode]
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode=numpy_mode))
    crop = A.augment_batch(x, [A.CropPad(2, mode="nearest")], 0)
    np.testing.assert_array_equal(crop, x[:, :, 1:3, 1:3])


def test_affine_transforms_compose_into_one_grid(rng):
    # Rotate then Zoom at a non-square size: one grid from fastai's aspect-corrected product of the matrices.
    x = _batch(rng, (4, 2, 6, 9), np.float64)
    rotate, zoom = A.Rotate(max_deg=30, p=1.0, draw=[10.0, -20.0, 5.0, 0.0]), A.Zoom(p=1.0, draw=1.3, draw_x=0.2,
                                                                                     draw_y=0.9)
    out = A.augment_batch(x, [rotate, zoom], 0)
    gen = np.random.default_rng(0)
    m = rotate.matrix(4, gen) @ zoom.matrix(4, gen)
    m[:, 0, 1] *= 6 / 9
    m[:, 1, 0] *= 9 / 6
    grid = F.affine_grid(nnx.tensor(m[:, :2].copy()), x.shape, align_corners=True)
    expected = F.grid_sample(nnx.tensor(x), grid, "bilinear", "reflection", align_corners=True).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-12)
    theta = math.radians(10.0)
    assert np.allclose(rotate.matrix(1, gen)[0, :2, :2], [[math.cos(theta), math.sin(theta)],
                                                          [-math.sin(theta), math.cos(theta)]])


def test_warp_moves_the_corners_as_fastai(rng):
    warp = A.Warp(p=1.0, draw_x=0.1, draw_y=-0.15)
    h = warp.warp(1, np.random.default_rng(0))[0]
    corners = np.array([[-1.0, -1, 1], [-1, 1, 1], [1, -1, 1], [1, 1, 1]]) @ h.T
    moved = corners[:, :2] / corners[:, 2:]
    x_t, y_t = 0.1, -0.15
    np.testing.assert_allclose(moved, [[-1 - y_t, -1 - x_t], [-1 + y_t, 1 + x_t], [1 + y_t, -1 + x_t],
                                       [1 - y_t, 1 - x_t]], atol=1e-12)
    x = _batch(rng)
    out = A.augment_batch(x, [A.Warp(magnitude=0.3, p=1.0)], 0)
    assert out.shape == x.shape and np.isfinite(out).all() and not np.array_equal(out, x)


def test_lighting_in_logit_space(rng):
    x = _batch(rng, dtype=np.float64)
    out = A.augment_batch(x, [A.Brightness(p=1.0, draw=0.6), A.Contrast(p=1.0, draw=1.5)], 0)
    logit = np.log(np.clip(x, 1e-7, 1 - 1e-7) / (1 - np.clip(x, 1e-7, 1 - 1e-7)))
    expected = 1 / (1 + np.exp(-(logit + math.log(0.6 / 0.4)) * 1.5))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    dark = A.augment_batch(x, [A.Brightness(p=1.0, draw=0.3)], 0)
    assert (dark <= x + 1e-12).all()


def test_padding_modes_and_errors(rng):
    x = _batch(rng)
    for pad_mode in ("zeros", "border", "reflection"):
        out = A.augment_batch(x, [A.Rotate(max_deg=40, p=1.0, pad_mode=pad_mode)], 0)
        assert out.shape == x.shape and np.isfinite(out).all()
    with pytest.raises(ValueError, match="pad_mode"):
        A.Rotate(pad_mode="wrap")
    with pytest.raises(ValueError, match="p must be"):
        A.Flip(p=1.5)
    with pytest.raises(ValueError, match="N, C, H, W"):
        A.augment_batch(x[0], [A.Flip()], 0)
    with pytest.raises(ValueError, match="N, C, H, W"):
        A.augment_batch(x.astype(np.int64), [A.Flip()], 0)


def test_a_device_batch_gives_the_cpu_result(rng, device):
    # The grid is built on the host and uploaded; the sampling, the exact dihedral copies and the lighting run on
    # the batch's device.
    x = _batch(rng, (5, 3, 6, 6))
    tfms = A.aug_transforms(flip_vert=True, max_zoom=1.2) + [A.Dihedral(p=1.0, draw=[0, 1, 3, 5, 7])]
    expected = A.augment_batch(x, tfms, 11)
    out = A.augment_batch(nnx.tensor(x).to(device), tfms, 11)
    assert out.device.type == device
    np.testing.assert_allclose(out.cpu().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(A.augment_batch(nnx.tensor(x).to(device), tfms, 11, split_idx=1).cpu().numpy(), x)
