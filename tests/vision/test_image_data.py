"""nnx.vision.data: ImageDataLoaders from arrays and from folders of image files — layouts, scaling, the split,
the vocab, normalisation with given or computed statistics, test_dl — and the errors."""
import os

import numpy as np
import pytest

from nnx.vision import data


def random_images(n, shape, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, (n, *shape)).astype(np.uint8)
    return rng.random((n, *shape)).astype(dtype)


def all_batches(loader):
    xs, ys = zip(*((xb.numpy(), yb.numpy()) for xb, yb in loader))
    return np.concatenate(xs), np.concatenate(ys)


def test_channels_last_uint8_become_scaled_nchw_float32_in_order():
    images = random_images(10, (5, 6, 3))
    dls = data.ImageDataLoaders.from_arrays(images, np.arange(10) % 2, valid_idx=[1, 4, 7], normalize=False, bs=4)
    x, y = all_batches(dls.valid)
    assert x.dtype == np.float32 and x.shape == (3, 3, 5, 6)
    np.testing.assert_array_equal(x, images[[1, 4, 7]].transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255))
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert dls.n_channels == 3 and dls.c == 2 and dls.stats is None
    x_train, _ = all_batches(dls.train)
    assert dls.train.n == 7 and x_train.shape == (4, 3, 5, 6)  # shuffled, the last partial batch dropped (fastai's)


def test_grayscale_float_images_and_string_labels():
    images = random_images(12, (4, 4), dtype=np.float64)
    labels = np.array(["dog", "cat", "emu"] * 4)
    dls = data.ImageDataLoaders.from_arrays(images, labels, valid_pct=0.25, seed=3, normalize=False)
    assert dls.vocab == ["cat", "dog", "emu"] and dls.n_channels == 1
    assert dls.train.n == 9 and dls.valid.n == 3
    x, y = all_batches(dls.valid)
    rows = [i for i in range(12) if any(np.array_equal(images[i].astype(np.float32), v[0]) for v in x)]
    assert len(rows) == 3 and x.dtype == np.float32
    np.testing.assert_array_equal(np.array(dls.vocab)[y], labels[rows])


def test_normalisation_with_computed_and_given_stats():
    images = random_images(40, (6, 6, 3), seed=1)
    dls = data.ImageDataLoaders.from_arrays(images, np.zeros(40, int), valid_pct=0.0, seed=0, bs=40)
    x, _ = all_batches(dls.train)
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1, rtol=1e-4)
    dls.set_stats(([0.5], [0.25]))
    x, _ = all_batches(dls.train)
    expected = (images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.25)
    np.testing.assert_allclose(np.sort(x.reshape(-1)), np.sort(expected.reshape(-1)), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="stats"):
        dls.set_stats(([0.5, 0.5], [0.2, 0.2]))
    with pytest.raises(ValueError, match="std > 0"):
        dls.set_stats(([0.5], [0.0]))


def test_training_loader_shuffles_reproducibly_from_the_seed():
    images = random_images(30, (3, 3))
    first = data.ImageDataLoaders.from_arrays(images, np.arange(30) % 3, seed=5, bs=7)
    second = data.ImageDataLoaders.from_arrays(images, np.arange(30) % 3, seed=5, bs=7)
    np.testing.assert_array_equal(all_batches(first.train)[0], all_batches(second.train)[0])
    kept = data.ImageDataLoaders.from_arrays(images, np.arange(30) % 3, seed=5, bs=7, drop_last=False)
    assert len(kept.train) == 4
    assert len(first.train) == 3  # 24 training images, batches of 7, the partial last one dropped


def test_test_dl_normalises_like_training():
    images = random_images(20, (4, 4, 3), seed=2)
    dls = data.ImageDataLoaders.from_arrays(images, np.arange(20) % 2, valid_pct=0.2, seed=0)
    (xb,) = next(iter(dls.test_dl(images[:3])))
    mean, std = (np.array(s, np.float32).reshape(1, -1, 1, 1) for s in dls.stats)
    expected = (images[:3].transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255) - mean) / std
    np.testing.assert_allclose(xb.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_bad_arrays_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="images"):
        data.ImageDataLoaders.from_arrays(np.zeros((4, 5)), np.zeros(4))
    with pytest.raises(ValueError, match="images"):
        data.ImageDataLoaders.from_arrays(np.zeros((4, 5, 5, 7)), np.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        data.ImageDataLoaders.from_arrays(np.zeros((4, 5, 5)), np.zeros(3))
    with pytest.raises(ValueError, match="vocab"):
        data.ImageDataLoaders.from_arrays(np.zeros((4, 5, 5)), np.array([0, 1, 2, 3]), vocab=[0, 1])
    with pytest.raises(TypeError, match="images"):
        data.ImageDataLoaders.from_arrays(np.zeros((4, 5, 5), dtype=complex), np.zeros(4))


def write_folder(root, images_by_class, image_module):
    for label, images in images_by_class.items():
        os.makedirs(os.path.join(root, label), exist_ok=True)
        for i, image in enumerate(images):
            image_module.fromarray(image).save(os.path.join(root, label, f"{i}.png"))


def test_from_folder_reads_class_folders_exactly(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    cats, dogs = random_images(3, (8, 9, 3), seed=1), random_images(2, (8, 9, 3), seed=2)
    write_folder(tmp_path / "train", {"cat": cats[:2], "dog": dogs[:1]}, Image)
    write_folder(tmp_path / "valid", {"cat": cats[2:], "dog": dogs[1:]}, Image)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    dls = data.ImageDataLoaders.from_folder(tmp_path, normalize=False, bs=2)
    assert dls.vocab == ["cat", "dog"] and dls.train.n == 3 and dls.valid.n == 2
    x, y = all_batches(dls.valid)
    expected = np.stack([cats[2], dogs[1]]).transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y, [0, 1])


def test_from_folder_splits_resizes_and_refuses_mixed_sizes(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    write_folder(tmp_path, {"a": random_images(5, (6, 6), seed=3), "b": random_images(5, (10, 7), seed=4)}, Image)
    with pytest.raises(ValueError, match="size="):
        data.ImageDataLoaders.from_folder(tmp_path)
    dls = data.ImageDataLoaders.from_folder(tmp_path, size=8, valid_pct=0.2, seed=0, normalize=False, bs=4)
    assert dls.train.n == 8 and dls.valid.n == 2 and dls.n_channels == 1
    x, _ = all_batches(dls.train)
    assert x.shape == (8, 1, 8, 8)
    with pytest.raises(ValueError, match="no image files"):
        data.ImageDataLoaders.from_folder(tmp_path / "a")


def test_batch_tfms_augment_training_batches_only_reproducibly():
    from nnx.vision.augment import aug_transforms
    images = random_images(24, (10, 10, 3), seed=6)

    def loaders():
        return data.ImageDataLoaders.from_arrays(images, np.arange(24) % 3, valid_pct=0.25, seed=2, bs=6,
                                                 batch_tfms=aug_transforms(p_affine=1.0, max_lighting=0.3))

    first, second, plain = loaders(), loaders(), data.ImageDataLoaders.from_arrays(
        images, np.arange(24) % 3, valid_pct=0.25, seed=2, bs=6)
    np.testing.assert_array_equal(all_batches(first.valid)[0], all_batches(plain.valid)[0])  # untouched
    augmented, raw = all_batches(first.train)[0], all_batches(plain.train)[0]
    assert augmented.shape == raw.shape and not np.allclose(augmented, raw)
    np.testing.assert_array_equal(augmented, all_batches(second.train)[0])  # the same seed, the same batches
