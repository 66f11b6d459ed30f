"""A gradient that a backward hands over (cross-entropy's dlogits, written by the fused forward) becomes the
leaf's .grad without a copy when nothing else holds it, and is copied whenever something else might."""
import numpy as np

import nnx
import nnx.nn.functional as F


def _address(array):
    return array.__array_interface__["data"][0]


def _reference_dlogits(logits, target):
    shifted = logits.astype(np.float64) - logits.max(1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)
    probs[np.arange(len(target)), target] -= 1
    return probs / len(target)


def test_cross_entropy_gradient_is_adopted_not_copied(rng):
    logits = rng.standard_normal((37, 11)).astype(np.float32)
    target = rng.integers(0, 11, 37)
    x = nnx.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, nnx.tensor(target))
    written_by_forward = _address(loss._ctx.grad_logits)
    loss.backward()
    assert _address(x.grad._data) == written_by_forward
    np.testing.assert_allclose(x.grad.numpy(), _reference_dlogits(logits, target), rtol=1e-5, atol=1e-7)


def test_retained_graph_keeps_its_own_copy(rng):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    target = rng.integers(0, 4, 5)
    x = nnx.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, nnx.tensor(target))
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    assert _address(x.grad._data) != _address(loss._ctx.grad_logits)
    loss.backward()  # accumulates into .grad; the saved dlogits must not have been changed by that
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)
    np.testing.assert_allclose(first, _reference_dlogits(logits, target), rtol=1e-5, atol=1e-7)


def test_gradient_held_elsewhere_is_copied(rng):
    """An output tensor's own array returned as a gradient is never adopted: .grad += would change it."""
    x = nnx.tensor(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    y = x * 1.0
    y.sum().backward()
    y_before = y.detach().numpy().copy()
    x.grad.add_(1.0)
    np.testing.assert_array_equal(y.detach().numpy(), y_before)
