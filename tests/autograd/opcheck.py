"""One helper for every differentiable op: forward against a NumPy float64 reference, gradients against
central finite differences of that reference (float64), and the same op in float32 against the reference.

    check_op(lambda x, y: x * y, lambda x, y: x * y, (3, 4), (4,), rng=rng)

Each shape tuple becomes a fresh random input that requires grad; any other argument (an integer index
array, a scalar) is passed unchanged to both functions.
"""
import numpy as np

import nnx

FLOAT32_TOLERANCE = dict(rtol=2e-5, atol=2e-6)


def _make_inputs(specs, rng, low, high):
    arrays = []
    for spec in specs:
        if isinstance(spec, tuple):
            array = rng.uniform(low, high, size=spec)
            # Keep away from 0 so that |x|, sqrt, log, 1/x have a derivative at every sample. Shifting (not
            # clamping) keeps the values distinct: ties would make max/min gradients differ from the reference.
            arrays.append(np.where(np.abs(array) < 0.1, array + np.where(array < 0, -0.1, 0.1), array))
        else:
            arrays.append(spec)
    return arrays


def _is_differentiable(spec):
    return isinstance(spec, tuple)


def numerical_gradients(reference, arrays, differentiable, weights, eps=1e-6):
    """d sum(reference(*arrays) * weights) / d array, by central differences, for each differentiable array."""
    grads = []
    for position, array in enumerate(arrays):
        if not differentiable[position]:
            grads.append(None)
            continue
        grad = np.zeros_like(array)
        flat, flat_grad = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            plus = np.sum(np.asarray(reference(*arrays)) * weights)
            flat[i] = saved - eps
            minus = np.sum(np.asarray(reference(*arrays)) * weights)
            flat[i] = saved
            flat_grad[i] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def _run(op, arrays, differentiable, dtype):
    tensors = [nnx.tensor(a.astype(dtype), requires_grad=True) if differentiable[i] else a
               for i, a in enumerate(arrays)]
    return tensors, op(*tensors)


def check_op(op, reference, *specs, rng, low=-2.0, high=2.0, grad_rtol=1e-6, grad_atol=1e-7, float32=True,
             float32_scale=1.0):
    """Compare op with reference in float64 (forward and gradients) and in float32 (forward, gradient dtype)."""
    arrays = _make_inputs(specs, rng, low, high)
    differentiable = [_is_differentiable(spec) for spec in specs]
    expected = np.asarray(reference(*arrays), dtype=np.float64)

    tensors, out = _run(op, arrays, differentiable, np.float64)
    assert isinstance(out, nnx.Tensor)
    assert out.dtype == np.float64, f"float64 op returned {out.dtype}"
    assert out.shape == expected.shape, f"shape {out.shape}, expected {expected.shape}"
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)

    weights = rng.uniform(0.5, 1.5, size=expected.shape) * rng.choice([-1.0, 1.0], size=expected.shape)
    out.backward(nnx.tensor(weights))
    numeric = numerical_gradients(reference, arrays, differentiable, weights)
    for position, tensor in enumerate(tensors):
        if not differentiable[position]:
            continue
        assert tensor.grad is not None, f"input {position} got no gradient"
        assert tensor.grad.dtype == np.float64 and tensor.grad.shape == tensor.shape
        np.testing.assert_allclose(tensor.grad.numpy(), numeric[position], rtol=grad_rtol, atol=grad_atol,
                                   err_msg=f"gradient of input {position}")

    if float32:
        tensors32, out32 = _run(op, arrays, differentiable, np.float32)
        assert out32.dtype == np.float32, f"float32 op returned {out32.dtype}"
        tolerance = {key: value * float32_scale for key, value in FLOAT32_TOLERANCE.items()}
        np.testing.assert_allclose(out32.numpy().astype(np.float64), expected, **tolerance)
        out32.backward(nnx.tensor(weights.astype(np.float32)))
        for position, tensor in enumerate(tensors32):
            if differentiable[position]:
                assert tensor.grad.dtype == np.float32, f"float32 input {position} got a {tensor.grad.dtype} grad"
                np.testing.assert_allclose(tensor.grad.numpy(), numeric[position], rtol=1e-3 * float32_scale,
                                           atol=1e-4 * float32_scale, err_msg=f"float32 gradient of input {position}")
    return tensors
