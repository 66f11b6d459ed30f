"""Bad input to the Tensor API and nnx.nn.functional raises a clear exception naming the argument."""
import numpy as np
import pytest

import nnx
import nnx.nn.functional as F


@pytest.fixture
def x():
    return nnx.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)


def test_tensor_methods(x):
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(dim=2)
    with pytest.raises(TypeError, match="dim must be an int"):
        x.softmax("1")
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        x.reshape(5, 3)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.T.view(12)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match="expanded size"):
        x.expand(4, 5)
    with pytest.raises(RuntimeError, match="at least one of 'min' or 'max'"):
        x.clamp()
    with pytest.raises(IndexError):
        x[10]
    with pytest.raises(RuntimeError, match="mean"):
        nnx.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="matmul"):
        x @ nnx.tensor(2.0)
    with pytest.raises(ValueError):
        x @ nnx.ones(4, 2)
    with pytest.raises(TypeError, match="index"):
        x.gather(1, nnx.tensor([[0.5]]))
    with pytest.raises(RuntimeError, match="empty"):
        nnx.zeros(0).max()
    with pytest.raises(TypeError):
        x + "a"


def test_cat_stack_where():
    with pytest.raises(TypeError, match="tensors"):
        nnx.cat(nnx.ones(2))
    with pytest.raises(ValueError, match="non-empty"):
        nnx.stack([])
    with pytest.raises(RuntimeError, match="same shape except in dimension 0"):
        nnx.cat([nnx.ones(2, 3), nnx.ones(2, 4)])
    with pytest.raises(RuntimeError, match="equal size"):
        nnx.stack([nnx.ones(2), nnx.ones(3)])
    with pytest.raises(TypeError, match="condition"):
        nnx.where(nnx.ones(2), nnx.ones(2), nnx.zeros(2))


def test_linear_arguments(x):
    w = nnx.ones(2, 3)
    with pytest.raises(TypeError, match="'input' must be a Tensor"):
        F.linear(np.ones((4, 3), dtype=np.float32), w)
    with pytest.raises(TypeError, match="'weight' must be a Tensor"):
        F.linear(x, np.ones((2, 3)))
    with pytest.raises(TypeError, match="'input' must have a floating point dtype"):
        F.linear(nnx.tensor([[1, 2, 3]]), w)
    with pytest.raises(TypeError, match="weight must have the dtype of input"):
        F.linear(x, w.double())
    with pytest.raises(ValueError, match="in_features=2"):
        F.linear(x, nnx.ones(2, 2))
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(x, nnx.ones(3))
    with pytest.raises(ValueError, match="bias must have shape"):
        F.linear(x, w, nnx.ones(3))
    with pytest.raises(ValueError, match="activation must be one of"):
        F.fused_linear(x, w, None, "swish")


def test_activation_arguments(x):
    with pytest.raises(TypeError, match="'input' must be a Tensor"):
        F.relu(np.ones(3))
    with pytest.raises(TypeError, match="floating point"):
        F.sigmoid(nnx.tensor([1, 2]))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="beta"):
        F.softplus(x, beta=0)
    with pytest.raises(IndexError, match="dim out of range"):
        F.softmax(x, dim=3)
    with pytest.raises(TypeError, match="dim must be an int"):
        F.log_softmax(x, dim=1.0)


def test_embedding_arguments():
    weight = nnx.ones(5, 2, requires_grad=True)
    with pytest.raises(TypeError, match="'input' must be an integer tensor"):
        F.embedding(nnx.tensor([0.0, 1.0]), weight)
    with pytest.raises(IndexError):
        F.embedding(nnx.tensor([0, 5]), weight)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(nnx.tensor([0]), weight, padding_idx=5)
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.embedding(nnx.tensor([0]), nnx.ones(5))
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(nnx.tensor([0]), weight, max_norm=1.0)


def test_cross_entropy_arguments(x):
    target = nnx.tensor([0, 1, 2, 1])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, target, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, target, label_smoothing=1.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, target, label_smoothing="0.1")
    with pytest.raises(TypeError, match="ignore_index"):
        F.cross_entropy(x, target, ignore_index="a")
    with pytest.raises((IndexError, ValueError), match="target"):
        F.cross_entropy(x, nnx.tensor([0, 1, 3, 1]))
    with pytest.raises((IndexError, ValueError), match="target"):
        F.cross_entropy(x, nnx.tensor([0, 1, -1, 1]))
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(x, nnx.tensor([0, 1]))
    with pytest.raises(TypeError, match="target"):
        F.cross_entropy(x, nnx.tensor([True, False, True, False]))
    with pytest.raises(TypeError, match="'input' must have a floating point dtype"):
        F.cross_entropy(nnx.tensor([[1, 2]]), nnx.tensor([0]))
    with pytest.raises(ValueError, match="weight must have shape"):
        F.cross_entropy(x, target, weight=nnx.ones(2))
    with pytest.raises(IndexError, match="target 7 is out of bounds"):
        F.cross_entropy(x, nnx.tensor([0, 7, 1, 1]), weight=nnx.ones(3))
    with pytest.raises(ValueError, match="target size"):
        F.cross_entropy(x, nnx.ones(4, 2))


def test_other_loss_arguments(x):
    with pytest.raises(ValueError, match="target size"):
        F.mse_loss(x, nnx.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        F.l1_loss(x, nnx.ones(4, 3), reduction="max")
    with pytest.raises(ValueError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(x, nnx.ones(4, 3), pos_weight=nnx.ones(2))
    with pytest.raises(ValueError, match="weight"):
        F.binary_cross_entropy_with_logits(x, nnx.ones(4, 3), weight=nnx.ones(2))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x * 3, nnx.ones(4, 3))
    with pytest.raises(ValueError, match="target must have shape"):
        F.nll_loss(x, nnx.tensor([0, 1]))


def test_normalisation_arguments(x):
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(x, (4,))
    with pytest.raises(ValueError, match="weight must have shape"):
        F.layer_norm(x, (3,), weight=nnx.ones(2))
    with pytest.raises(ValueError, match="evaluation mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="running_mean must be a Tensor"):
        F.batch_norm(x, nnx.zeros(2), nnx.ones(2), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(nnx.ones(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="bias must have shape"):
        F.batch_norm(x, None, None, bias=nnx.ones(4), training=True)
