"""The backward engine and Tensor bookkeeping: accumulation, graph freeing, grad mode, aliasing, dtypes."""
import pickle
import sys

import numpy as np
import pytest

import nnx
from nnx.autograd import Function


def test_gradients_accumulate_across_backward_calls():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3 + 2, 3 + 4])


def test_graph_is_freed_after_backward_and_second_backward_raises():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    assert y.grad_fn is not None and y.grad_fn.inputs is None  # saved values released


def test_retain_graph_allows_a_second_backward():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_shared_subgraph_is_visited_once_in_topological_order():
    x = nnx.tensor([0.5, -1.5, 2.0], requires_grad=True)
    a = x * 2
    b = a.exp()
    c = a * b + a + b * b  # a and b both reach c along several paths
    c.sum().backward()
    xv = x.numpy()
    av, bv = 2 * xv, np.exp(2 * xv)
    expected = 2 * (bv + av * bv + 1 + 2 * bv * bv)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_long_chains_need_no_recursion():
    x = nnx.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(sys.getrecursionlimit() + 500):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_leaf_gradients_never_alias_each_other():
    a = nnx.tensor([1.0, 2.0], requires_grad=True)
    b = nnx.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.numpy()[:] = 100.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    # A gradient handed to a leaf and to another node must stay intact for the node.
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    w = nnx.tensor([5.0, 7.0], requires_grad=True)
    ((x + w * 3) + x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_user_gradient_is_copied_not_adopted():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    gradient = nnx.tensor([1.0, 1.0])
    (x + 1).backward(gradient)
    gradient.numpy()[:] = 9.0
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_backward_needs_a_gradient_for_non_scalars_and_a_graph():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        nnx.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(nnx.tensor([1.0, 2.0, 3.0]))


def test_no_grad_enable_grad_and_set_grad_enabled():
    x = nnx.tensor([1.0], requires_grad=True)
    with nnx.no_grad():
        assert not nnx.is_grad_enabled()
        y = x * 2
        with nnx.enable_grad():
            z = x * 2
    assert nnx.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @nnx.no_grad()
    def doubled(t):
        return t * 2
    assert not doubled(x).requires_grad and nnx.is_grad_enabled()

    with nnx.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert nnx.is_grad_enabled()
    nnx.set_grad_enabled(False)
    assert not nnx.is_grad_enabled()
    nnx.set_grad_enabled(True)
    with pytest.raises(TypeError, match="mode"):
        nnx.set_grad_enabled("yes")


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with nnx.no_grad():
            raise ValueError("boom")
    assert nnx.is_grad_enabled()


def test_grad_assignment_is_checked():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    x.grad = nnx.tensor([0.5, 0.5])
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.5, 2.5])
    x.grad = None
    assert x.grad is None
    with pytest.raises(RuntimeError, match="different size"):
        x.grad = nnx.tensor([1.0])
    with pytest.raises(TypeError, match="grad must be a Tensor"):
        x.grad = np.zeros(2, dtype=np.float32)


def test_numpy_is_zero_copy_even_when_requiring_grad():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = nnx.from_numpy(array)
    t.requires_grad_()
    assert t.numpy() is array
    t.numpy()[0, 0] = 42.0
    assert array[0, 0] == 42.0
    assert np.asarray(t) is array
    assert np.shares_memory(t.detach().numpy(), array) and np.shares_memory(t.data.numpy(), array)


def test_tensor_copies_and_infers_dtypes_like_pytorch():
    array = np.ones(3, dtype=np.float64)
    t = nnx.tensor(array)
    assert t.dtype == np.float64 and not np.shares_memory(t.numpy(), array)
    assert nnx.tensor([1.5, 2.0]).dtype == np.float32
    assert nnx.tensor(2.5).dtype == np.float32 and nnx.tensor(2.5).shape == ()
    assert nnx.tensor([1, 2]).dtype == np.int64
    assert nnx.tensor([True, False]).dtype == np.bool_
    assert nnx.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert nnx.tensor([1, 2], dtype=nnx.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="floating point"):
        nnx.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="dtype"):
        nnx.tensor([1.0], dtype="not a dtype")
    with pytest.raises(TypeError, match="data"):
        nnx.tensor(["a", "b"])


def test_ops_preserve_float32():
    x = nnx.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = ((x * 2.5 + np.float64(1.0)) / 3 - x.mean() + x ** 2).exp().sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_data_property_shares_storage_and_is_assignable():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d.numpy()[0] = 5.0
    assert x.item() if x.numel() == 1 else x.numpy()[0] == 5.0
    x.data = nnx.tensor([7.0, 8.0])
    np.testing.assert_array_equal(x.numpy(), [7.0, 8.0])
    assert x.requires_grad


def test_detach_and_requires_grad_flags():
    x = nnx.tensor([1.0], requires_grad=True)
    y = x * 2
    assert not y.is_leaf and x.is_leaf and not y.detach().requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_in_place_ops_refuse_leaves_that_require_grad_unless_no_grad():
    w = nnx.tensor([1.0, 2.0], requires_grad=True)
    for name, args in [("add_", (1.0,)), ("mul_", (2.0,)), ("zero_", ()), ("fill_", (3.0,)),
                       ("copy_", (nnx.tensor([0.0, 0.0]),)), ("uniform_", ()), ("normal_", ())]:
        with pytest.raises(RuntimeError, match="in-place"):
            getattr(w, name)(*args)
    with nnx.no_grad():
        w.mul_(2).add_(nnx.tensor([1.0, 1.0]), alpha=0.5)
    np.testing.assert_array_equal(w.numpy(), [2.5, 4.5])
    (w * 2).add_(1.0).sum().backward()  # a non-leaf is written in place and recorded, as in PyTorch
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])


def test_in_place_random_init_is_seeded():
    nnx.manual_seed(3)
    a = nnx.zeros(4, 5).uniform_(-1, 1)
    nnx.manual_seed(3)
    b = nnx.zeros(4, 5).uniform_(-1, 1)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.numpy().min() >= -1 and a.numpy().max() < 1 and a.dtype == np.float32


def test_comparisons_give_bool_tensors_without_grad():
    x = nnx.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 1.5, x >= 2, x < x, x <= 2.0, x == 2.0, x != 2.0):
        assert result.dtype == np.bool_ and not result.requires_grad
    np.testing.assert_array_equal((x > 1.5).numpy(), [False, True, True])
    assert {x: 1}[x] == 1  # hashable by identity despite __eq__


def test_python_protocols():
    x = nnx.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(x) == 2 and [row.tolist() for row in x] == [[1.0, 2.0], [3.0, 4.0]]
    assert x.size() == (2, 2) and x.size(1) == 2 and x.numel() == 4 and x.ndim == 2 and x.dim() == 2
    assert x.sum().item() == 10.0 and float(x[0, 1]) == 2.0 and f"{x.sum():.1f}" == "10.0"
    assert repr(nnx.tensor([1.0, 2.5], requires_grad=True)) == "tensor([1.0000, 2.5000], requires_grad=True)"
    assert repr(nnx.tensor([1, 2])) == "tensor([1, 2])"
    assert "grad_fn=<MulBackward>" in repr(nnx.tensor([1.0], requires_grad=True) * 2)
    assert x.device == "cpu"
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


def test_device_arguments():
    assert nnx.zeros(2, device="cpu").device == "cpu"
    with pytest.raises(RuntimeError, match="cuda"):
        nnx.tensor([1.0], device="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        nnx.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="device"):
        nnx.zeros(2, device="tpu")


def test_factories():
    assert nnx.zeros(2, 3).shape == (2, 3) and nnx.zeros((2, 3)).dtype == np.float32
    assert nnx.ones(4, dtype=nnx.float64).dtype == np.float64
    assert nnx.full((2,), 7).dtype == np.int64 and nnx.full((2,), 0.5).dtype == np.float32
    assert nnx.arange(5).dtype == np.int64 and nnx.arange(0, 1, 0.25).shape == (4,)
    assert nnx.zeros_like(nnx.ones(3, dtype=nnx.float64)).dtype == np.float64
    assert nnx.ones_like(nnx.zeros(2, 2)).numpy().sum() == 4
    assert nnx.randn(3, 4, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="ndarray"):
        nnx.from_numpy([1, 2])
    with pytest.raises(TypeError, match="size"):
        nnx.zeros("a")


def test_manual_seed_gives_bit_identical_results():
    nnx.manual_seed(123)
    first = (nnx.randn(5, 7).numpy(), nnx.rand(3).numpy())
    nnx.manual_seed(123)
    second = (nnx.randn(5, 7).numpy(), nnx.rand(3).numpy())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0].reshape(-1)[:3], second[1])
    assert nnx.initial_seed() == 123


def test_random_state_round_trips_through_pickle():
    from nnx import random
    nnx.manual_seed(9)
    nnx.randn(3)
    state = pickle.loads(pickle.dumps(random.get_state()))
    expected = nnx.randn(4).numpy()
    assert random.dropout_seed_offset(10) == (9, random.get_state()["counter"] - 3)
    random.set_state(state)
    np.testing.assert_array_equal(nnx.randn(4).numpy(), expected)
    with pytest.raises(ValueError, match="state"):
        random.set_state({"seed": 1})
    with pytest.raises(TypeError, match="seed"):
        nnx.manual_seed(1.5)


def test_custom_function_with_static_methods():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2

    x = nnx.tensor([1.0, -2.0], requires_grad=True)
    y = Cube.apply(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 12.0])
    assert "CubeBackward" in repr(y)


def test_custom_function_returning_a_wrong_shape_is_caught():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad[:1]

    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid gradient"):
        Broken.apply(x).sum().backward()


def test_custom_function_returning_a_saved_array_does_not_alias_the_leaf_gradient():
    class Leaky(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.constant = np.ones_like(x)
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return ctx.constant  # ignores grad on purpose: the engine must copy, not adopt it

    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = Leaky.apply(x)
    kept = y.grad_fn.constant
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_array_equal(kept, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_branch_without_gradient_still_releases_its_parents():
    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.argmax()  # no grad
    w = (y * y.detach()).sum() + y.max() * 0
    w.backward()
    assert z.dtype == np.int64
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy() + [0, 0])


def test_zero_dimensional_results_are_arrays(rng):
    a = nnx.tensor(2.0, requires_grad=True)
    for result in (a + 1, a * a, 3 - a, a / 2, a ** 2, -a, a.exp()):
        assert isinstance(result.numpy(), np.ndarray) and result.shape == ()
    (a * a + 1).backward()
    assert a.grad.item() == 4.0 and isinstance(a.grad.numpy(), np.ndarray)


def test_scalar_used_twice_feeds_native_backwards(rng):
    import nnx.nn.functional as F
    x = nnx.tensor(rng.uniform(-1, 1, size=(4, 3)), requires_grad=True)
    loss = F.mse_loss(x, nnx.zeros(4, 3, dtype=nnx.float64))
    (loss + loss * 2).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * x.numpy() / 12)


def test_grad_mode_decorators_with_and_without_parentheses():
    @nnx.no_grad
    def bare(t):
        return t * 2

    @nnx.set_grad_enabled(False)
    def switched(t):
        return t * 2

    x = nnx.tensor([1.0], requires_grad=True)
    assert not bare(x).requires_grad and not switched(x).requires_grad and nnx.is_grad_enabled()
    with nnx.no_grad():
        assert nnx.enable_grad(lambda t: t * 2)(x).requires_grad


def test_custom_function_with_plain_methods():
    class Scale(Function):
        def forward(self, x, factor):
            self.factor = factor
            return x * factor

        def backward(self, grad):
            return grad * self.factor, None

    x = nnx.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_setitem_writes_in_place_and_refuses_to_lose_gradients():
    x = nnx.zeros(2, 3)
    x[0, 1:] = 5.0
    x[1] = nnx.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.numpy(), [[0, 5, 5], [1, 2, 3]])
    with pytest.raises(RuntimeError, match="gradient would be lost"):
        x[0] = nnx.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        nnx.ones(3, requires_grad=True)[0] = 1.0


def test_pickled_tensors_work_with_the_native_kernels():
    import nnx.nn.functional as F
    x = nnx.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    (x * 2).sum().backward()
    restored = pickle.loads(pickle.dumps(x))
    assert restored.requires_grad and restored.grad.tolist() == [[2.0, 2.0, 2.0]]
    weight = pickle.loads(pickle.dumps(nnx.ones(2, 3)))
    np.testing.assert_array_equal(F.linear(restored, weight).numpy(), [[6.0, 6.0]])


@pytest.mark.parametrize("a, b, expected", [
    (nnx.tensor([1, 2]), 2.0, np.float32),                              # int / Python float
    (nnx.tensor([1, 2]), nnx.tensor([2, 4]), np.float32),               # int / int
    (nnx.tensor([1, 2], dtype=nnx.int64), nnx.tensor([2.0, 4.0]), np.float32),  # int / float32
    (nnx.tensor(np.array([1.0, 2.0])), 2, np.float64),                  # float64 stays float64
    (nnx.tensor([1.0, 2.0]), 2, np.float32),
])
def test_true_division_promotes_like_pytorch(a, b, expected):
    assert (a / b).dtype == expected
