"""The inputs NumPy users pass every day work and give the right numbers: strided views, Fortran order,
reversed and transposed arrays, float64, integer arrays and lists, at the Tensor, functional, Learner,
DataLoader, state-dict and estimator boundaries."""
import warnings

import numpy as np
import pytest

import nnx
import nnx.nn.functional as F
from nnx import nn
from nnx.data import DataLoader
from nnx.learner import Learner

RNG = np.random.default_rng(2024)
A = RNG.normal(size=(6, 9))
W = RNG.normal(size=(4, 9))
TARGET = np.array([0, 1, 2, 3, 1, 0])


def layouts(array, dtype):
    """The same values as C order, Fortran order, a strided view, a doubly reversed view and a transposed copy."""
    c = np.ascontiguousarray(array, dtype=dtype)
    padded = np.zeros((array.shape[0], 2 * array.shape[1]), dtype)
    padded[:, ::2] = array
    return {"C": c, "F": np.asfortranarray(c), "strided": padded[:, ::2], "reversed": c[::-1, ::-1][::-1, ::-1],
            "transposed": np.ascontiguousarray(c.T).T}


LAYOUTS = ("C", "F", "strided", "reversed", "transposed")
DTYPES = (np.float32, np.float64)


def close(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_ops_on_every_layout_match_numpy(layout, dtype):
    a = nnx.from_numpy(layouts(A, dtype)[layout])
    w = nnx.from_numpy(layouts(W, dtype)[layout])
    tol = close(dtype)
    np.testing.assert_allclose((a @ w.T).numpy(), A @ W.T, **tol)
    np.testing.assert_allclose(F.linear(a, w).numpy(), A @ W.T, **tol)
    np.testing.assert_allclose(F.relu(a).numpy(), np.maximum(A, 0), **tol)
    np.testing.assert_allclose(F.log_softmax(a, dim=1).numpy(), log_softmax(A), **tol)
    np.testing.assert_allclose(F.softmax(a, dim=0).numpy(), np.exp(log_softmax(A.T)).T, **tol)
    expected_ce = -log_softmax(A[:, :4])[np.arange(6), TARGET].mean()
    np.testing.assert_allclose(F.cross_entropy(a[:, :4], nnx.tensor(TARGET)).item(), expected_ce, **tol)
    np.testing.assert_allclose(F.mse_loss(a, nnx.from_numpy(layouts(A * 0.5, dtype)[layout])).item(),
                               np.mean((A * 0.5) ** 2), **tol)
    mean, var = A.mean(axis=1, keepdims=True), A.var(axis=1, keepdims=True)
    np.testing.assert_allclose(F.layer_norm(a, (9,)).numpy(), (A - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(F.embedding(nnx.tensor([[1, 0], [5, 2]]), a).numpy(), A[[[1, 0], [5, 2]]], **tol)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradients_through_every_layout_match_numpy(layout):
    a = nnx.from_numpy(layouts(A, np.float64)[layout]).requires_grad_()
    w = nnx.from_numpy(layouts(W, np.float64)[layout]).requires_grad_()
    weights = RNG.normal(size=(6, 4))
    (F.linear(a, w).tanh() * nnx.tensor(weights)).sum().backward()
    upstream = weights * (1 - np.tanh(A @ W.T) ** 2)
    np.testing.assert_allclose(a.grad.numpy(), upstream @ W, rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), upstream.T @ A, rtol=1e-10)
    assert a.grad.shape == a.shape and w.grad.numpy().flags.c_contiguous


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "cross_entropy"])
def test_loss_gradients_for_every_layout(layout, loss):
    logits = nnx.from_numpy(layouts(A[:, :4], np.float64)[layout]).requires_grad_()
    binary = nnx.from_numpy(layouts(A[:, 4:8] > 0, np.float64)[layout])
    target = nnx.tensor(TARGET) if loss == "cross_entropy" else binary
    getattr(F, loss)(logits, target).backward()
    reference = nnx.tensor(np.ascontiguousarray(A[:, :4]), requires_grad=True)
    getattr(F, loss)(reference, nnx.tensor(np.ascontiguousarray(target.numpy()))).backward()
    np.testing.assert_allclose(logits.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("target", [TARGET.astype(np.int32), TARGET.astype(np.uint8), TARGET.tolist(),
                                    np.repeat(TARGET, 2)[::2], nnx.tensor(TARGET.astype(np.int16))],
                         ids=["int32", "uint8", "list", "strided", "int16-tensor"])
def test_cross_entropy_takes_any_integer_target(target):
    logits = nnx.tensor(A[:, :4].astype(np.float32))
    expected = -log_softmax(A[:, :4])[np.arange(6), TARGET].mean()
    np.testing.assert_allclose(F.cross_entropy(logits, target).item(), expected, rtol=2e-5)


def test_integer_tensors_promote_like_pytorch():
    ints = nnx.tensor([1, 2, 3])
    assert (ints * 1.5).dtype == np.float32 and np.allclose((ints * 1.5).numpy(), [1.5, 3.0, 4.5])
    assert (ints + nnx.tensor([0.5, 0.5, 0.5])).dtype == np.float32
    assert (0.5 - ints).dtype == np.float32 and (ints ** 0.5).dtype == np.float32
    assert (ints / 2).dtype == np.float32 and (ints * 2).dtype == np.int64
    assert (ints * nnx.ones(3, dtype=np.float64)).dtype == np.float64  # a float64 operand keeps float64
    assert (nnx.ones(3) * np.float64(2.0)).dtype == np.float32  # a NumPy scalar is a Python number here


def test_lists_and_python_numbers_work_everywhere():
    t = nnx.tensor([[1.5, 2], [3, 4]])
    assert t.dtype == np.float32
    np.testing.assert_array_equal((t + [1, 2]).numpy(), [[2.5, 4], [4, 6]])
    np.testing.assert_array_equal(t[[0, 1], [1, 0]].numpy(), [2, 3])
    np.testing.assert_array_equal(nnx.tensor(np.int32(3)).numpy(), 3)
    np.testing.assert_array_equal(t.clamp(2, 3.5).numpy(), [[2, 2], [3, 3.5]])


def make_classifier(seed=0):
    nnx.manual_seed(seed)
    X = RNG.normal(size=(64, 9)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    learn = Learner((DataLoader(X, y, batch_size=16), None),
                    nn.Sequential(nn.Linear(9, 8), nn.ReLU(), nn.Linear(8, 2)), nn.CrossEntropyLoss(), verbose=False)
    learn.fit(1)
    return learn


@pytest.mark.parametrize("convert", [
    lambda a: a.tolist(), lambda a: a.astype(np.float64), lambda a: np.asfortranarray(a),
    lambda a: layouts(a, np.float32)["strided"], lambda a: np.round(a * 4).astype(np.int64) / 4,
    lambda a: a.astype(">f8"),
], ids=["list", "float64", "fortran", "strided", "int-valued-float64", "big-endian"])
def test_learner_predict_takes_everyday_arrays(convert):
    learn = make_classifier()
    X = np.round(A * 4).astype(np.float32) / 4  # exact in every dtype above
    expected = learn.predict(X)
    np.testing.assert_array_equal(learn.predict(convert(X)), expected)


def test_learner_predict_takes_integer_arrays():
    learn = make_classifier()
    X = RNG.integers(-2, 3, size=(10, 9))
    np.testing.assert_array_equal(learn.predict(X), learn.predict(X.astype(np.float32)))


@pytest.mark.parametrize("layout", ["F", "strided", "reversed"])
def test_data_loader_batches_equal_those_of_the_c_ordered_array(layout):
    X = layouts(A, np.float32)[layout]
    batches = list(DataLoader(X, TARGET.astype(np.int32), batch_size=4))
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), A.astype(np.float32))
    assert all(xb.numpy().flags.c_contiguous and yb.dtype == np.int64 for xb, yb in batches)


def test_data_loader_takes_lists_and_keeps_float64():
    batches = list(DataLoader(A.tolist(), TARGET.tolist(), batch_size=4))
    assert batches[0][0].dtype == np.float64 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), A)


def test_state_dict_from_fortran_float64_arrays_loads_cast():
    source = nn.Linear(9, 4)
    state = {k: np.asfortranarray(v.numpy().astype(np.float64)) for k, v in source.state_dict().items()}
    state["weight"] = layouts(state["weight"], np.float64)["strided"]
    target = nn.Linear(9, 4)
    target.load_state_dict(state)
    assert target.weight.dtype == np.float32 and target.weight.numpy().flags.c_contiguous
    np.testing.assert_array_equal(target.weight.numpy(), source.weight.numpy())


@pytest.mark.parametrize("convert", [lambda a: a.tolist(), np.asfortranarray, lambda a: a.astype(np.float32),
                                     lambda a: layouts(a, np.float64)["strided"]],
                         ids=["list", "fortran", "float32", "strided"])
def test_estimators_take_everyday_arrays(convert):
    sklearn = pytest.importorskip("nnx.sklearn")
    from sklearn.exceptions import ConvergenceWarning
    X = np.round(RNG.normal(size=(60, 9)) * 4) / 4
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = sklearn.MLPClassifier(max_iter=5, random_state=0).fit(X, y)
        other = sklearn.MLPClassifier(max_iter=5, random_state=0).fit(convert(X), list(y))
    np.testing.assert_allclose(other.predict_proba(convert(X)), reference.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_read_only_arrays_work_as_inputs_and_parameters():
    """Memory-mapped files and broadcast views are read-only: the kernels only read their inputs."""
    x = np.ascontiguousarray(A, dtype=np.float32)
    weight, bias = np.ascontiguousarray(W, dtype=np.float32), np.linspace(-1, 1, 4, dtype=np.float32)
    for array in (x, weight, bias):
        array.flags.writeable = False
    out = F.linear(nnx.from_numpy(x), nnx.from_numpy(weight), nnx.from_numpy(bias))
    np.testing.assert_allclose(out.numpy(), A @ W.T + bias, rtol=2e-5, atol=2e-5)
    saved = np.ascontiguousarray(np.maximum(A @ W.T, 0), dtype=np.float32)
    saved.flags.writeable = False
    grads = [np.empty((6, 4), np.float32), np.empty((6, 9), np.float32), np.empty((4, 9), np.float32),
             np.empty(4, np.float32)]
    grad_out = np.ones((6, 4), np.float32)
    grad_out.flags.writeable = False
    nnx._C.linear_backward(grad_out, x, weight, saved, *grads, "relu")
    np.testing.assert_allclose(grads[3], (saved > 0).sum(axis=0))


def test_the_mean_of_an_empty_tensor_backpropagates_without_warnings():
    empty = nnx.zeros(0, 3, requires_grad=True)
    loss = empty.mean()  # NaN, as in PyTorch
    loss.backward()  # pytest turns any RuntimeWarning into an error
    assert np.isnan(loss.item()) and empty.grad.shape == (0, 3)
