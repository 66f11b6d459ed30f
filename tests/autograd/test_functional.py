"""nnx.nn.functional against NumPy float64 references (forward, finite-difference gradients, float32)."""
import math

import numpy as np
import pytest
from opcheck import check_op

import nnx
import nnx.nn.functional as F
from ops.losses import cross_entropy_reference

_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "sigmoid": (F.sigmoid, _sigmoid),
    "tanh": (F.tanh, np.tanh),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    "silu": (F.silu, lambda x: x * _sigmoid(x)),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x))),
    "softplus_beta": (lambda x: F.softplus(x, beta=3.0, threshold=4.0),
                      lambda x: np.where(3 * x > 4, x, np.log1p(np.exp(3 * x)) / 3)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(1,), (3, 17), (2, 3, 5)])
def test_activations(rng, name, shape):
    op, reference = ACTIVATIONS[name]
    check_op(op, reference, shape, rng=rng)


def test_activations_above_the_openmp_threshold(rng):
    x = rng.uniform(-3, 3, size=40_003)
    for name, (op, reference) in ACTIVATIONS.items():
        np.testing.assert_allclose(op(nnx.tensor(x.astype(np.float32))).numpy(), reference(x), rtol=2e-5, atol=2e-6,
                                   err_msg=name)


@pytest.mark.parametrize("inplace_op", [lambda x: F.relu(x, inplace=True), lambda x: F.silu(x, inplace=True),
                                        lambda x: F.leaky_relu(x, 0.1, inplace=True)])
def test_inplace_activations_rebase_the_graph(rng, inplace_op):
    data = rng.uniform(-2, 2, size=(4, 5))
    x = nnx.tensor(data, requires_grad=True)
    hidden = x * 2.0
    result = inplace_op(hidden)
    assert result is hidden
    result.sum().backward()
    reference = nnx.tensor(data, requires_grad=True)
    inplace_op(reference * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        inplace_op(nnx.tensor(data, requires_grad=True))
    plain = nnx.tensor(data)
    view = plain.numpy()
    inplace_op(plain)
    assert plain.numpy() is view  # without a graph the storage itself is updated


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax(rng, dim):
    check_op(lambda x: F.softmax(x, dim), lambda x: np.exp(_log_softmax(x, dim)), (4, 3, 5), rng=rng)
    check_op(lambda x: F.log_softmax(x, dim=dim), lambda x: _log_softmax(x, dim), (4, 3, 5), rng=rng)


def test_softmax_without_dim_warns_like_pytorch(rng):
    x = nnx.tensor(rng.uniform(size=(2, 3)))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy().sum(1), [1.0, 1.0])


# --- linear ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(5, 4), (1, 4), (4,), (2, 3, 4), (33, 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear(rng, x_shape, with_bias):
    if with_bias:
        check_op(F.linear, lambda x, w, b: x @ w.T + b, x_shape, (3, 4), (3,), rng=rng)
    else:
        check_op(F.linear, lambda x, w: x @ w.T, x_shape, (3, 4), rng=rng)


LINEAR_ACTIVATIONS = {
    "none": lambda z: z, "relu": lambda z: np.maximum(z, 0), "leaky_relu": lambda z: np.where(z > 0, z, 0.05 * z),
    "sigmoid": _sigmoid, "tanh": np.tanh, "gelu": ACTIVATIONS["gelu"][1], "gelu_tanh": ACTIVATIONS["gelu_tanh"][1],
}


@pytest.mark.parametrize("activation", sorted(LINEAR_ACTIVATIONS))
def test_fused_linear_matches_reference_and_unfused_composition(rng, activation):
    act = LINEAR_ACTIVATIONS[activation]
    check_op(lambda x, w, b: F.fused_linear(x, w, b, activation, negative_slope=0.05),
             lambda x, w, b: act(x @ w.T + b), (7, 5), (6, 5), (6,), rng=rng)
    unfused = {"none": lambda z: z, "relu": F.relu, "leaky_relu": lambda z: F.leaky_relu(z, 0.05),
               "sigmoid": F.sigmoid, "tanh": F.tanh, "gelu": F.gelu,
               "gelu_tanh": lambda z: F.gelu(z, approximate="tanh")}[activation]
    data = [rng.uniform(-1, 1, size=shape).astype(np.float32) for shape in ((9, 5), (6, 5), (6,))]
    fused_inputs = [nnx.tensor(a, requires_grad=True) for a in data]
    plain_inputs = [nnx.tensor(a, requires_grad=True) for a in data]
    fused = F.fused_linear(*fused_inputs, activation, 0.05)
    plain = unfused(F.linear(*plain_inputs))
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5, atol=1e-6)
    weights = nnx.tensor(rng.uniform(-1, 1, size=(9, 6)).astype(np.float32))
    (fused * weights).sum().backward()
    (plain * weights).sum().backward()
    for a, b in zip(fused_inputs, plain_inputs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_linear_gradients_accumulate_into_existing_grads(rng):
    x = nnx.tensor(rng.uniform(-1, 1, size=(4, 3)))
    w = nnx.tensor(rng.uniform(-1, 1, size=(2, 3)), requires_grad=True)
    F.linear(x, w).sum().backward()
    once = w.grad.numpy().copy()
    F.linear(x, w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * once)


# --- dropout and embedding ---------------------------------------------------------------------------------
def test_dropout_scales_kept_elements_and_is_seeded(rng):
    data = rng.uniform(1, 2, size=(200, 201)).astype(np.float32)
    x = nnx.tensor(data, requires_grad=True)
    nnx.manual_seed(7)
    out = F.dropout(x, p=0.3)
    kept = out.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(out.numpy()[kept], data[kept] / 0.7, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    nnx.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(nnx.tensor(data), 0.3).numpy(), out.numpy())
    assert not np.array_equal(F.dropout(nnx.tensor(data), 0.3).numpy(), out.numpy())  # the stream moves on


def test_dropout_edge_probabilities_and_eval_mode(rng):
    x = nnx.tensor(rng.uniform(1, 2, size=(3, 4)), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    zeros = F.dropout(x, 1.0)
    assert np.all(zeros.numpy() == 0)
    zeros.sum().backward()
    assert np.all(x.grad.numpy() == 0)
    for p in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="dropout probability"):
            F.dropout(x, p)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(rng, padding_idx):
    indices = np.array([[0, 2, 4], [2, 2, 1]])
    skip = {None: -1, 2: 2, -1: 4}[padding_idx]

    def reference_grad_mask(w):
        return w[indices]
    weight = nnx.tensor(rng.uniform(-1, 1, size=(5, 3)), requires_grad=True)
    out = F.embedding(nnx.tensor(indices), weight, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.numpy(), reference_grad_mask(weight.numpy()))
    upstream = rng.uniform(-1, 1, size=out.shape)
    out.backward(nnx.tensor(upstream))
    expected = np.zeros((5, 3))
    np.add.at(expected, indices, upstream)
    if skip >= 0:
        expected[skip] = 0
    np.testing.assert_allclose(weight.grad.numpy(), expected)


def test_one_hot():
    out = F.one_hot(nnx.tensor([0, 2, 1]), 4)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(nnx.tensor([[1], [3]])).shape == (2, 1, 4)
    with pytest.raises(RuntimeError, match="num_classes"):
        F.one_hot(nnx.tensor([5]), 3)
    with pytest.raises(TypeError, match="tensor"):
        F.one_hot(nnx.tensor([1.0]), 3)


# --- losses ----------------------------------------------------------------------------------------------------
def _cross_entropy_reference(x, target, weight=None, **options):
    """The loss of tests/ops/losses.py's cross-entropy reference (the one reference of the suite)."""
    return cross_entropy_reference(x, target, weight=weight, **options)[0]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("N,C", [(1, 1), (5, 3), (17, 10)])
def test_cross_entropy(rng, reduction, label_smoothing, weighted, N, C):
    target = rng.integers(0, C, size=N)
    if N > 2:
        target[1] = -100
    weight = rng.uniform(0.5, 2.0, size=C) if weighted else None
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    check_op(lambda x, t: F.cross_entropy(x, t, weight=None if weight is None else nnx.tensor(weight), **options),
             lambda x, t: _cross_entropy_reference(x, t, weight, **options), (N, C), target, rng=rng)


def test_cross_entropy_upstream_gradient_of_one_uses_the_fused_gradient(rng):
    x = rng.uniform(-3, 3, size=(6, 4))
    target = rng.integers(0, 4, size=6)
    logits = nnx.tensor(x, requires_grad=True)
    F.cross_entropy(logits, nnx.tensor(target)).backward()
    probabilities = np.exp(_log_softmax(x, 1))
    probabilities[np.arange(6), target] -= 1
    np.testing.assert_allclose(logits.grad.numpy(), probabilities / 6, rtol=1e-12)
    F.cross_entropy(logits, nnx.tensor(target)).backward()  # accumulates
    np.testing.assert_allclose(logits.grad.numpy(), 2 * probabilities / 6, rtol=1e-12)


def test_cross_entropy_shapes_1d_and_kd(rng):
    target_kd = rng.integers(0, 3, size=(2, 4))
    check_op(lambda x: F.cross_entropy(x, target_kd, reduction="none"),
             lambda x: _cross_entropy_reference(np.moveaxis(x, 1, -1).reshape(-1, 3), target_kd.reshape(-1),
                                                reduction="none").reshape(2, 4), (2, 3, 4), rng=rng)
    check_op(lambda x: F.cross_entropy(x, target_kd),
             lambda x: _cross_entropy_reference(np.moveaxis(x, 1, -1).reshape(-1, 3), target_kd.reshape(-1)),
             (2, 3, 4), rng=rng)
    check_op(lambda x: F.cross_entropy(x, np.array(2)), lambda x: -_log_softmax(x)[2], (5,), rng=rng)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_with_class_probabilities(rng, label_smoothing):
    probabilities = np.exp(_log_softmax(rng.uniform(-1, 1, size=(4, 3)), 1))
    smoothed = probabilities * (1 - label_smoothing) + label_smoothing / 3
    check_op(lambda x: F.cross_entropy(x, nnx.tensor(probabilities), label_smoothing=label_smoothing),
             lambda x: -(_log_softmax(x, 1) * smoothed).sum(1).mean(), (4, 3), rng=rng, float32=False)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(rng, reduction):
    target = np.array([0, 2, -100, 1, 2])
    weight = rng.uniform(0.5, 2, size=3)

    def reference(x):
        valid = target != -100
        safe = np.where(valid, target, 0)
        losses = -x[np.arange(5), safe] * weight[safe] * valid
        if reduction == "none":
            return losses
        return losses.sum() if reduction == "sum" else losses.sum() / (weight[safe] * valid).sum()
    check_op(lambda x: F.nll_loss(x, nnx.tensor(target), weight=nnx.tensor(weight), reduction=reduction), reference,
             (5, 3), rng=rng)


POINTWISE = {
    "mse_loss": (F.mse_loss, lambda x, t: (x - t) ** 2),
    "l1_loss": (F.l1_loss, lambda x, t: np.abs(x - t)),
    "bce_with_logits": (F.binary_cross_entropy_with_logits,
                        lambda x, t: np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))),
}


@pytest.mark.parametrize("name", sorted(POINTWISE))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(1,), (7, 3), (2, 3, 5)])
def test_pointwise_losses_and_their_target_gradients(rng, name, reduction, shape):
    op, elementwise = POINTWISE[name]
    reducer = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    low = 0.0 if name == "bce_with_logits" else -2.0
    check_op(lambda x, t: op(x, t, reduction=reduction), lambda x, t: reducer(elementwise(x, t)), shape, shape,
             rng=rng, low=low)


def test_bce_with_logits_pos_weight_and_weight(rng):
    pos_weight = rng.uniform(0.5, 3.0, size=4)
    weight = rng.uniform(0.5, 1.5, size=(3, 4))

    def reference(x, t):
        log_sigmoid, log_one_minus = -np.log1p(np.exp(-x)), -np.log1p(np.exp(x))
        return (-(pos_weight * t * log_sigmoid + (1 - t) * log_one_minus) * weight).mean()
    check_op(lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=nnx.tensor(weight),
                                                             pos_weight=nnx.tensor(pos_weight)),
             reference, (3, 4), (3, 4), rng=rng, low=0.0, high=1.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(rng, reduction):
    reducer = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    check_op(lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction),
             lambda p, t: reducer(-(t * np.log(p) + (1 - t) * np.log(1 - p))), (4, 3), (4, 3), rng=rng,
             low=0.15, high=0.85)


def test_losses_accept_targets_of_other_dtypes_and_plain_arrays(rng):
    x = nnx.tensor(rng.uniform(-1, 1, size=(3, 2)).astype(np.float32))
    loss = F.mse_loss(x, np.ones((3, 2)))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), ((x.numpy() - 1) ** 2).mean(), rtol=1e-6)


# --- normalisation ---------------------------------------------------------------------------------------------
def _normalize(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize("shape,normalized", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((1, 7), 7)])
def test_layer_norm(rng, shape, normalized):
    param_shape = (normalized,) if isinstance(normalized, int) else normalized
    axes = tuple(range(len(shape) - len(param_shape), len(shape)))
    check_op(lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-5),
             lambda x, w, b: _normalize(x, axes, 1e-5) * w + b, shape, param_shape, param_shape, rng=rng,
             float32_scale=5)
    check_op(lambda x: F.layer_norm(x, normalized), lambda x: _normalize(x, axes, 1e-5), shape, rng=rng,
             float32_scale=5)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_training_updates_running_stats(rng, shape):
    axes = (0,) + tuple(range(2, len(shape)))
    channel = (1, 3) + (1,) * (len(shape) - 2)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: _normalize(x, axes, 1e-5) * w.reshape(channel) + b.reshape(channel), shape, (3,), (3,),
             rng=rng, float32_scale=5)
    data = rng.uniform(-1, 1, size=shape)
    running_mean, running_var = nnx.zeros(3, dtype=nnx.float64), nnx.ones(3, dtype=nnx.float64)
    F.batch_norm(nnx.tensor(data), running_mean, running_var, training=True, momentum=0.2)
    count = data.size // 3
    np.testing.assert_allclose(running_mean.numpy(), 0.2 * data.mean(axis=axes))
    np.testing.assert_allclose(running_var.numpy(), 0.8 + 0.2 * data.var(axis=axes) * count / (count - 1))


def test_batch_norm_eval_uses_running_stats(rng):
    mean, var = rng.uniform(-1, 1, size=3), rng.uniform(0.5, 2, size=3)
    check_op(lambda x, w: F.batch_norm(x, nnx.tensor(mean), nnx.tensor(var), w, None, training=False, eps=1e-3),
             lambda x, w: (x - mean) / np.sqrt(var + 1e-3) * w, (5, 3), (3,), rng=rng, float32=False)


def test_native_paths_above_the_openmp_threshold(rng):
    """Linear, softmax and cross-entropy on inputs of more than 32768 elements, float32 vs float64 math."""
    x = rng.uniform(-1, 1, size=(20_001, 3))
    w, b = rng.uniform(-1, 1, size=(2, 3)), rng.uniform(-1, 1, size=2)
    target = rng.integers(0, 3, size=20_001)
    inputs = [nnx.tensor(a.astype(np.float32), requires_grad=True) for a in (x, w, b)]
    out = F.fused_linear(*inputs, "tanh")
    np.testing.assert_allclose(out.numpy(), np.tanh(x @ w.T + b), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    grad_pre = 1 - np.tanh(x @ w.T + b) ** 2
    np.testing.assert_allclose(inputs[1].grad.numpy(), grad_pre.T @ x, rtol=1e-4)
    np.testing.assert_allclose(inputs[2].grad.numpy(), grad_pre.sum(0), rtol=1e-4)

    logits = nnx.tensor(x.astype(np.float32), requires_grad=True)
    np.testing.assert_allclose(F.softmax(logits, 1).numpy(), np.exp(_log_softmax(x, 1)), rtol=1e-5, atol=1e-7)
    loss = F.cross_entropy(logits, nnx.tensor(target), label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), _cross_entropy_reference(x, target, label_smoothing=0.1), rtol=1e-5)
    loss.backward()
    expected = np.exp(_log_softmax(x, 1)) - 0.1 / 3
    expected[np.arange(len(x)), target] -= 0.9
    np.testing.assert_allclose(logits.grad.numpy(), expected / len(x), rtol=1e-4, atol=1e-9)
