"""Every op the layer runs, on a device, against the same op on the CPU: forward values and every input's gradient.

The CPU results are themselves checked against NumPy references by the autograd and kernel tests, so agreeing
with them (to float32 rounding: device kernels may sum in another order) checks the device path end to end."""
import numpy as np
import pytest

import nnx
import nnx.nn.functional as F


def host(tensor):
    return tensor.detach().cpu().numpy()


def run_on(device, function, arrays, grad_of):
    """function(*tensors) on `device` (arrays as tensors there; those named in grad_of require grad): the
    output's values and the gradients of sum(output * fixed weights)."""
    tensors = [nnx.tensor(a, device=device, requires_grad=(i in grad_of)) for i, a in enumerate(arrays)]
    out = function(*tensors)
    values = host(out)
    if grad_of:
        weights = np.random.default_rng(0).uniform(0.5, 1.5, out.shape).astype(values.dtype)
        (out * nnx.tensor(weights, device=device)).sum().backward()
    return values, [host(tensors[i].grad) for i in grad_of]


def assert_same_on(device, function, arrays, grad_of=(), rtol=2e-5, atol=2e-6):
    expected, expected_grads = run_on("cpu", function, arrays, grad_of)
    values, grads = run_on(device, function, arrays, grad_of)
    assert values.dtype == expected.dtype and values.shape == expected.shape
    np.testing.assert_allclose(values, expected, rtol=rtol, atol=atol)
    for grad, expected_grad in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=rtol, atol=atol)


def floats(rng, *shape, dtype=np.float32):
    return rng.uniform(-2, 2, shape).astype(dtype)


@pytest.mark.parametrize("name, function, shapes", [
    ("add-broadcast", lambda a, b: a + b, [(3, 1, 5), (4, 5)]),
    ("sub-scalar", lambda a: 1.5 - a, [(7,)]),
    ("mul", lambda a, b: a * b, [(2, 3), (2, 3)]),
    ("div", lambda a, b: a / (b.abs() + 0.5), [(4, 6), (6,)]),
    ("pow", lambda a: (a.abs() + 0.1) ** 1.7, [(5, 2)]),
    ("pow-tensor-exponent", lambda a, b: (a.abs() + 0.5) ** b, [(3, 4), (3, 4)]),
    ("neg-abs", lambda a: -a.abs(), [(9,)]),
    ("exp-log-sqrt", lambda a: (a.exp() + 1).log() + (a * a + 1).sqrt(), [(4, 5)]),
    ("clamp", lambda a: a.clamp(-0.5, 1.0) + a.clamp(min=0.2) + a.clamp(max=0.1), [(33,)]),
    ("maximum-minimum", lambda a, b: a.max(b) - a.min(b), [(4, 4), (4, 4)]),
    ("activations", lambda a: a.relu() + a.sigmoid() + a.tanh() + F.gelu(a) + F.silu(a) + F.leaky_relu(a, 0.2)
     + F.softplus(a), [(6, 7)]),
    ("softmax-last", lambda a: a.softmax(-1), [(5, 7)]),
    ("log-softmax-first", lambda a: a.log_softmax(0), [(5, 7)]),
    ("sum-mean", lambda a: a.sum(1) + a.mean(1) + a.sum((0, 1), keepdim=False) * a.mean(), [(4, 6)]),
    ("var-std", lambda a: a.var(0) + a.std(0, unbiased=False), [(9, 3)]),
    ("amax-amin", lambda a: a.amax(1) + a.amin((0, 1)), [(5, 8)]),
    ("max-dim", lambda a: a.max(1).values * 2 + a.min(0, keepdim=True).values.sum(), [(4, 6)]),
    ("matmul-2d", lambda a, b: a @ b, [(5, 3), (3, 4)]),
    ("matmul-batched", lambda a, b: a @ b, [(2, 5, 3), (3, 4)]),
    ("matmul-vector", lambda a, b: a @ b, [(5, 3), (3,)]),
    ("reshape-permute", lambda a: a.reshape(6, 4).permute(1, 0).T.flatten(), [(2, 3, 4)]),
    ("view-transpose", lambda a: a.view(3, 8).transpose(0, 1).contiguous() * 2, [(2, 3, 4)]),
    ("squeeze-unsqueeze", lambda a: a.unsqueeze(0).squeeze(2), [(3, 1, 4)]),
    ("expand-repeat", lambda a: a.expand(3, 4, 5) + a.repeat(3, 1, 1), [(4, 1)]),
    ("basic-index", lambda a: a[1:3, ::2] * 3 + a[0, 1], [(4, 6)]),
    ("advanced-index", lambda a: a[[0, 2, 2, 1]] + a[nnx.tensor([1, 1]).to(a.device)].sum(0), [(3, 5)]),
    ("bool-index", lambda a: a[a > 0.3], [(6, 5)]),
    ("gather", lambda a: a.gather(1, nnx.tensor([[0, 2, 2], [1, 0, 1]]).to(a.device)), [(2, 4)]),
    ("cat-stack", lambda a, b: nnx.cat([a, b], 1).sum(0) + nnx.stack([a, b[:, :2]], 2).sum((0, 2)).sum(),
     [(3, 2), (3, 4)]),
    ("split-chunk", lambda a: a.split(2, 1)[1] * a.chunk(3, 1)[0], [(3, 6)]),
    ("where", lambda a, b: nnx.where(a > b, a, b * 2), [(5, 5), (5, 5)]),
    ("masked-fill", lambda a: a.masked_fill(a < 0, 0.5), [(4, 4)]),
    ("cast", lambda a: a.double() * 2 + a.float().sum(), [(3, 3)]),
])
def test_tensor_ops_match_the_cpu(device, rng, name, function, shapes):
    arrays = [floats(rng, *shape) for shape in shapes]
    assert_same_on(device, function, arrays, grad_of=tuple(range(len(arrays))))


def test_float64_ops_match_the_cpu(device, rng):
    arrays = [floats(rng, 4, 5, dtype=np.float64), floats(rng, 5, 3, dtype=np.float64)]
    assert_same_on(device, lambda a, b: (a @ b).tanh().sum(0) * a.mean(), arrays, grad_of=(0, 1), rtol=1e-12,
                   atol=1e-12)


def test_comparisons_and_reductions_without_gradients(device, rng):
    a, b = floats(rng, 5, 4), floats(rng, 5, 4)
    x, y = nnx.tensor(a, device=device), nnx.tensor(b, device=device)
    for result, expected in [(x < y, a < b), (x >= 0.5, a >= 0.5), (x == x, np.ones_like(a, bool)),
                             ((x > 0) & (y > 0), (a > 0) & (b > 0)), (~(x > 0), ~(a > 0)),
                             (x.argmax(1), a.argmax(1)), (x.argmin(), np.asarray(a.argmin())),
                             (x.isfinite(), np.isfinite(a)), ((x > 5).any(), np.asarray(False)),
                             (nnx.where(x > 1)[1], np.nonzero(a > 1)[1])]:
        assert result.device == x.device
        np.testing.assert_array_equal(host(result), expected)
    assert x.equal(nnx.tensor(a, device=device)) and x.allclose(x + 1e-9)


@pytest.mark.parametrize("activation", ["none", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"])
def test_fused_linear_matches_the_cpu(device, rng, activation):
    arrays = [floats(rng, 17, 9), floats(rng, 5, 9), floats(rng, 5)]
    assert_same_on(device, lambda x, w, b: F.fused_linear(x, w, b, activation), arrays, grad_of=(0, 1, 2))


@pytest.mark.parametrize("name, loss", [
    ("cross_entropy", lambda x, t: F.cross_entropy(x, t)),
    ("cross_entropy-sum-smoothing", lambda x, t: F.cross_entropy(x, t, reduction="sum", label_smoothing=0.1)),
    ("cross_entropy-ignore-none", lambda x, t: F.cross_entropy(x, t, ignore_index=2, reduction="none")),
    ("cross_entropy-weights", lambda x, t: F.cross_entropy(x, t, weight=[0.5, 1.0, 2.0, 1.5])),
    ("nll_loss", lambda x, t: F.nll_loss(x.log_softmax(1), t)),
])
def test_class_losses_match_the_cpu(device, rng, name, loss):
    logits = floats(rng, 11, 4)
    targets = rng.integers(0, 4, 11)

    def function(x):
        return loss(x, nnx.tensor(targets, device=x.device))
    assert_same_on(device, function, [logits], grad_of=(0,))


@pytest.mark.parametrize("name, loss", [
    ("mse", lambda x, t: F.mse_loss(x, t)),
    ("l1-none", lambda x, t: F.l1_loss(x, t, reduction="none")),
    ("bce-logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid())),
    ("bce-logits-weights", lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid(), weight=t.abs(),
                                                                           pos_weight=[1.0, 2.0, 0.5])),
    ("bce-probabilities", lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid())),
])
def test_pointwise_losses_match_the_cpu(device, rng, name, loss):
    assert_same_on(device, loss, [floats(rng, 6, 3), floats(rng, 6, 3)], grad_of=(0, 1))


def test_normalisation_and_embedding_match_the_cpu(device, rng):
    running = [np.zeros(5, np.float32), np.ones(5, np.float32)]

    def batch_norm(x, w, b):
        stats = [nnx.tensor(s, device=x.device) for s in running]
        out = F.batch_norm(x, *stats, w, b, training=True)
        return out * 2 + stats[0].sum() + stats[1].sum()  # the running statistics were updated in place
    assert_same_on(device, batch_norm, [floats(rng, 8, 5), floats(rng, 5), floats(rng, 5)], grad_of=(0, 1, 2))
    assert_same_on(device, lambda x, w, b: F.layer_norm(x, (6,), w, b), [floats(rng, 4, 6), floats(rng, 6),
                                                                         floats(rng, 6)], grad_of=(0, 1, 2))
    indices = rng.integers(0, 7, (3, 4))
    assert_same_on(device, lambda w: F.embedding(nnx.tensor(indices, device=w.device), w, padding_idx=2),
                   [floats(rng, 7, 5)], grad_of=(0,))
    one_hot = F.one_hot(nnx.tensor(indices, device=device), 7)
    assert one_hot.device == nnx.tensor(indices, device=device).device
    np.testing.assert_array_equal(host(one_hot), np.eye(7, dtype=np.int64)[indices])


def test_dropout_draws_the_cpu_mask(device, rng):
    values = floats(rng, 50, 40)
    nnx.manual_seed(11)
    expected = F.dropout(nnx.tensor(values), 0.3).numpy()
    nnx.manual_seed(11)
    got = F.dropout(nnx.tensor(values, device=device), 0.3)
    np.testing.assert_array_equal(host(got), expected)


def test_clip_grad_norm_on_the_device(device, rng):
    def make():
        params = [nnx.nn.Parameter(nnx.tensor(floats(rng, 4, 3), device=device)) for _ in range(3)]
        for p in params:
            p.grad = nnx.tensor(np.full(p.shape, 2.0, np.float32), device=device)
        return params
    params = make()
    total = nnx.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert total.device == params[0].device
    np.testing.assert_allclose(total.item(), np.sqrt(36 * 4.0), rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(sum((host(p.grad) ** 2).sum() for p in params)), 1.0, rtol=1e-5)
    params = make()
    nnx.nn.utils.clip_grad_value_(params, 0.5)
    assert all(np.all(host(p.grad) == 0.5) for p in params)


@pytest.mark.parametrize("norm_type, max_norm", [(2.0, 1.0), (1.0, 3.0), (3.0, 1e6), (float("inf"), 0.5)])
def test_clip_grad_norm_matches_the_cpu(device, rng, norm_type, max_norm):
    values = [floats(rng, 4, 3), floats(rng, 7), floats(rng, 1)]
    grads = [floats(rng, *v.shape) * 3 for v in values]

    def clip(on):
        params = [nnx.nn.Parameter(nnx.tensor(v, device=on)) for v in values]
        for p, g in zip(params, grads):
            p.grad = nnx.tensor(g, device=on)
        total = nnx.nn.utils.clip_grad_norm_(params, max_norm=max_norm, norm_type=norm_type)
        assert total.device == params[0].device and total.dtype == np.float32 and total.shape == ()
        return total.item(), [host(p.grad) for p in params]

    expected_total, expected_grads = clip("cpu")
    total, clipped = clip(device)
    np.testing.assert_allclose(total, expected_total, rtol=1e-6)
    for got, expected in zip(clipped, expected_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    if max_norm == 1e6:
        assert all(np.array_equal(got, g) for got, g in zip(clipped, grads))  # a scale of 1 leaves them exact


def test_clip_grad_norm_of_a_non_finite_gradient(device):
    param = nnx.nn.Parameter(nnx.ones(3, device=device))
    param.grad = nnx.tensor([1.0, np.nan, 2.0], device=device)
    total = nnx.nn.utils.clip_grad_norm_([param], max_norm=1.0)
    assert np.isnan(total.item()) and np.isnan(host(param.grad)).all()  # PyTorch's result: scaled by NaN
    param.grad = nnx.tensor([1.0, np.inf, 2.0], device=device)
    with pytest.raises(RuntimeError, match="non-finite"):
        nnx.nn.utils.clip_grad_norm_([param], max_norm=1.0, error_if_nonfinite=True)
