"""In-place arithmetic operators (`+=`, `-=`, ... and add_/mul_ ...): PyTorch's semantics (same object, same
storage, dtype rules, the leaf error, recorded in a graph), and the hand-written fit() of PyTorch's tutorial
"What is torch.nn really?", which trains only if `weights -= weights.grad * lr` writes in place."""
import math
import operator

import numpy as np
import pytest

import nnx

IN_PLACE = [(operator.iadd, np.add), (operator.isub, np.subtract), (operator.imul, np.multiply),
            (operator.itruediv, np.true_divide), (operator.ifloordiv, np.floor_divide), (operator.ipow, np.power)]


def tutorial_fit(lib, x_train, y_train, weights0, epochs=3, bs=64, lr=0.5):
    """The tutorial's model and loop, verbatim but for the data (`lib` is nnx or torch); returns the losses
    over the whole training set before and after training, the weights, and whether `weights` stayed one
    object."""
    x_train, y_train = lib.tensor(x_train), lib.tensor(y_train)
    weights = lib.tensor(weights0)
    weights.requires_grad_()
    bias = lib.zeros(weights0.shape[1], requires_grad=True)
    first = weights

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    n = x_train.shape[0]
    before = nll(model(x_train), y_train).item()
    for _ in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = nll(pred, yb)
            loss.backward()
            with lib.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    after = nll(model(x_train), y_train).item()
    return before, after, weights.detach().numpy().copy(), weights is first


def _tutorial_data(rng, n=256, features=20, classes=4):
    centers = rng.normal(0.0, 2.0, (classes, features))
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.normal(0.0, 1.0, (n, features))).astype(np.float32)
    weights0 = (rng.standard_normal((features, classes)) / math.sqrt(features)).astype(np.float32)
    return x, y.astype(np.int64), weights0


def test_tutorial_fit_trains(rng):
    x, y, weights0 = _tutorial_data(rng)
    before, after, weights, same_object = tutorial_fit(nnx, x, y, weights0)
    assert same_object
    assert after < 0.5 * before
    assert not np.array_equal(weights, weights0)


def test_tutorial_fit_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, y, weights0 = _tutorial_data(rng)
    ours = tutorial_fit(nnx, x, y, weights0)
    theirs = tutorial_fit(torch, x, y, weights0)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-3, abs=1e-4)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("op, reference", IN_PLACE, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_operators_write_into_the_same_storage(rng, op, reference, dtype):
    values = rng.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    other = rng.uniform(0.5, 2.0, (4,)).astype(dtype)
    a = nnx.tensor(values)
    view = a[1]
    alias = a.detach()
    result = op(a, nnx.tensor(other))
    expected = reference(values, other)
    assert result is a and a.dtype == dtype
    np.testing.assert_allclose(a.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(view.numpy(), expected[1], rtol=1e-6)  # views see the write
    np.testing.assert_allclose(alias.numpy(), expected, rtol=1e-6)
    op(a, 2)  # a Python scalar keeps the tensor's dtype
    assert a.dtype == dtype


@pytest.mark.parametrize("op, reference", [(operator.iand, np.bitwise_and), (operator.ior, np.bitwise_or),
                                           (operator.ixor, np.bitwise_xor)])
def test_bitwise_operators_in_place(rng, op, reference):
    values = rng.integers(0, 16, 6)
    other = rng.integers(0, 16, 6)
    a = nnx.tensor(values)
    storage = a.numpy()
    assert op(a, nnx.tensor(other)) is a
    np.testing.assert_array_equal(storage, reference(values, other))
    flags = nnx.tensor(values > 7)
    assert op(flags, nnx.tensor(other > 7)) is flags
    np.testing.assert_array_equal(flags.numpy(), reference(values > 7, other > 7))
    with pytest.raises(TypeError, match="bool or integer"):
        op(nnx.ones(2), 1)


def test_in_place_methods_share_the_operators_rules():
    a = nnx.tensor([1.0, 2.0])
    assert a.add_(nnx.tensor([1.0, 1.0]), alpha=2).sub_(1.0).mul_(3.0).div_(2.0).pow_(2) is a
    np.testing.assert_allclose(a.numpy(), ((np.array([1.0, 2.0]) + 2 - 1) * 3 / 2) ** 2)
    with pytest.raises(TypeError, match="mul_"):
        a.mul_("x")


@pytest.mark.parametrize("statement, message", [
    ("a /= 2", "result type Float can't be cast to the desired output type Long"),
    ("a += 1.5", "result type Float can't be cast to the desired output type Long"),
    ("a.div_(nnx.tensor([2, 2, 2]))", "result type Float can't be cast"),
    ("b += 1", "result type Long can't be cast to the desired output type Bool"),
    ("f += nnx.ones(2, 3)", r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
])
def test_in_place_dtype_and_shape_rules_are_torchs(statement, message):
    a = nnx.tensor([1, 2, 3])
    b = nnx.tensor([True, False, True])
    f = nnx.ones(3)
    saved = (a.numpy().copy(), b.numpy().copy(), f.numpy().copy())
    with pytest.raises(RuntimeError, match=message):
        exec(statement)
    for tensor, before in zip((a, b, f), saved):
        np.testing.assert_array_equal(tensor.numpy(), before)  # nothing was written


def test_in_place_downcasts_within_a_kind_as_torch():
    a = nnx.tensor([1, 2, 3], dtype=nnx.int32)
    a += nnx.tensor([1, 1, 1])  # int64 into int32
    f = nnx.ones(2)
    f += np.array([0.5, 0.25])  # float64 into float32
    assert a.dtype == np.int32 and a.tolist() == [2, 3, 4]
    assert f.dtype == np.float32 and f.tolist() == [1.5, 1.25]


def test_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = nnx.tensor([1.0, 2.0], requires_grad=True)
    for op, _ in IN_PLACE:
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            op(w, 1.0)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    with nnx.no_grad():
        w -= 0.5
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.numpy(), [0.5, 1.5])


def test_non_leaf_in_place_ops_are_recorded(rng):
    values = rng.uniform(0.5, 2.0, 5)
    x = nnx.tensor(values, requires_grad=True)
    y = x * 1.0
    y *= x  # x^2
    y += 3.0  # x^2 + 3
    y **= 2  # (x^2 + 3)^2
    y /= x  # (x^2 + 3)^2 / x
    y -= x  # (x^2 + 3)^2 / x - x
    y.sum().backward()
    s = values ** 2 + 3
    expected = 4 * s - s ** 2 / values ** 2 - 1
    assert not y.is_leaf and y.grad_fn is not None
    np.testing.assert_allclose(y.numpy(), s ** 2 / values - values, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10)


def test_writing_a_tensor_that_requires_grad_into_a_plain_one_records_it():
    w = nnx.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = nnx.zeros(3)
    a += w * 2
    a *= w
    assert a.requires_grad and not a.is_leaf
    a.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 4 * np.array([1.0, 2.0, 3.0]))


def test_in_place_on_a_graph_view_is_refused_clearly():
    x = nnx.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    row = h[1:]
    with pytest.raises(RuntimeError, match="view in the autograd graph"):
        row += 1
    with pytest.raises(RuntimeError, match="view in the autograd graph"):
        h += 1


def test_matmul_assignment_rebinds_as_in_torch():
    a = nnx.ones(2, 3)
    first = a
    a @= nnx.ones(3, 2)
    assert a is not first and a.shape == (2, 2) and first.shape == (2, 3)
    np.testing.assert_array_equal(a.numpy(), np.full((2, 2), 3.0))


def test_operators_match_torch(rng):
    torch = pytest.importorskip("torch")
    values = rng.uniform(0.5, 2.0, (2, 3))
    for op, _ in IN_PLACE:
        ours, theirs = nnx.tensor(values), torch.tensor(values)
        op(ours, nnx.tensor(values[0]))
        op(theirs, torch.tensor(values[0]))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    x = nnx.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    for _lib, leaf in ((nnx, x), (torch, tx)):
        y = leaf * 2
        y *= leaf
        y -= 1
        (y ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
