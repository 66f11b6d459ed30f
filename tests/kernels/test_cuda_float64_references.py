"""CUDA kernels (nnx._cuda, a real GPU or tools/cuda_emu) against independent float64 NumPy references — the same
references the CPU kernel tests use (the family specs in tests/ops: activations, losses, normalization, optim), not
the CPU kernel, which shares the formula headers with the CUDA one: activations, losses, normalization and the
optimizer steps, forward and backward, float32 and float64."""
import numpy as np
import pytest
from cuda_kernel_checks import cuda, poisoned_device, requires_gpu, to_device, to_host

from helpers import EDGE_SIZES, FLOAT_DTYPES, assert_close, random_array
from ops import optim as OPTIM
from ops.activations import KINDS, reference_derivative, reference_forward
from ops.losses import ELEMENTWISE, cross_entropy_reference, elementwise_reference, reduce_reference, scale_by_upstream
from ops.normalization import (
    batch_norm_backward_reference,
    batch_norm_reference,
    layer_norm_backward_reference,
    layer_norm_reference,
)

pytestmark = [pytest.mark.cuda, requires_gpu]
EPS, MOMENTUM = 1e-5, 0.1


# ---- activations ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("size", EDGE_SIZES[:-1] + (4099,))
@pytest.mark.parametrize("kind", KINDS)
def test_activation_forward_and_backward(rng, kind, size, dtype):
    x = random_array(rng, (size,), dtype, -4.0, 4.0)
    out = poisoned_device(x.shape, dtype)
    cuda.activation_forward(kind, to_device(x), out)
    expected = reference_forward(kind, x.astype(np.float64))
    assert_close(to_host(out), expected)
    grad_out = random_array(rng, (size,), dtype)
    grad_in = poisoned_device(x.shape, dtype)
    cuda.activation_backward(kind, to_device(grad_out), to_device(x), to_device(expected.astype(dtype)), grad_in)
    assert_close(to_host(grad_in), grad_out.astype(np.float64) * reference_derivative(kind, x.astype(np.float64)),
                 scale=4)


@pytest.mark.parametrize("kind,params", [("leaky_relu", dict(negative_slope=0.3)),
                                         ("softplus", dict(beta=2.0, threshold=1.5))])
def test_activation_parameters(rng, kind, params):
    x = random_array(rng, (257,), np.float64)
    out = poisoned_device(x.shape, np.float64)
    cuda.activation_forward(kind, to_device(x), out, **params)
    assert_close(to_host(out), reference_forward(kind, x, **params))


# ---- losses --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("N,C,label_smoothing", [(1, 1, 0.0), (17, 33, 0.1), (250, 3, 0.0), (5, 1000, 0.2)])
def test_cross_entropy(rng, N, C, label_smoothing, reduction, dtype):
    logits = random_array(rng, (N, C), dtype, -5, 5)
    target = rng.integers(0, C, N)
    target[rng.uniform(size=N) < 0.2] = -100  # some ignored rows
    loss = poisoned_device((N,) if reduction == "none" else (), dtype)
    logsumexp, grad = poisoned_device((N,), dtype), poisoned_device((N, C), dtype)
    cuda.cross_entropy_forward(to_device(logits), to_device(target), loss, logsumexp, grad, reduction=reduction,
                               label_smoothing=label_smoothing)
    expected = cross_entropy_reference(logits, target, reduction, label_smoothing=label_smoothing)
    assert_close(to_host(loss), expected[0], scale=C ** 0.5)
    assert_close(to_host(logsumexp), expected[1], scale=C ** 0.5)
    assert_close(to_host(grad), expected[2], scale=C ** 0.5)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_losses(rng, name, reduction, dtype):
    shape = (7, 13)
    x = random_array(rng, shape, dtype, -3, 3)
    target = random_array(rng, shape, dtype, 0, 1) if name == "bce_with_logits" else random_array(rng, shape, dtype)
    prefix = "bce_with_logits" if name == "bce_with_logits" else name
    per_element, derivative = elementwise_reference(name, x.astype(np.float64), target.astype(np.float64))
    loss = poisoned_device(shape if reduction == "none" else (), dtype)
    getattr(cuda, f"{prefix}_forward")(to_device(x), to_device(target), loss, reduction)
    assert_close(to_host(loss), reduce_reference(per_element, reduction), scale=10)
    grad_loss = random_array(rng, shape if reduction == "none" else (), dtype, 0.5, 1.5)
    grad = poisoned_device(shape, dtype)
    getattr(cuda, f"{prefix}_backward")(to_device(grad_loss), to_device(x), to_device(target), grad, reduction)
    expected = scale_by_upstream(derivative, grad_loss, reduction) / (x.size if reduction == "mean" else 1)
    assert_close(to_host(grad), expected, scale=4)


# ---- normalization -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("N,C", [(2, 1), (33, 7), (300, 5)])
def test_batch_norm(rng, N, C, training, dtype):
    x = random_array(rng, (N, C), dtype)
    weight, bias = random_array(rng, (C,), dtype, 0.5, 1.5), random_array(rng, (C,), dtype)
    running = [random_array(rng, (C,), dtype), random_array(rng, (C,), dtype, 0.5, 2.0)]
    expected = batch_norm_reference(x, weight, bias, *running, training, MOMENTUM, EPS)
    device_running = [to_device(r) for r in running]
    out, save_mean, save_invstd = (poisoned_device((N, C), dtype), poisoned_device((C,), dtype),
                                   poisoned_device((C,), dtype))
    cuda.batch_norm_forward(to_device(x), to_device(weight), to_device(bias), *device_running, out, save_mean,
                            save_invstd, training, MOMENTUM, EPS)
    scale = N ** 0.5
    assert_close(to_host(out), expected[0], scale=scale)
    assert_close(to_host(device_running[0]), expected[3], scale=scale)
    assert_close(to_host(device_running[1]), expected[4], scale=scale)
    grad_out = random_array(rng, (N, C), dtype)
    grads = [poisoned_device(s, dtype) for s in ((N, C), (C,), (C,))]
    mean, invstd = expected[1], expected[2]
    cuda.batch_norm_backward(to_device(grad_out), to_device(x), to_device(weight), to_device(mean.astype(dtype)),
                             to_device(invstd.astype(dtype)), *grads, training)
    reference = batch_norm_backward_reference(grad_out, x, weight, mean.astype(dtype), invstd.astype(dtype), training)
    for got, want in zip(grads, reference):
        assert_close(to_host(got), want, scale=4 * scale)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("N,D", [(1, 1), (9, 13), (4, 1000)])
def test_layer_norm(rng, N, D, dtype):
    x = random_array(rng, (N, D), dtype)
    weight, bias = random_array(rng, (D,), dtype, 0.5, 1.5), random_array(rng, (D,), dtype)
    expected = layer_norm_reference(x, weight, bias, EPS)
    out, mean, rstd = poisoned_device((N, D), dtype), poisoned_device((N,), dtype), poisoned_device((N,), dtype)
    cuda.layer_norm_forward(to_device(x), to_device(weight), to_device(bias), out, mean, rstd, EPS)
    scale = D ** 0.5
    assert_close(to_host(out), expected[0], scale=scale)
    assert_close(to_host(mean), expected[1], scale=scale)
    assert_close(to_host(rstd), expected[2], scale=scale)
    grad_out = random_array(rng, (N, D), dtype)
    grads = [poisoned_device(s, dtype) for s in ((N, D), (D,), (D,))]
    saved = [expected[1].astype(dtype), expected[2].astype(dtype)]
    cuda.layer_norm_backward(to_device(grad_out), to_device(x), to_device(weight), *[to_device(s) for s in saved],
                             *grads)
    reference = layer_norm_backward_reference(grad_out, x, weight, *saved)
    for got, want in zip(grads, reference):
        assert_close(to_host(got), want, scale=4 * scale * max(N, 1) ** 0.5)


# ---- optimizer steps -----------------------------------------------------------------------------------------

SHAPES = [(3,), (5, 7), (1,), (4099,)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("optimizer_class,options", OPTIM.OPTIMIZERS[::3], ids=OPTIM.OPTIMIZER_IDS[::3])
def test_optimizer_step(rng, optimizer_class, options, dtype):
    """Each step against the float64 rule applied to the kernel's own state before the step (DESIGN.md)."""
    optimizer = optimizer_class(options)
    params = [random_array(rng, s, dtype) for s in SHAPES]
    state = {name: [OPTIM.random_state(rng, name, s, dtype) for s in SHAPES]
             for name in optimizer.state_names if optimizer.uses(name)}
    device_params = [to_device(p) for p in params]
    device_state = {name: [to_device(v) for v in values] for name, values in state.items()}
    for step in range(1, 4):
        grads = [random_array(rng, s, dtype) for s in SHAPES]
        before = {name: OPTIM.flat([to_host(v) for v in values]) for name, values in device_state.items()}
        expected = optimizer.reference(OPTIM.flat([to_host(p) for p in device_params]), OPTIM.flat(grads), before,
                                       step)
        call_on_device(optimizer, device_params, [to_device(g) for g in grads], device_state, step)
        actual = {"param": OPTIM.flat([to_host(p) for p in device_params], dtype),
                  **{name: OPTIM.flat([to_host(v) for v in values], dtype) for name, values in device_state.items()}}
        OPTIM.assert_group_close(actual, expected, step)


def call_on_device(optimizer, params, grads, state, step):
    """The kernel call of ops.optim's optimizer classes, on cuda instead of _C (the two take the same arguments)."""
    name = type(optimizer).__name__
    if name == "Sgd":
        cuda.sgd_step(params, grads, state.get("momentum_buffer"), optimizer.lr, first_step=step == 1,
                      **optimizer.options)
    elif name == "Adam":
        cuda.adam_step(params, grads, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), step,
                       optimizer.lr, **optimizer.options)
    else:
        cuda.rmsprop_step(params, grads, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
                          optimizer.lr, **optimizer.options)
