"""nnx.data: batches cut from whole arrays, every sample once per epoch, seeded shuffling, dtypes kept."""
import numpy as np
import pytest

import nnx
from nnx.data import DataLoader, DataLoaders, TensorDataset


def arrays(rng, n, features=3, dtype=np.float32):
    X = rng.normal(size=(n, features)).astype(dtype)
    y = np.arange(n, dtype=np.int64)  # the label is the row number: shows which rows a batch holds
    return X, y


@pytest.mark.parametrize("n,batch_size,drop_last", [(1, 1, False), (10, 3, False), (10, 3, True), (10, 5, True),
                                                    (257, 64, False), (257, 64, True), (5, 8, False)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_once_per_epoch(rng, n, batch_size, drop_last, shuffle):
    X, y = arrays(rng, n)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=3)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        sizes = [len(yb) for _, yb in batches]
        expected_batches = n // batch_size if drop_last else -(-n // batch_size)
        assert len(batches) == expected_batches
        assert all(size == batch_size for size in sizes[:-1])
        rows = np.concatenate([yb.numpy() for _, yb in batches]) if batches else np.array([], np.int64)
        if drop_last:
            assert len(rows) == (n // batch_size) * batch_size and len(set(rows.tolist())) == len(rows)
        else:
            assert sorted(rows.tolist()) == list(range(n))
        if not shuffle:
            assert rows.tolist() == list(range(len(rows)))
        for xb, yb in batches:
            assert isinstance(xb, nnx.Tensor) and isinstance(yb, nnx.Tensor)
            np.testing.assert_array_equal(xb.numpy(), X[yb.numpy()])


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("make", [lambda X, y: (X, y), lambda X, y: (TensorDataset(X, y), None),
                                  lambda X, y: (nnx.from_numpy(X), nnx.from_numpy(y))])
def test_in_place_ops_on_batches_never_write_into_the_data(rng, shuffle, make):
    # PyTorch's DataLoader hands out fresh tensors; an in-place op on a batch must not reach X or y
    # (nor the loader's own converted copy, seen again next epoch).
    X, y = arrays(rng, 10)
    X[0, 0] = -1.0
    X_before, y_before = X.copy(), y.copy()
    data, target = make(X, y)
    loader = DataLoader(data, target, batch_size=3, shuffle=shuffle, seed=0)
    for _ in range(3):
        for xb, yb in loader:
            assert not np.shares_memory(xb.numpy(), X) and not np.shares_memory(yb.numpy(), y)
            xb.mul_(10)
            yb.add_(1)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    rows = np.concatenate([yb.numpy() for _, yb in loader])  # later epochs still see the original data
    assert sorted(rows.tolist()) == list(range(10))


def test_converted_batches_do_not_leak_edits_into_later_epochs(rng):
    X, y = arrays(rng, 6, dtype=np.float64)
    loader = DataLoader(X, y, batch_size=3, dtype=np.float32)
    first = np.concatenate([xb.numpy().copy() for xb, _ in loader])
    for xb, _ in loader:
        xb.mul_(0)
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in loader]), first)


def test_in_place_relu_as_first_layer_leaves_the_data_alone(rng):
    X, y = arrays(rng, 12)
    X_before = X.copy()
    model = nnx.nn.Sequential(nnx.nn.ReLU(inplace=True), nnx.nn.Linear(3, 2))
    with nnx.no_grad():
        for _ in range(3):
            for xb, _ in DataLoader(X, y, batch_size=5):
                model(xb)
    np.testing.assert_array_equal(X, X_before)
    assert (X < 0).any()


def test_learner_validation_and_get_preds_leave_the_data_alone(rng):
    X, y = arrays(rng, 20)
    y = y % 2
    X_before = X.copy()
    dls = DataLoaders.from_arrays(X, y, X, y, bs=4, seed=0)
    model = nnx.nn.Sequential(nnx.nn.ReLU(inplace=True), nnx.nn.Linear(3, 2))
    learn = nnx.Learner(model=model, dls=dls, loss_func=nnx.nn.CrossEntropyLoss())
    learn.validate()
    learn.get_preds()
    np.testing.assert_array_equal(X, X_before)


def test_shuffle_uses_nnx_seed_and_changes_per_epoch(rng):
    X, y = arrays(rng, 50)
    loader = DataLoader(X, y, batch_size=50, shuffle=True)
    nnx.manual_seed(7)
    first, second = [next(iter(loader))[1].numpy().copy() for _ in range(2)]
    nnx.manual_seed(7)
    again = next(iter(loader))[1].numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(50))


def test_own_seed_is_reproducible_and_independent_of_global_seed(rng):
    X, y = arrays(rng, 40)
    orders = []
    for global_seed in (1, 2):
        nnx.manual_seed(global_seed)
        loader = DataLoader(X, y, batch_size=40, shuffle=True, seed=11)
        orders.append([next(iter(loader))[1].numpy().copy() for _ in range(2)])
    np.testing.assert_array_equal(orders[0][0], orders[1][0])
    np.testing.assert_array_equal(orders[0][1], orders[1][1])
    assert not np.array_equal(orders[0][0], orders[0][1])


@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_dtypes_are_kept(rng, x_dtype):
    X, y = arrays(rng, 20, dtype=x_dtype)
    xb, yb = next(iter(DataLoader(X, y.astype(np.int32), batch_size=8, shuffle=True)))
    assert xb.dtype == x_dtype and yb.dtype == np.int64
    assert xb.numpy().flags.c_contiguous and yb.numpy().flags.c_contiguous


def test_x_alone_yields_tensors(rng):
    X, _ = arrays(rng, 9)
    batches = list(DataLoader(X, batch_size=4))
    assert [b.shape for b in batches] == [(4, 3), (4, 3), (1, 3)]
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in batches]), X)


def test_tensors_and_tensor_dataset(rng):
    X, y = arrays(rng, 12)
    loader = DataLoader(nnx.tensor(X), nnx.tensor(y), batch_size=5)
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in loader]), X)
    dataset = TensorDataset(X, y)
    assert len(dataset) == 12
    np.testing.assert_array_equal(dataset[3][0], X[3])
    batches = list(DataLoader(dataset, batch_size=5, shuffle=True, seed=0))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb.numpy(), X[yb.numpy()])


class SquaresDataset:
    """A dataset object: samples are built one at a time by __getitem__."""

    def __len__(self):
        return 11

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i


def test_dataset_objects_are_collated(rng):
    batches = list(DataLoader(SquaresDataset(), batch_size=4, shuffle=True, seed=1))
    assert len(batches) == 3
    labels = np.concatenate([yb.numpy() for _, yb in batches])
    assert sorted(labels.tolist()) == list(range(11))
    for xb, yb in batches:
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb.numpy()[:, 1], yb.numpy() ** 2)


def test_attributes_and_len(rng):
    X, y = arrays(rng, 10)
    loader = DataLoader(X, y, batch_size=4, shuffle=True, drop_last=True)
    assert (loader.dataset is X, loader.batch_size, loader.shuffle, loader.drop_last, len(loader)) == \
        (True, 4, True, True, 2)
    assert len(DataLoader(X, y, batch_size=4)) == 3


def test_dataloaders(rng):
    X, y = arrays(rng, 30)
    dls = DataLoaders.from_arrays(X[:20], y[:20], X[20:], y[20:], bs=8)
    assert dls[0] is dls.train and dls[1] is dls.valid
    assert dls.train.shuffle and not dls.valid.shuffle and dls.train.batch_size == 8
    assert sorted(np.concatenate([yb.numpy() for _, yb in dls.valid]).tolist()) == list(range(20, 30))
    assert DataLoaders(dls.train).valid is None


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), ValueError, "batch_size"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(y=np.zeros(3)), ValueError, "X and y have different lengths"),
])
def test_bad_input_raises_naming_the_argument(rng, kwargs, error, match):
    X, y = arrays(rng, 10)
    kwargs = dict(dict(y=y), **kwargs)
    with pytest.raises(error, match=match):
        DataLoader(X, **kwargs)


def test_bad_data_raises():
    with pytest.raises(TypeError, match="X must be"):
        DataLoader(42)
    with pytest.raises(ValueError, match="scalar"):
        DataLoader(np.array(1.0))
    with pytest.raises(TypeError, match="must hold numbers"):
        DataLoader(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="same length"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="train"):
        DataLoaders(None)


# --- dtype: X converted once, at construction ------------------------------------------------------------
def test_float64_arrays_train_a_float32_model_through_from_arrays(rng):
    X, _ = arrays(rng, 20, dtype=np.float64)
    y = (X[:, 0] > 0).astype(np.int64)
    dls = DataLoaders.from_arrays(X[:16], y[:16], X[16:], y[16:], bs=8)
    model, loss_fn = nnx.nn.Linear(3, 2), nnx.nn.CrossEntropyLoss()
    for loader in dls:
        for xb, yb in loader:
            assert xb.dtype == np.float32
            loss_fn(model(xb), yb).backward()  # the first batch no longer fails on the dtype
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in dls.valid]), X[16:].astype(np.float32))


@pytest.mark.parametrize("X_dtype,dtype,expected", [
    (np.float64, None, np.float32), (np.float32, None, np.float32), (np.int32, None, np.int64),
    (np.float64, np.float64, np.float64), (np.float32, "float64", np.float64), (np.int64, np.float32, np.float32),
    (np.bool_, np.float32, np.float32)])
def test_from_arrays_dtype(rng, X_dtype, dtype, expected):
    X = (rng.normal(size=(10, 3)) * 4).astype(X_dtype)
    y = rng.normal(size=10)
    dls = DataLoaders.from_arrays(X.tolist() if X_dtype == np.float64 else X, y, X[:4], y[:4], bs=4,
                                  shuffle_train=False, dtype=dtype)
    for loader in dls:
        xb, yb = next(iter(loader))
        assert xb.dtype == expected and yb.dtype == np.float64  # the targets are left alone
        np.testing.assert_array_equal(xb.numpy(), X[:4].astype(expected))


def test_data_loader_keeps_dtypes_unless_asked(rng):
    X, y = arrays(rng, 10, dtype=np.float64)
    assert next(iter(DataLoader(X, y, batch_size=4)))[0].dtype == np.float64  # PyTorch's rule
    loader = DataLoader(X, y, batch_size=4, shuffle=True, dtype=np.float32)
    assert loader.dtype == np.float32 and "dtype=float32" in repr(loader)
    assert loader._arrays[0].dtype == np.float32 and loader.dataset is X  # converted once, the data untouched
    for xb, yb in loader:
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb.numpy(), X[yb.numpy()].astype(np.float32))


def test_dtype_of_tensor_datasets_and_dataset_objects(rng):
    X, y = arrays(rng, 10, dtype=np.float64)
    dataset = TensorDataset(X, y)
    xb, yb = next(iter(DataLoader(dataset, batch_size=4, dtype=np.float32)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64 and dataset.arrays[0].dtype == np.float64
    xb, yb = next(iter(DataLoader(SquaresDataset(), batch_size=4, dtype=np.float64)))
    assert xb.dtype == np.float64 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.numpy()[:, 1], np.arange(4) ** 2)
    xb = next(iter(DataLoader([np.ones(2), np.zeros(2)], batch_size=2, dtype=np.float32)))
    assert xb.dtype == np.float32


@pytest.mark.parametrize("dtype,error", [(np.int64, ValueError), (np.float16, ValueError), (np.complex64, ValueError),
                                         ("nonsense", TypeError), (1.5, TypeError), (object, ValueError)])
def test_bad_dtype_raises_naming_it(rng, dtype, error):
    X, y = arrays(rng, 10)
    with pytest.raises(error, match="dtype must be np.float32 or np.float64"):
        DataLoader(X, y, dtype=dtype)
    with pytest.raises(error, match="dtype must be np.float32 or np.float64"):
        DataLoaders.from_arrays(X, y, dtype=dtype)


def test_values_beyond_float32_are_refused_naming_x():
    X = np.array([[1.0, 1e300], [2.0, 3.0]])
    with pytest.raises(ValueError, match="X has values beyond the range of float32"):
        DataLoader(X, dtype=np.float32)
    with pytest.raises(ValueError, match="X has values beyond the range of float32"):
        DataLoaders.from_arrays(X, np.zeros(2))
    assert DataLoaders.from_arrays(X, np.zeros(2), dtype=np.float64).train.n == 2
