"""Messages of the loss functions for targets of the wrong kind (issue 22, item 7)."""
import numpy as np
import pytest

import nnx
import nnx.nn.functional as F


@pytest.mark.parametrize("make_target", [
    lambda labels: nnx.tensor(labels),  # a float Tensor
    lambda labels: np.asarray(labels, dtype=np.float32),
    lambda labels: list(labels),
], ids=["tensor", "numpy", "list"])
def test_float_class_labels_say_indices_must_be_integers(make_target):
    logits = nnx.randn(3, 10)
    target = make_target([1.0, 2.0, 3.0])
    with pytest.raises(ValueError) as raised:
        nnx.nn.CrossEntropyLoss()(logits, target)
    message = str(raised.value)
    assert "integer dtype" in message
    assert "class probabilities" in message and "(3, 10)" in message and "(3,)" in message
    assert "target size (3,) does not match input size (3, 10)" in message  # one pair of brackets per shape


def test_the_two_documented_target_forms_still_work():
    logits = nnx.tensor(np.random.default_rng(0).normal(size=(3, 10)).astype(np.float32))
    indices = np.array([1, 2, 3])
    from_indices = F.cross_entropy(logits, nnx.tensor(indices)).item()
    from_probabilities = F.cross_entropy(logits, nnx.tensor(np.eye(10, dtype=np.float32)[indices])).item()
    # Reference: mean of -log softmax at the labels, in float64.
    data = logits.numpy().astype(np.float64)
    log_softmax = data - np.log(np.exp(data).sum(1, keepdims=True))
    expected = -log_softmax[np.arange(3), indices].mean()
    assert from_indices == pytest.approx(expected, rel=1e-5)
    assert from_probabilities == pytest.approx(expected, rel=1e-5)


def test_pointwise_loss_shape_message_has_single_brackets():
    with pytest.raises(ValueError, match=r"target size \(3,\) must be the same as input size \(3, 10\)"):
        F.mse_loss(nnx.randn(3, 10), nnx.ones(3))
