"""nnx.nn layers and losses against hand-written NumPy float64 references: forward values and the
gradients of every input and parameter (upstream gradient random, never ones)."""
import math

import numpy as np
import pytest

import nnx
from nnx import nn

erf = np.vectorize(math.erf)


def run(module, *inputs, upstream=None, rng=None):
    """Forward, then backward of sum(out * upstream); returns (out, upstream, input grads)."""
    tensors = [nnx.tensor(x, requires_grad=np.asarray(x).dtype.kind == "f") for x in inputs]
    out = module(*tensors)
    if upstream is None:
        upstream = rng.normal(size=out.shape).astype(out.dtype)
    (out * nnx.tensor(upstream)).sum().backward()
    return out.numpy(), upstream, [t.grad.numpy() if t.grad is not None else None for t in tensors]


def close(actual, expected, dtype=np.float64):
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=3e-5, atol=3e-6)
    np.testing.assert_allclose(actual, expected, **tolerance)


# --- Linear ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch,n_in,n_out", [(1, 1, 1), (7, 5, 3), (33, 17, 40)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(rng, dtype, batch, n_in, n_out, bias):
    layer = nn.Linear(n_in, n_out, bias=bias, dtype=dtype)
    x = rng.normal(size=(batch, n_in)).astype(dtype)
    out, g, (dx,) = run(layer, x, rng=rng)
    W = layer.weight.numpy().astype(np.float64)
    b = layer.bias.numpy().astype(np.float64) if bias else 0.0
    close(out, x.astype(np.float64) @ W.T + b, dtype)
    close(dx, g @ W, dtype)
    close(layer.weight.grad.numpy(), g.T.astype(np.float64) @ x, dtype)
    if bias:
        close(layer.bias.grad.numpy(), g.astype(np.float64).sum(0), dtype)
    else:
        assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]


def test_linear_on_3d_input(rng):
    layer = nn.Linear(4, 2, dtype=np.float64)
    x = rng.normal(size=(3, 5, 4))
    out, g, (dx,) = run(layer, x, rng=rng)
    close(out, x @ layer.weight.numpy().T + layer.bias.numpy())
    close(dx, g @ layer.weight.numpy())


def test_linear_default_init_is_pytorchs():
    nnx.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert p.dtype == np.float32 and np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(layer.weight.numpy().std() - bound / math.sqrt(3)) < 0.02 * bound
    nnx.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.numpy(), layer.weight.numpy())


# --- activations --------------------------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(np.minimum(beta * x, threshold))) / beta)


GELU_C = math.sqrt(2 / math.pi)

ACTIVATIONS = {  # module, f(x), f'(x)
    "relu": (nn.ReLU(), lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "leaky_relu": (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2)),
    "sigmoid": (nn.Sigmoid(), sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "tanh": (nn.Tanh(), np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "gelu": (nn.GELU(), lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    "gelu_tanh": (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(GELU_C * (x + 0.044715 * x**3))),
                  lambda x: 0.5 * (1 + np.tanh(GELU_C * (x + 0.044715 * x**3)))
                  + 0.5 * x * (1 - np.tanh(GELU_C * (x + 0.044715 * x**3)) ** 2) * GELU_C * (1 + 3 * 0.044715 * x**2)),
    "silu": (nn.SiLU(), lambda x: x * sigmoid(x), lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x)))),
    "softplus": (nn.Softplus(beta=2.0, threshold=3.0), lambda x: softplus(x, 2.0, 3.0),
                 lambda x: np.where(2 * x > 3.0, 1.0, sigmoid(2 * x))),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (5, 7), (2, 3, 4), (40_003,)])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(rng, dtype, shape, name):
    module, f, df = ACTIVATIONS[name]
    x = rng.uniform(-3, 3, size=shape).astype(dtype)
    out, g, (dx,) = run(module, x, rng=rng)
    x64 = x.astype(np.float64)
    close(out, f(x64), dtype)
    close(dx, g * df(x64), dtype)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_modules(rng, dim, log):
    x = rng.normal(size=(4, 6)) * 3
    module = nn.LogSoftmax(dim=dim) if log else nn.Softmax(dim=dim)
    out, g, (dx,) = run(module, x, rng=rng)
    shifted = x - x.max(axis=dim, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=dim, keepdims=True)
    if log:
        close(out, np.log(p))
        close(dx, g - p * g.sum(axis=dim, keepdims=True))
    else:
        close(out, p)
        close(dx, p * (g - (g * p).sum(axis=dim, keepdims=True)))


def test_softmax_without_dim_warns_and_uses_pytorchs_choice(rng):
    x = nnx.tensor(rng.normal(size=(3, 4)))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)


# --- Dropout -------------------------------------------------------------------------------------------
def test_dropout_training_and_eval(rng):
    layer = nn.Dropout(p=0.3)
    x = rng.uniform(0.5, 1.5, size=(200, 301))
    out, g, (dx,) = run(layer, x, rng=rng)
    kept = out != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    close(out[kept], x[kept] / 0.7)
    close(dx, g * kept / 0.7)
    layer.eval()
    out, g, (dx,) = run(layer, x, rng=rng)
    close(out, x)
    close(dx, g)


def test_dropout_is_reproducible_with_manual_seed(rng):
    x = nnx.tensor(rng.normal(size=(50, 50)))
    nnx.manual_seed(3)
    first = nn.Dropout(0.5)(x).numpy().copy()
    nnx.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).numpy(), first)


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5"])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(p)


# --- Embedding ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding(rng, padding_idx):
    layer = nn.Embedding(7, 4, padding_idx=padding_idx, dtype=np.float64)
    if padding_idx is not None:
        assert not layer.weight.numpy()[padding_idx].any()
    indices = np.array([[0, 2, 2], [6, 1, 2]], dtype=np.int64)
    out, g, _ = run(layer, indices, rng=rng)
    close(out, layer.weight.numpy()[indices])
    expected = np.zeros((7, 4))
    np.add.at(expected, indices.ravel(), g.reshape(-1, 4))
    if padding_idx is not None:
        expected[padding_idx] = 0
    close(layer.weight.grad.numpy(), expected)


def test_embedding_init_is_standard_normal_and_checks():
    nnx.manual_seed(1)
    weight = nn.Embedding(1000, 50).weight.numpy()
    assert abs(weight.mean()) < 0.01 and abs(weight.std() - 1) < 0.01
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(IndexError):
        nn.Embedding(5, 2)(nnx.tensor(np.array([5])))
    frozen = nn.Embedding.from_pretrained(np.eye(3))
    assert not frozen.weight.requires_grad and repr(frozen) == "Embedding(3, 3)"


# --- normalisation --------------------------------------------------------------------------------------
def batch_norm_reference(x, g, gamma, beta, eps, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * rstd
    shape = [1] * x.ndim
    shape[1] = -1
    out = xhat * gamma.reshape(shape) + beta.reshape(shape)
    count = x.size / x.shape[1]
    gx = g * gamma.reshape(shape)
    dx = rstd / count * (count * gx - gx.sum(axis=axes, keepdims=True)
                         - xhat * (gx * xhat).sum(axis=axes, keepdims=True))
    return out, dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


@pytest.mark.parametrize("shape", [(8, 3), (5, 4, 6), (2, 1)])
def test_batchnorm_training(rng, shape):
    layer = nn.BatchNorm1d(shape[1], momentum=0.2, dtype=np.float64)
    layer.weight.numpy()[:] = rng.normal(size=shape[1])
    layer.bias.numpy()[:] = rng.normal(size=shape[1])
    x = rng.normal(size=shape) * 2 + 1
    out, g, (dx,) = run(layer, x, rng=rng)
    axes = (0, 2) if len(shape) == 3 else (0,)
    expected, expected_dx, dgamma, dbeta = batch_norm_reference(x, g, layer.weight.numpy(), layer.bias.numpy(),
                                                                1e-5, axes)
    close(out, expected)
    close(dx, expected_dx)
    close(layer.weight.grad.numpy(), dgamma)
    close(layer.bias.grad.numpy(), dbeta)
    count = x.size / shape[1]
    close(layer.running_mean.numpy(), 0.2 * x.mean(axis=axes))
    close(layer.running_var.numpy(), 0.8 + 0.2 * x.var(axis=axes) * count / (count - 1))
    assert int(layer.num_batches_tracked.numpy()) == 1


def test_batchnorm_eval_uses_running_stats(rng):
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    layer.running_mean.numpy()[:] = [0.5, -1.0, 2.0]
    layer.running_var.numpy()[:] = [1.5, 0.25, 4.0]
    layer.eval()
    x = rng.normal(size=(4, 3))
    out, g, (dx,) = run(layer, x, rng=rng)
    rstd = 1 / np.sqrt(layer.running_var.numpy() + 1e-5)
    close(out, (x - layer.running_mean.numpy()) * rstd)
    close(dx, g * rstd)
    assert int(layer.num_batches_tracked.numpy()) == 0


def test_batchnorm_cumulative_average_and_no_affine(rng):
    layer = nn.BatchNorm1d(2, momentum=None, affine=False, dtype=np.float64)
    assert list(layer.parameters()) == []
    batches = [rng.normal(size=(6, 2)) for _ in range(3)]
    for x in batches:
        layer(nnx.tensor(x))
    close(layer.running_mean.numpy(), np.mean([x.mean(0) for x in batches], axis=0))


def test_batchnorm_bad_input(rng):
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(nnx.tensor(rng.normal(size=(2, 3, 4, 5)).astype(np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(nnx.tensor(rng.normal(size=(1, 3)).astype(np.float32)))
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(3)(nnx.tensor(rng.normal(size=(4, 5)).astype(np.float32)))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_refused_input_leaves_counter_and_running_stats_alone(rng, momentum):
    layer, fresh = nn.BatchNorm1d(3, momentum=momentum), nn.BatchNorm1d(3, momentum=momentum)
    first = nnx.tensor(rng.normal(size=(5, 3)).astype(np.float32))
    layer(first), fresh(first)
    refused = [rng.normal(size=(1, 3)).astype(np.float32),  # one value per channel
               rng.integers(0, 9, size=(4, 3)),  # integers
               rng.normal(size=(4, 3)),  # float64 into float32 running statistics
               rng.normal(size=(4, 3, 2, 2)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32)]
    for bad in refused:
        with pytest.raises((TypeError, ValueError)):
            layer(nnx.tensor(bad))
    assert int(layer.num_batches_tracked.numpy()) == 1
    second = nnx.tensor(rng.normal(size=(7, 3)).astype(np.float32) * 3 + 1)
    layer(second), fresh(second)  # the cumulative average (momentum=None) weighs this batch 1/2, as if no refusal
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(layer, name).numpy(), getattr(fresh, name).numpy(), err_msg=name)


@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5)), ((3, 1), (1,))])
def test_layernorm(rng, shape, normalized):
    layer = nn.LayerNorm(normalized, dtype=np.float64)
    layer.weight.numpy()[...] = rng.normal(size=normalized)
    layer.bias.numpy()[...] = rng.normal(size=normalized)
    x = rng.normal(size=shape) * 3 + 1
    out, g, (dx,) = run(layer, x, rng=rng)
    axes = tuple(range(len(shape) - len(normalized), len(shape)))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + 1e-5)
    xhat = (x - mean) * rstd
    w = layer.weight.numpy()
    close(out, xhat * w + layer.bias.numpy())
    gw = g * w
    close(dx, rstd * (gw - gw.mean(axis=axes, keepdims=True) - xhat * (gw * xhat).mean(axis=axes, keepdims=True)))
    batch_axes = tuple(range(len(shape) - len(normalized)))
    close(layer.weight.grad.numpy(), (g * xhat).sum(axis=batch_axes))
    close(layer.bias.grad.numpy(), g.sum(axis=batch_axes))


# --- shape modules ----------------------------------------------------------------------------------------
def test_flatten_and_identity(rng):
    x = rng.normal(size=(2, 3, 4))
    out, g, (dx,) = run(nn.Flatten(), x, rng=rng)
    close(out, x.reshape(2, 12))
    close(dx, g.reshape(2, 3, 4))
    out, _, _ = run(nn.Flatten(0, 1), x, rng=rng)
    assert out.shape == (6, 4)
    out, g, (dx,) = run(nn.Identity(54, unused=True), x, rng=rng)
    close(out, x)
    close(dx, g)


# --- losses -----------------------------------------------------------------------------------------------
def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_loss(rng, reduction, smoothing):
    logits = rng.normal(size=(9, 5)) * 2
    target = rng.integers(0, 5, size=9)
    target[3] = -100  # ignored
    loss_fn = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    upstream = rng.normal(size=9) if reduction == "none" else np.array(1.7)
    out, _, (dlogits, _) = run(loss_fn, logits, target, upstream=upstream)
    logp = log_softmax(logits)
    onehot = np.zeros_like(logits)
    kept = target != -100
    onehot[np.flatnonzero(kept), target[kept]] = 1
    q = (1 - smoothing) * onehot + smoothing / 5 * kept[:, None]
    per_row = -(q * logp).sum(axis=1)
    d_rows = np.exp(logp) * kept[:, None] - q
    if reduction == "none":
        close(out, per_row)
        close(dlogits, d_rows * upstream[:, None])
    elif reduction == "sum":
        close(out, per_row.sum())
        close(dlogits, d_rows * upstream)
    else:
        close(out, per_row.sum() / kept.sum())
        close(dlogits, d_rows * upstream / kept.sum())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(rng, reduction, weighted):
    logp = log_softmax(rng.normal(size=(7, 4)))
    target = rng.integers(0, 4, size=7)
    target[2] = 1
    target[5] = -100
    weight = rng.uniform(0.5, 2, size=4) if weighted else None
    upstream = rng.normal(size=7) if reduction == "none" else np.array(0.8)
    out, _, (dlogp, _) = run(nn.NLLLoss(weight=weight, reduction=reduction), logp, target, upstream=upstream)
    kept = target != -100
    w = np.where(kept, (weight if weighted else np.ones(4))[np.where(kept, target, 0)], 0.0)
    per_row = -logp[np.arange(7), np.where(kept, target, 0)] * w
    grad_rows = np.zeros_like(logp)
    grad_rows[np.arange(7), np.where(kept, target, 0)] = -w
    if reduction == "none":
        close(out, per_row)
        close(dlogp, grad_rows * upstream[:, None])
    elif reduction == "sum":
        close(out, per_row.sum())
        close(dlogp, grad_rows * upstream)
    else:
        close(out, per_row.sum() / w.sum())
        close(dlogp, grad_rows * upstream / w.sum())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse", "l1", "bce"])
def test_regression_and_binary_losses(rng, reduction, name):
    x = rng.normal(size=(6, 3))
    if name == "bce":
        target = rng.uniform(0, 1, size=(6, 3))
        pos_weight = rng.uniform(0.5, 3, size=3)
        module = nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=pos_weight)
        log_sig, log_one_minus = -np.logaddexp(0, -x), -np.logaddexp(0, x)
        per = -(pos_weight * target * log_sig + (1 - target) * log_one_minus)
        dper = (pos_weight * target + 1 - target) * sigmoid(x) - pos_weight * target
    elif name == "mse":
        target = rng.normal(size=(6, 3))
        module, per, dper = nn.MSELoss(reduction=reduction), (x - target) ** 2, 2 * (x - target)
    else:
        target = rng.normal(size=(6, 3))
        module, per, dper = nn.L1Loss(reduction=reduction), np.abs(x - target), np.sign(x - target)
    upstream = rng.normal(size=(6, 3)) if reduction == "none" else np.array(1.3)
    out, _, (dx, _) = run(module, x, target, upstream=upstream)
    scale = 1 / x.size if reduction == "mean" else 1.0
    close(out, per if reduction == "none" else per.sum() * scale)
    close(dx, dper * upstream * scale)


@pytest.mark.parametrize("cls", [nn.CrossEntropyLoss, nn.MSELoss, nn.L1Loss, nn.BCEWithLogitsLoss, nn.NLLLoss])
def test_losses_reject_bad_reduction(cls):
    with pytest.raises(ValueError, match="reduction"):
        cls(reduction="average")


def test_legacy_size_average_and_reduce_flags():
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"


@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.Linear(-1, 2), ValueError, "in_features"),
    (lambda: nn.Linear(2, 2.5), ValueError, "out_features"),
    (lambda: nn.Linear(2, 2, dtype=np.int32), TypeError, "dtype"),
    (lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, "momentum"),
    (lambda: nn.BatchNorm1d(3, eps=0), ValueError, "eps"),
    (lambda: nn.LayerNorm(0), ValueError, "normalized_shape"),
    (lambda: nn.Embedding(4, -2), ValueError, "embedding_dim"),
    (lambda: nn.Embedding(4, 2, max_norm=1.0), NotImplementedError, "max_norm"),
    (lambda: nn.Embedding.from_pretrained(np.zeros(3)), ValueError, "2-dimensional"),
    (lambda: nn.GELU("fast"), ValueError, "approximate"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=2.0), ValueError, "label_smoothing"),
    (lambda: nn.Sequential(nn.ReLU()).insert(5, nn.ReLU()), IndexError, "out of range"),
    (lambda: nn.Sequential(nn.ReLU()).add_module("x", 3), TypeError, "not a Module"),
])
def test_bad_constructor_arguments_raise_naming_them(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_linear_rejects_wrong_input(rng):
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="in_features=3"):
        layer(nnx.tensor(rng.normal(size=(4, 5)).astype(np.float32)))
    with pytest.raises(TypeError, match="dtype"):
        layer(nnx.tensor(rng.normal(size=(4, 3))))  # float64 input, float32 weight: no silent conversion
