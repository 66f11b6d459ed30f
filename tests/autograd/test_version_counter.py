"""Version counters (issue 20 item 7): every in-place write bumps a counter shared by the tensor's aliases
(views, detach()), and backward refuses a value it needs that was written after the forward, with PyTorch's
message, instead of computing a silently wrong gradient."""
import numpy as np
import pytest

import nnx
from nnx.autograd import Function

MODIFIED = "modified by an inplace operation"


def test_detached_alias_written_in_place_is_caught():
    x = nnx.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    y.detach().mul_(100)
    with pytest.raises(RuntimeError, match=MODIFIED + r".*is at version 1; expected version 0 instead"):
        z.backward()


def test_versions_count_writes_through_every_alias():
    x = nnx.ones(2, 3)
    assert x._version == 0
    x += 1
    view = x.view(6)
    row = x[0]
    detached = x.detach()
    view.mul_(2)
    row.add_(1)
    detached.zero_()
    x[1] = 5.0
    assert x._version == view._version == row._version == detached._version == 5
    assert nnx.ones(2)._version == 0
    assert x[[0, 1]]._version == 0  # advanced indexing copies: a storage of its own


def test_versions_match_torch():
    torch = pytest.importorskip("torch")
    counts = []
    for lib in (nnx, torch):
        x = lib.ones(3)
        x += 1
        v = x.view(3)
        v.mul_(2)
        d = x.detach()
        d.add_(1)
        counts.append((x._version, v._version, d._version))
    assert counts[0] == counts[1]


def test_input_kept_by_backward_written_in_place_is_caught():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = (y * x).sum()
    y += 1  # recorded, but Mul kept y's old value: backward would use the new one
    with pytest.raises(RuntimeError, match=MODIFIED + ".*MulBackward"):
        z.backward()


def test_output_kept_by_backward_written_in_place_is_caught():
    x = nnx.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED + ".*output 0 of ExpBackward"):
        y.sum().backward()
    x2 = nnx.tensor([0.5, 1.0], requires_grad=True)
    y2 = x2.exp()
    y2.detach().mul_(3)  # through an alias
    with pytest.raises(RuntimeError, match=MODIFIED):
        y2.sum().backward()


def test_writes_that_backward_does_not_need_are_allowed():
    values = np.array([1.0, 2.0])
    x = nnx.tensor(values, requires_grad=True)
    y = x * 3.0
    z = y + 1.0  # Add keeps nothing
    with nnx.no_grad():
        y.mul_(10)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    w = nnx.tensor(values, requires_grad=True)
    h = w * 2.0
    loss = (h * h).sum()
    loss.backward()
    with nnx.no_grad():  # the usual order: backward, then the update
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.numpy(), values - 0.1 * 8 * values)


def test_writes_before_the_forward_are_fine():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    y *= 2  # version 1, then used
    z = (y * y).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, 2.0]))


class _KeepsOutput(Function):
    """A Function that keeps its output without saying so (saves_output left unknown)."""

    @staticmethod
    def forward(ctx, x):
        ctx.out = x * 2
        return ctx.out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.out


class _KeepsNothing(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_functions_that_do_not_declare_what_they_keep_are_looked_at():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = _KeepsOutput.apply(x)
    y += 1
    with pytest.raises(RuntimeError, match=MODIFIED + ".*_KeepsOutputBackward"):
        y.sum().backward()
    y = _KeepsNothing.apply(x)
    y += 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_same_checks_as_torch():
    torch = pytest.importorskip("torch")

    def outcome(lib, steps):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        try:
            steps(x).backward()
        except RuntimeError as error:
            return "inplace" in str(error)
        return x.grad.tolist()

    def exp_written(x):
        y = x.exp()
        y.detach().add_(1)
        return y.sum()

    def sum_of_written(x):
        y = x * 1.0
        z = y.sum()
        y.detach().add_(1)
        return z

    def mul_written(x):
        y = x * 2
        z = (y * y).sum()
        y.detach().mul_(100)
        return z

    for steps in (exp_written, sum_of_written, mul_written):
        assert outcome(nnx, steps) == outcome(torch, steps), steps.__name__


def test_functional_inplace_true_counts_as_a_write():
    import nnx.nn.functional as F
    x = nnx.tensor([1.0, -2.0], requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    with nnx.no_grad():
        F.relu(y, inplace=True)
    assert y._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.backward()
