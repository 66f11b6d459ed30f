"""Mini-batches straight from NumPy arrays: DataLoader, TensorDataset and the DataLoaders pair a Learner uses.

Batches are cut from whole arrays by slicing (in order) or one fancy-indexing per batch (shuffled), so
no Python runs per sample; every batch is a fresh copy, never a view of the caller's arrays (_fresh).
PyTorch-style datasets, samplers and worker processes are nnx.utils.data. Any other object with
__len__/__getitem__ also works, one sample at a time, collated with np.stack. With device='cuda' the whole
arrays are copied to the GPU once, on the first iteration, and batches are cut there (a shuffled epoch uploads
only its permutation); dataset objects are collated on the host and each batch is uploaded.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from numpy.typing import ArrayLike

from . import random as nnx_random
from .tensor import Tensor, _target_device, move_array

if TYPE_CHECKING:
    from .device import device as _device

# Where batches go: None (the CPU), 'cpu', 'cuda', 'cuda:N' or an nnx.device.
DeviceLike = Union["_device", str, None]


class TensorDataset:
    """Samples are the i-th rows of each array, like torch.utils.data.TensorDataset."""

    def __init__(self, *arrays: ArrayLike) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(_as_array(a, f"arrays[{i}]") for i, a in enumerate(arrays))
        n = len(self.arrays[0])
        for i, a in enumerate(self.arrays[1:], start=1):
            if len(a) != n:
                raise ValueError(f"arrays[{i}] has {len(a)} samples, arrays[0] has {n}: "
                                 "all arrays need the same length")
        # torch's name for the same thing, so code written for torch finds it.
        self.tensors = self.arrays

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Iterate over (xb, yb) Tensor batches of X and y (xb alone when y is None).

    shuffle draws a new permutation each epoch from nnx's seeded generator (nnx.manual_seed), or from
    the loader's own generator when `seed` is given. Every sample appears exactly once per epoch;
    drop_last drops a final batch smaller than batch_size. Dtypes are kept, like PyTorch's DataLoader
    (float64 stays float64, and a float32 model refuses it); integer arrays become int64 (and float16
    float32) once, here, because the kernels take those. dtype (np.float32 or np.float64) converts X
    once, here (fastai-style convenience; y is left alone); a dataset object's X is converted as each
    batch is collated, since there is no whole array to convert.
    device (fastai's, e.g. 'cuda'; default None: the CPU) is where the batches are yielded; settable
    later (`dl.device = 'cuda'` or `dl.to('cuda')`). The order of samples does not depend on it.
    """

    def __init__(self, X: ArrayLike | TensorDataset | Any, y: ArrayLike | None = None, batch_size: int = 64,
                 shuffle: bool = False, drop_last: bool = False, seed: int | None = None, dtype: Any = None,
                 device: DeviceLike = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
        self.dtype = None if dtype is None else _float_dtype(dtype)
        self.dataset = X
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._generator = None if seed is None else np.random.Generator(np.random.Philox(seed))
        self._arrays, self._samples = _columns(X, y)
        if self.dtype is not None and self._arrays is not None:
            self._arrays = [_converted(self._arrays[0], self.dtype, "X"), *self._arrays[1:]]
        self._n = len(self._arrays[0]) if self._arrays is not None else len(self._samples)
        # Arrays X (and y) yield xb (or (xb, yb)); a TensorDataset yields a tuple, like torch's.
        self._single = y is None and not isinstance(X, TensorDataset)
        self.device = device

    @property
    def device(self) -> _device | None:
        """Where batches are yielded: None (the CPU) or an nnx.device."""
        return self._device

    @device.setter
    def device(self, device: DeviceLike) -> None:
        target = _target_device(device)
        self._device = None if target is None or target.type == "cpu" else target
        self._device_arrays = None  # uploaded again on the next iteration

    def to(self, device: DeviceLike) -> DataLoader:
        """Yield batches on `device` from now on (fastai's DataLoader.to); returns self."""
        self.device = device
        return self

    def __len__(self):
        """Number of batches per epoch."""
        if self.drop_last:
            return self._n // self.batch_size
        return -(-self._n // self.batch_size)

    @property
    def n(self) -> int:
        """Number of samples."""
        return self._n

    def __iter__(self):
        order = self._permutation() if self.shuffle else None
        stop = len(self) * self.batch_size
        device_arrays = self._arrays_on_device()
        if device_arrays is not None and order is not None:
            order = move_array(order, self._device)  # one small upload per epoch
        for start in range(0, min(stop, self._n), self.batch_size):
            end = min(start + self.batch_size, self._n)
            index = slice(start, end) if order is None else order[start:end]
            yield self._batch(index) if device_arrays is None else self._device_batch(device_arrays, index)

    def _arrays_on_device(self):
        """The whole arrays copied to the loader's device (once), or None on the CPU or for a dataset."""
        if self._device is None or self._arrays is None:
            return None
        if self._device_arrays is None:
            self._device_arrays = [move_array(np.ascontiguousarray(a), self._device) for a in self._arrays]
        return self._device_arrays

    def _device_batch(self, arrays, index):
        # A slice is a view of the uploaded arrays: copied, so that an in-place op on a batch cannot
        # change the next epoch's data. A gather (shuffled) is already a fresh array.
        batch = tuple(Tensor._wrap(a[index].copy() if isinstance(index, slice) else a[index]) for a in arrays)
        return batch[0] if self._single else batch

    def _permutation(self):
        generator = self._generator if self._generator is not None else nnx_random.numpy_generator()
        return generator.permutation(self._n)

    def _batch(self, index):
        if self._arrays is not None:
            batch = tuple(Tensor._wrap(_fresh(a, index)) for a in self._arrays)
            return batch[0] if self._single else batch
        positions = range(index.start, index.stop) if isinstance(index, slice) else index.tolist()
        samples = [self._samples[i] for i in positions]
        if isinstance(samples[0], (tuple, list)):
            return tuple(self._on_device(_collate(column, self.dtype if i == 0 else None))
                         for i, column in enumerate(zip(*samples)))
        return self._on_device(_collate(samples, self.dtype))

    def _on_device(self, batch):
        return batch if self._device is None else Tensor._wrap(move_array(batch._data, self._device))

    def __repr__(self):
        dtype = "" if self.dtype is None else f", dtype={self.dtype}"
        device = "" if self._device is None else f", device='{self._device}'"
        return (f"DataLoader(n={self._n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}{dtype}{device})")


class DataLoaders:
    """A training and a validation DataLoader, fastai-style: .train, .valid, [0], [1]."""

    def __init__(self, train: Iterable[Any], valid: Iterable[Any] | None = None) -> None:
        for name, loader in (("train", train), ("valid", valid)):
            if loader is not None and not hasattr(loader, "__iter__"):
                raise TypeError(f"{name} must be an iterable of batches (a DataLoader), got {type(loader).__name__}")
        if train is None:
            raise ValueError("train must be a DataLoader, got None")
        self.train, self.valid = train, valid

    @classmethod
    def from_arrays(cls, X_train: ArrayLike, y_train: ArrayLike | None, X_valid: ArrayLike | None = None,
                    y_valid: ArrayLike | None = None, bs: int = 64, shuffle_train: bool = True, seed: int | None = None,
                    dtype: Any = None, device: DeviceLike = None) -> DataLoaders:
        """Loaders over arrays: the training one shuffled (keeping its last partial batch), the
        validation one in order; both with batch size bs (fastai's default val_bs) and both yielding
        batches on `device` (default None: the CPU).

        X is converted once, here: to `dtype` when given (np.float32 or np.float64), and by default
        float64 X becomes float32, the working dtype of nnx models (pass dtype=np.float64 to keep it).
        Other dtypes (integer indices for an Embedding, say) and the targets are left as they are."""
        if dtype is not None:
            dtype = _float_dtype(dtype)
        X_train, train_dtype = _with_working_dtype(X_train, "X_train", dtype)
        train = DataLoader(X_train, y_train, batch_size=bs, shuffle=shuffle_train, seed=seed, dtype=train_dtype,
                           device=device)
        valid = None
        if X_valid is not None:
            X_valid, valid_dtype = _with_working_dtype(X_valid, "X_valid", dtype)
            valid = DataLoader(X_valid, y_valid, batch_size=bs, shuffle=False, dtype=valid_dtype, device=device)
        elif y_valid is not None:
            raise ValueError("y_valid was given without X_valid")
        return cls(train, valid)

    @property
    def device(self) -> _device | None:
        """The training loader's device (None: the CPU), fastai's dls.device; setting it moves both loaders."""
        return getattr(self.train, "device", None)

    @device.setter
    def device(self, device: DeviceLike) -> None:
        for loader in self.loaders:
            if hasattr(loader, "to"):
                loader.to(device)
            else:
                raise TypeError(f"DataLoaders.device: {type(loader).__name__} cannot change its device (it has no .to)")

    def to(self, device: DeviceLike) -> DataLoaders:
        """Yield every loader's batches on `device` (fastai's dls.to); returns self."""
        self.device = device
        return self

    def cuda(self) -> DataLoaders:
        """Yield every loader's batches on the GPU ('cuda'); returns self."""
        return self.to("cuda")

    def cpu(self) -> DataLoaders:
        """Yield every loader's batches on the CPU; returns self."""
        return self.to("cpu")

    @property
    def loaders(self) -> list[Any]:
        """The training loader, and the validation one when there is one."""
        return [loader for loader in (self.train, self.valid) if loader is not None]

    def __getitem__(self, index):
        return (self.train, self.valid)[index]

    def __len__(self):
        return len(self.loaders)

    def __iter__(self):
        return iter(self.loaders)

    def __repr__(self):
        return f"DataLoaders(train={self.train!r}, valid={self.valid!r})"


def _fresh(array, index):
    """array[index] as a new C-contiguous array that shares no memory with `array`.

    Batches are copies, as PyTorch's DataLoader hands out: `xb.mul_(10)` or nn.ReLU(inplace=True) on a
    batch must never write into the caller's X (or into the next epoch's data). The other choice, a
    read-only view that refuses in-place ops, would cost nothing but breaks code that edits its batches
    (in-place augmentation, normalisation), which PyTorch accepts. Measured (2 shared, noisy cores, median
    of 9, two rounds): an unshuffled 60000x784 float32 epoch at batch 128 went from ~1 ms (views) to
    17-42 ms (copies), about what a shuffled epoch (a gather, always a copy) costs (29-80 ms), against
    0.6 s for one training epoch of a 784-128-10 MLP on it (3-7%); the digits demo epoch (1797x64, batch
    64) from 0.06 ms to 0.12 ms. A shuffled batch is already fresh and is not copied twice."""
    if isinstance(index, slice):
        return np.array(array[index], order="C", copy=True)
    return np.ascontiguousarray(array[index])


def _as_array(data, name):
    """A NumPy array of the data (Tensors and array-likes unwrapped: a CUDA tensor is read back once),
    integers as int64."""
    if isinstance(data, Tensor):
        array = data.cpu().numpy()
    elif hasattr(data, "to_numpy"):  # pandas DataFrame / Series
        array = data.to_numpy()
    else:
        array = np.asarray(data)
    if array.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (one row per sample), got a scalar")
    kind = array.dtype.kind
    if kind not in "iufb":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if kind in "iu" and array.dtype != np.int64:
        array = array.astype(np.int64)
    elif kind == "f" and array.dtype.itemsize < 4:  # float16: no kernel takes it
        array = array.astype(np.float32)
    return array


def _float_dtype(dtype):
    """dtype as np.float32 or np.float64 (the dtypes the kernels compute in), or an error naming it."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from error
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64 (the dtypes nnx computes in), got {resolved}")
    return resolved


def _converted(array, dtype, name):
    """array as dtype (itself when it already is); ValueError naming it when values overflow float32."""
    if array.dtype == dtype:
        return array
    try:
        with np.errstate(over="raise"):
            return array.astype(dtype)
    except FloatingPointError:
        raise ValueError(f"{name} has values beyond the range of {dtype} (largest {np.finfo(dtype).max:g})") from None


def _with_working_dtype(X, name, dtype):
    """(X, the dtype DataLoader should convert it to): dtype when given, else float32 for float64 arrays
    (the working dtype), else None. Array-likes come back as arrays so they are not read twice."""
    if dtype is not None or not _is_whole_array(X):
        return X, dtype
    X = _as_array(X, name)
    return X, (np.dtype(np.float32) if X.dtype == np.float64 else None)


def _collate(samples, dtype=None):
    """One batch Tensor from a sequence of samples (arrays or numbers), stacked along a new first axis
    (converted to dtype when given)."""
    array = _as_array(np.stack(samples), "dataset")
    if dtype is not None:
        array = _converted(array, dtype, "X")
    return Tensor._wrap(np.ascontiguousarray(array))


def _is_whole_array(X):
    """True when batches can be sliced from X as one array (not a dataset object or a list of samples)."""
    return _is_array_like(X) and not _is_ragged(X)


def _is_array_like(data):
    return isinstance(data, (np.ndarray, Tensor, list, tuple)) or hasattr(data, "to_numpy")


def _columns(X, y):
    """(arrays, None) when batches can be cut from whole arrays, else (None, dataset)."""
    if isinstance(X, TensorDataset):
        if y is not None:
            raise ValueError("y must be None when X is a TensorDataset (it already holds the targets)")
        return X.arrays, None
    if _is_whole_array(X):
        arrays = [_as_array(X, "X")]
        if y is not None:
            arrays.append(_as_array(y, "y"))
            if len(arrays[1]) != len(arrays[0]):
                raise ValueError(f"X and y have different lengths: {len(arrays[0])} samples in X, "
                                 f"{len(arrays[1])} in y")
        return arrays, None
    if not (hasattr(X, "__len__") and hasattr(X, "__getitem__")):
        raise TypeError(f"X must be an array, a Tensor or a dataset with __len__ and __getitem__, "
                        f"got {type(X).__name__}")
    if y is not None:
        raise ValueError("y must be None when X is a dataset object (its samples hold the targets)")
    return None, X


def _is_ragged(X):
    """Lists of (x, y) samples are datasets, not arrays."""
    return isinstance(X, (list, tuple)) and len(X) > 0 and isinstance(X[0], tuple)
