"""fastai's batch augmentation on whole NCHW batches: the coordinate transforms (Flip, Dihedral, Rotate, Zoom, Warp,
RandomResizedCropGPU, CropPad) each give a batch of per-image 3x3 matrices; they are composed into one homography
per image (crop boxes on the output side, the affine matrices with fastai's aspect correction, the perspective warp
on the source side), turned into one sampling grid and resampled with ONE F.grid_sample call (native kernels).
Then the lighting transforms (Brightness, Contrast, in logit space as fastai) as one composed elementwise map.

Randomness comes from a numpy Generator (a seed gives the same output); on a validation batch (split_idx=1) the
random parts are left out, as fastai's: the batch comes back untouched unless a size or crop asks for a resize.
Identity parameters give the input exactly: the sampling is skipped when every matrix is the identity at the
input's size, and an image whose own homography is one of the 8 dihedral symmetries (the identity, flips) is the
permuted input itself, as an image whose lighting is neutral is copied through unchanged. Lighting expects values
in [0, 1] (augment before normalising, as fastai does). Segmentation masks (N, H, W) of class indices given with the
batch take exactly the images' coordinate transform, sampled nearest (fastai's mode_mask) on the same grid with the
same padding, and never the lighting (fastai's TensorMask)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..ops._checks import host_data_on_device_of
from ..ops.grid_sample import PADDING_MODES, grid_sample
from ..tensor import Tensor
from ._augment_grid import _EYE, _exact_dihedral, _sampling_grid, _where_images

Draw = float | Sequence[float] | Callable[[int], Any] | None
SizeArg = int | tuple[int, int] | None


def _size(size: SizeArg) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"size must be a positive int or a (height, width) pair, got {size!r}")
    return int(pair[0]), int(pair[1])


def _draw_mask(n: int, rng: np.random.Generator, default: Callable[[int], np.ndarray], draw: Draw, p: float,
               neutral: float, batch: bool) -> np.ndarray:
    """fastai's _draw_mask: per-image values (from `draw` if given: a number, a per-image list or a callable of n;
    else default(n)), each replaced by `neutral` with probability 1 - p (with batch, one coin for the batch)."""
    if callable(draw):
        values = np.asarray(draw(n), np.float64).reshape(-1)
    elif draw is not None and np.ndim(draw):
        if len(draw) < n:
            raise ValueError(f"draw holds {len(draw)} values for a batch of {n} images")
        values = np.asarray(draw[:n], np.float64)
    elif draw is not None:
        values = np.full(n, float(draw))
    else:
        values = default(n)
    values = np.broadcast_to(values, (n,)).astype(np.float64)
    if p == 1.0:
        return values
    keep = np.full(n, rng.random() < p) if batch else rng.random(n) < p
    return np.where(keep, values, neutral)


def _uniform(rng: np.random.Generator, low: float, high: float, batch: bool) -> Callable[[int], np.ndarray]:
    """The default draw: U(low, high) per image, or one value for the whole batch."""
    return lambda n: np.full(n, rng.uniform(low, high)) if batch else rng.uniform(low, high, n)


def _affine(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, e: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(n, 3, 3) matrices [[a, b, c], [d, e, f], [0, 0, 1]] (fastai's affine_mat)."""
    n = len(a)
    m = np.zeros((n, 3, 3))
    m[:, 0], m[:, 1] = np.stack([a, b, c], -1), np.stack([d, e, f], -1)
    m[:, 2, 2] = 1.0
    return m


def _box(top: np.ndarray, left: np.ndarray, height: np.ndarray, width: np.ndarray, H: int, W: int,
         align_corners: bool) -> np.ndarray:
    """(n, 3, 3) maps from output coordinates to the box (top, left, height, width) of an (H, W) image, in pixels (the
    box may reach outside the image: padding), in grid_sample's normalised coordinates."""
    def axis(start, extent, size):
        if align_corners:  # the box's first and last pixel centres become -1 and 1
            span = max(size - 1, 1)
            return (extent - 1) / span, -1 + (2 * start + extent - 1) / span
        return extent / size, -1 + (2 * start + extent) / size  # its outer edges

    sx, tx = axis(np.asarray(left, float), np.asarray(width, float), W)
    sy, ty = axis(np.asarray(top, float), np.asarray(height, float), H)
    zero = np.zeros_like(sx)
    return _affine(sx, zero, tx, zero, sy, ty)


class RandTransform:
    """A batch transform applied with probability p per image (per batch with batch=True). split_idx 0: training
    batches only (None: every batch); order: fastai's (coordinate transforms 30, lighting 40)."""

    split_idx: int | None = 0
    order: int = 0

    def __init__(self, p: float = 1.0, batch: bool = False):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}(): p must be in [0, 1], got {p}")
        self.p, self.batch = float(p), bool(batch)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class AffineCoordTfm(RandTransform):
    """A coordinate transform: the matrix of each image (matrix), a perspective warp (warp) or a crop box and output
    size (crop); size, mode ('bilinear'/'nearest'), pad_mode ('reflection'/'zeros'/'border') and align_corners are
    the sampling's, as fastai's. Applied to every batch, as fastai's: a validation batch (split_idx 1) keeps the
    identity matrix and no warp, but is still resized to size."""

    split_idx = None
    order = 30

    def __init__(self, p: float = 1.0, size: SizeArg = None, mode: str = "bilinear", pad_mode: str = "reflection",
                 align_corners: bool = True, batch: bool = False):
        super().__init__(p, batch)
        if mode not in ("bilinear", "nearest"):
            raise ValueError(f"{type(self).__name__}(): mode must be 'bilinear' or 'nearest', got {mode!r}")
        if pad_mode not in PADDING_MODES:
            raise ValueError(f"{type(self).__name__}(): pad_mode must be 'reflection', 'zeros' or 'border', got "
                             f"{pad_mode!r}")
        self.size, self.mode, self.pad_mode, self.align_corners = _size(size), mode, pad_mode, bool(align_corners)

    def matrix(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """(n, 3, 3) affine matrices from output to source coordinates (before the aspect correction), or None."""
        return None

    def warp(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """(n, 3, 3) homographies applied to the source coordinates last, or None."""
        return None

    def crop(self, n: int, hw: tuple[int, int], rng: np.random.Generator,
             split_idx: int) -> tuple[np.ndarray, tuple[int, int]] | None:
        """(box matrices (n, 3, 3), output size) of a crop of images of size hw, or None."""
        return None


class Flip(AffineCoordTfm):
    """Horizontal flip of each image with probability p."""

    def __init__(self, p: float = 0.5, draw: Draw = None, size: SizeArg = None, mode: str = "bilinear",
                 pad_mode: str = "reflection", align_corners: bool = True, batch: bool = False):
        super().__init__(p, size, mode, pad_mode, align_corners, batch)
        self.draw = draw

    def matrix(self, n: int, rng: np.random.Generator) -> np.ndarray:
        flips = _draw_mask(n, rng, np.ones, self.draw, self.p, 0.0, self.batch)
        sign, zero = 1 - 2 * flips, np.zeros(n)
        return _affine(sign, zero, zero, zero, np.ones(n), zero)


class Dihedral(AffineCoordTfm):
    """One of the 8 dihedral symmetries (flips, quarter turns, transposes) per image, with probability p."""

    def __init__(self, p: float = 0.5, draw: Draw = None, size: SizeArg = None, mode: str = "bilinear",
                 pad_mode: str = "reflection", align_corners: bool = True, batch: bool = False):
        super().__init__(p, size, mode, pad_mode, align_corners, batch)
        self.draw = draw

    def matrix(self, n: int, rng: np.random.Generator) -> np.ndarray:
        def default(count):
            return np.full(count, rng.integers(0, 8)) if self.batch else rng.integers(0, 8, count).astype(float)

        k = _draw_mask(n, rng, default, self.draw, self.p, 0.0, self.batch).astype(np.int64)
        xs = np.array([1, -1, 1, -1, -1, 1, 1, -1.0])[k]
        ys = np.array([1, 1, -1, 1, -1, -1, 1, -1.0])[k]
        m0, m1 = np.array([1, 1, 1, 0, 1, 0, 0, 0.0])[k], np.array([0, 0, 0, 1, 0, 1, 1, 1.0])[k]
        zero = np.zeros(n)
        return _affine(xs * m0, xs * m1, zero, ys * m1, ys * m0, zero)


class Rotate(AffineCoordTfm):
    """Rotation by U(-max_deg, max_deg) degrees per image, with probability p."""

    def __init__(self, max_deg: float = 10.0, p: float = 0.5, draw: Draw = None, size: SizeArg = None,
                 mode: str = "bilinear", pad_mode: str = "reflection", align_corners: bool = True, batch: bool = False):
        super().__init__(p, size, mode, pad_mode, align_corners, batch)
        self.max_deg, self.draw = float(max_deg), draw

    def matrix(self, n: int, rng: np.random.Generator) -> np.ndarray:
        degrees = _draw_mask(n, rng, _uniform(rng, -self.max_deg, self.max_deg, self.batch), self.draw, self.p, 0.0,
                             self.batch)
        theta, zero = np.deg2rad(degrees), np.zeros(n)
        cos, sin = np.cos(theta), np.sin(theta)
        cos[degrees == 0], sin[degrees == 0] = 1.0, 0.0  # exact identity
        return _affine(cos, sin, zero, -sin, cos, zero)


class Zoom(AffineCoordTfm):
    """Zoom by U(min_zoom, max_zoom) per image with probability p, about a random centre (draw_x, draw_y in [0, 1])."""

    def __init__(self, min_zoom: float = 1.0, max_zoom: float = 1.1, p: float = 0.5, draw: Draw = None,
                 draw_x: Draw = None, draw_y: Draw = None, size: SizeArg = None, mode: str = "bilinear",
                 pad_mode: str = "reflection", align_corners: bool = True, batch: bool = False):
        super().__init__(p, size, mode, pad_mode, align_corners, batch)
        self.min_zoom, self.max_zoom = float(min_zoom), float(max_zoom)
        self.draw, self.draw_x, self.draw_y = draw, draw_x, draw_y

    def matrix(self, n: int, rng: np.random.Generator) -> np.ndarray:
        mult = _draw_mask(n, rng, _uniform(rng, self.min_zoom, self.max_zoom, self.batch), self.draw, self.p, 1.0,
                          self.batch)
        col = _draw_mask(n, rng, _uniform(rng, 0.0, 1.0, self.batch), self.draw_x, 1.0, 0.0, self.batch)
        row = _draw_mask(n, rng, _uniform(rng, 0.0, 1.0, self.batch), self.draw_y, 1.0, 0.0, self.batch)
        zero = np.zeros(n)
        return _affine(1 / mult, zero, (1 - 1 / mult) * (2 * col - 1), zero, 1 / mult, (1 - 1 / mult) * (2 * row - 1))


def _perspective(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(n, 3, 3) homographies taking the 4 points source (n, 4, 2) to target (n, 4, 2) (fastai's find_coeffs)."""
    n = len(source)
    A, b = np.zeros((n, 8, 8)), target.reshape(n, 8)
    for i in range(4):
        (x, y), (u, v) = source[:, i].T, target[:, i].T
        A[:, 2 * i] = np.stack([x, y, np.ones(n), 0 * x, 0 * x, 0 * x, -u * x, -u * y], -1)
        A[:, 2 * i + 1] = np.stack([0 * x, 0 * x, 0 * x, x, y, np.ones(n), -v * x, -v * y], -1)
    coeffs = np.linalg.solve(A, b[..., None])[..., 0]
    return np.concatenate([coeffs, np.ones((n, 1))], axis=1).reshape(n, 3, 3)


class Warp(AffineCoordTfm):
    """Perspective warp per image with probability p: the corners move by U(-magnitude, magnitude) (fastai's)."""

    def __init__(self, magnitude: float = 0.2, p: float = 0.5, draw_x: Draw = None, draw_y: Draw = None,
                 size: SizeArg = None, mode: str = "bilinear", pad_mode: str = "reflection",
                 align_corners: bool = True, batch: bool = False):
        super().__init__(p, size, mode, pad_mode, align_corners, batch)
        self.magnitude, self.draw_x, self.draw_y = float(magnitude), draw_x, draw_y

    def warp(self, n: int, rng: np.random.Generator) -> np.ndarray:
        default = _uniform(rng, -self.magnitude, self.magnitude, self.batch)
        x_t = _draw_mask(n, rng, default, self.draw_x, self.p, 0.0, self.batch)
        y_t = _draw_mask(n, rng, default, self.draw_y, self.p, 0.0, self.batch)
        corners = np.broadcast_to(np.array([[-1.0, -1], [-1, 1], [1, -1], [1, 1]]), (n, 4, 2))
        target = np.stack([np.stack([-1 - y_t, -1 - x_t], -1), np.stack([-1 + y_t, 1 + x_t], -1),
                           np.stack([1 + y_t, -1 + x_t], -1), np.stack([1 - y_t, 1 - x_t], -1)], axis=1)
        mats = _perspective(corners, target)
        mats[(x_t == 0) & (y_t == 0)] = _EYE  # exact identity
        return mats


class RandomResizedCropGPU(AffineCoordTfm):
    """A random crop per image of U(min_scale, max_scale) of the area and aspect ratio in `ratio` (log-uniform),
    resized to size (None: the input's); validation: the centre crop of valid_scale. fastai crops the whole batch
    alike; here each image draws its own box, sampled in the same single grid_sample."""

    split_idx = None

    def __init__(self, size: SizeArg = None, min_scale: float = 0.08, ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 mode: str = "bilinear", valid_scale: float = 1.0, max_scale: float = 1.0,
                 pad_mode: str = "reflection", align_corners: bool = True, p: float = 1.0):
        super().__init__(p, size, mode, pad_mode, align_corners)
        self.min_scale, self.max_scale, self.ratio = float(min_scale), float(max_scale), tuple(ratio)
        self.valid_scale = float(valid_scale)

    def _fallback(self, h: int, w: int, split_idx: int) -> tuple[int, int, int, int]:
        if w / h < self.ratio[0]:
            ch, cw = int(w / self.ratio[0]), w
        elif w / h > self.ratio[1]:
            ch, cw = h, int(h * self.ratio[1])
        else:
            ch, cw = h, w
        if split_idx:
            ch, cw = int(ch * self.valid_scale), int(cw * self.valid_scale)
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def crop(self, n: int, hw: tuple[int, int], rng: np.random.Generator,
             split_idx: int) -> tuple[np.ndarray, tuple[int, int]]:
        h, w = hw
        boxes = []
        for _ in range(n):
            box = None
            for _attempt in range(0 if split_idx else 10):
                area = rng.uniform(self.min_scale, self.max_scale) * w * h
                ratio = math.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
                cw, ch = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
                if 0 < cw <= w and 0 < ch <= h:
                    box = (int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw)
                    break
            boxes.append(box or self._fallback(h, w, split_idx))
        top, left, ch, cw = (np.array(column, float) for column in zip(*boxes))
        return _box(top, left, ch, cw, h, w, self.align_corners), self.size or hw


class CropPad(AffineCoordTfm):
    """Centre crop or pad to size (applied to every batch): where the output reaches outside the image, pad_mode
    fills it ('zeros', 'reflection' or 'border'); whole-pixel offsets, so the image's pixels are kept."""

    split_idx = None

    def __init__(self, size: SizeArg, pad_mode: str = "zeros", mode: str = "bilinear", align_corners: bool = True):
        super().__init__(1.0, size, mode, pad_mode, align_corners)
        if self.size is None:
            raise ValueError("CropPad(): size is required")

    def crop(self, n: int, hw: tuple[int, int], rng: np.random.Generator,
             split_idx: int) -> tuple[np.ndarray, tuple[int, int]]:
        (h, w), (oh, ow) = hw, self.size
        ones = np.ones(n)
        return _box(ones * ((h - oh) // 2), ones * ((w - ow) // 2), ones * oh, ones * ow, h, w,
                    self.align_corners), self.size


class LightingTfm(RandTransform):
    """A map of each image in logit space, z -> (z + add) * mul per image (fastai's SpaceTfm over logit)."""

    order = 40

    def changes(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(add, mul), each (n,)."""
        return np.zeros(n), np.ones(n)


class Brightness(LightingTfm):
    """Brightness change U(0.5 (1 - max_lighting), 0.5 (1 + max_lighting)) (0.5: none) with probability p."""

    def __init__(self, max_lighting: float = 0.2, p: float = 0.75, draw: Draw = None, batch: bool = False):
        super().__init__(p, batch)
        self.max_lighting, self.draw = float(max_lighting), draw

    def changes(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        low, high = 0.5 * (1 - self.max_lighting), 0.5 * (1 + self.max_lighting)
        change = _draw_mask(n, rng, _uniform(rng, low, high, self.batch), self.draw, self.p, 0.5, self.batch)
        change = np.clip(change, 1e-7, 1 - 1e-7)
        return np.log(change / (1 - change)), np.ones(n)


class Contrast(LightingTfm):
    """Contrast scale exp(U(log(1 - max_lighting), -log(1 - max_lighting))) in logit space, with probability p."""

    def __init__(self, max_lighting: float = 0.2, p: float = 0.75, draw: Draw = None, batch: bool = False):
        super().__init__(p, batch)
        self.max_lighting, self.draw = float(max_lighting), draw

    def changes(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        bound = -math.log(1 - self.max_lighting)
        log_scale = _uniform(rng, -bound, bound, self.batch)
        change = _draw_mask(n, rng, lambda count: np.exp(log_scale(count)), self.draw, self.p, 1.0, self.batch)
        return np.zeros(n), change


def aug_transforms(mult: float = 1.0, do_flip: bool = True, flip_vert: bool = False, max_rotate: float = 10.0,
                   min_zoom: float = 1.0, max_zoom: float = 1.1, max_lighting: float = 0.2, max_warp: float = 0.2,
                   p_affine: float = 0.75, p_lighting: float = 0.75, xtra_tfms: Sequence[RandTransform] | None = None,
                   size: SizeArg = None, mode: str = "bilinear", pad_mode: str = "reflection",
                   align_corners: bool = True, batch: bool = False, min_scale: float = 1.0) -> list[RandTransform]:
    """fastai's default augmentation list: a flip (Dihedral with flip_vert), Warp, Rotate, Zoom, Brightness and
    Contrast (each only when its range is not empty), RandomResizedCropGPU when min_scale < 1, then xtra_tfms.
    Apply them with augment_batch or BatchAugment (one grid_sample and one lighting pass per batch)."""
    kw = dict(size=size if min_scale == 1.0 else None, mode=mode, pad_mode=pad_mode, batch=batch,
              align_corners=align_corners)
    max_rotate, max_lighting, max_warp = max_rotate * mult, max_lighting * mult, max_warp * mult
    tfms: list[RandTransform] = []
    if do_flip:
        tfms.append(Dihedral(p=0.5, **kw) if flip_vert else Flip(p=0.5, **kw))
    if max_warp:
        tfms.append(Warp(magnitude=max_warp, p=p_affine, **kw))
    if max_rotate:
        tfms.append(Rotate(max_deg=max_rotate, p=p_affine, **kw))
    if min_zoom < 1 or max_zoom > 1:
        tfms.append(Zoom(min_zoom=min_zoom, max_zoom=max_zoom, p=p_affine, **kw))
    if max_lighting:
        tfms += [Brightness(max_lighting=max_lighting, p=p_lighting, batch=batch),
                 Contrast(max_lighting=max_lighting, p=p_lighting, batch=batch)]
    if min_scale != 1.0:
        tfms.append(RandomResizedCropGPU(size, min_scale=min_scale, ratio=(1, 1), mode=mode, pad_mode=pad_mode,
                                         align_corners=align_corners))
    return tfms + list(xtra_tfms or [])


def augment_batch(x: Any, tfms: Sequence[RandTransform], rng: np.random.Generator | int | None = None,
                  split_idx: int = 0, mask: Any = None) -> Any:
    """Apply tfms to a batch x (N, C, H, W) of floats (a NumPy array or a Tensor; the result has its type): every
    coordinate transform composed into one homography per image and one grid_sample, then the lighting maps as one
    elementwise pass. rng: a numpy Generator or a seed. split_idx 1 (validation) leaves out every random part
    (lighting, matrices, warps, random crops) and keeps the resizes. mask: the batch's segmentation masks (N, H, W)
    of integers (same type rules as x): then (x, mask) comes back, the masks moved by each image's transform with
    nearest sampling, their dtype kept, untouched by the lighting."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    as_tensor = isinstance(x, Tensor)
    t = x if as_tensor else Tensor._wrap(np.asarray(x))
    if t.ndim != 4 or t._data.dtype not in (np.float32, np.float64):
        raise ValueError(f"augment_batch(): x must be a float32/float64 (N, C, H, W) batch, got shape "
                         f"{tuple(t.shape)} and dtype {t.dtype}")
    active = [tfm for tfm in sorted(tfms, key=lambda tfm: tfm.order)
              if tfm.split_idx is None or tfm.split_idx == split_idx]
    n, (h, w) = t.shape[0], tuple(t.shape[2:])
    m = None if mask is None else _mask_batch(mask, t)
    with no_grad():
        out, m_out = _sample(t, [tfm for tfm in active if isinstance(tfm, AffineCoordTfm)], n, (h, w), gen, split_idx,
                             m)
        out = _lighting(out, [tfm for tfm in active if isinstance(tfm, LightingTfm)], n, gen)
    out = out if as_tensor else out.numpy()
    if mask is None:
        return out
    m_out = m_out[:, 0].numpy().round().astype(m[1])  # (nearest sampling copied whole class indices)
    return out, (Tensor._wrap(m_out) if isinstance(mask, Tensor) else m_out)


def _mask_batch(mask: Any, t: Tensor) -> tuple[Tensor, np.dtype]:
    """(the masks as a float (N, 1, H, W) tensor beside t, their dtype), checked against the images' batch."""
    array = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
    if array.shape != (t.shape[0],) + tuple(t.shape[2:]) or array.dtype.kind not in "biu":
        raise ValueError(f"augment_batch(): mask must be integer (N, H, W) masks of the images' size "
                         f"{(t.shape[0],) + tuple(t.shape[2:])}, got shape {array.shape} and dtype {array.dtype}")
    return Tensor._wrap(host_data_on_device_of(array[:, None].astype(t._data.dtype), t)), array.dtype


def _sample(t: Tensor, coords: list[AffineCoordTfm], n: int, hw: tuple[int, int], rng: np.random.Generator,
            split_idx: int, mask: tuple[Tensor, np.dtype] | None = None) -> tuple[Tensor, Tensor | None]:
    """(the images resampled, the masks resampled nearest on the same grid, or None without masks)."""
    m = None if mask is None else mask[0]
    if not coords or n == 0:
        return t, m
    affine, warp, crop, size = np.broadcast_to(_EYE, (n, 3, 3)).copy(), np.broadcast_to(_EYE, (n, 3, 3)).copy(), \
        np.broadcast_to(_EYE, (n, 3, 3)).copy(), hw
    for tfm in coords:
        matrix, homography = (None, None) if split_idx else (tfm.matrix(n, rng), tfm.warp(n, rng))
        box = tfm.crop(n, size, rng, split_idx)
        if matrix is not None:
            affine = affine @ matrix
        if homography is not None:
            warp = homography @ warp
        if box is not None:
            crop, size = crop @ box[0], box[1]
        size = tfm.size or size
    affine[:, 0, 1] *= hw[0] / hw[1]  # fastai's _prepare_mat: rotations act on pixels, not on the unit square
    affine[:, 1, 0] *= hw[1] / hw[0]
    total = warp @ affine @ crop
    identity = np.all(total == _EYE, axis=(1, 2))
    if identity.all() and tuple(size) == hw:
        return t, m
    first = coords[0]
    grid = Tensor._wrap(host_data_on_device_of(_sampling_grid(total, affine @ crop, size, first.align_corners,
                                                              t._data.dtype), t))
    out = grid_sample(t, grid, first.mode, first.pad_mode, first.align_corners)
    if m is not None:
        m_out = grid_sample(m, grid, "nearest", first.pad_mode, first.align_corners)
        m = _exact_dihedral(m, total, m_out) if tuple(size) == hw else m_out
    return (_exact_dihedral(t, total, out) if tuple(size) == hw else out), m


def _lighting(t: Tensor, lights: list[LightingTfm], n: int, rng: np.random.Generator) -> Tensor:
    if not lights or n == 0:
        return t
    add, mul = np.zeros(n), np.ones(n)
    for tfm in lights:  # z -> ((z + A) * M + a) * m = (z + A + a / M) * (M * m)
        a, m = tfm.changes(n, rng)
        add, mul = add + a / mul, mul * m
    identity = (add == 0) & (mul == 1)
    if identity.all():
        return t
    shape = (n, 1, 1, 1)
    dtype = t._data.dtype
    add_t = Tensor._wrap(host_data_on_device_of((add * mul).reshape(shape).astype(dtype), t))
    mul_t = Tensor._wrap(host_data_on_device_of(mul.reshape(shape).astype(dtype), t))
    out = ((-(t.logit(1e-7) * mul_t + add_t)).exp() + 1).reciprocal()  # sigmoid, in fewer passes than its kernel
    return _where_images(identity, t, out)


class BatchAugment:
    """A list of batch transforms with its own Generator (seeded: the same batches give the same outputs): call it on
    a training batch (split_idx=0) or a validation one (split_idx=1: the random transforms are skipped)."""

    def __init__(self, tfms: Sequence[RandTransform], seed: int | np.random.Generator | None = None):
        self.tfms = list(tfms)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def __call__(self, x: Any, split_idx: int = 0, mask: Any = None) -> Any:
        return augment_batch(x, self.tfms, self.rng, split_idx, mask)

    def __repr__(self) -> str:
        return f"BatchAugment({self.tfms!r})"
