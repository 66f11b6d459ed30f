"""Every differentiable Tensor op: forward against NumPy float64, gradients against finite differences."""
import numpy as np
import pytest
from opcheck import check_op

import nnx


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis):
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


BINARY_SHAPES = [((5,), (5,)), ((3, 4), (4,)), ((3, 1), (1, 7)), ((2, 3, 4), (3, 1)), ((1,), (2, 3)), ((), (3,))]


@pytest.mark.parametrize("a_shape,b_shape", BINARY_SHAPES)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_arithmetic_broadcasts(rng, name, a_shape, b_shape):
    ops = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
           "div": lambda a, b: a / b}
    check_op(ops[name], ops[name], a_shape, b_shape, rng=rng)


@pytest.mark.parametrize("scalar", [2.5, -3, np.float64(0.5)])
def test_arithmetic_with_scalars_and_reflected_forms(rng, scalar):
    check_op(lambda x: (scalar - x) * scalar / (x * 2) + scalar + x ** 2 - 1 / x,
             lambda x: (scalar - x) * scalar / (x * 2) + scalar + x ** 2 - 1 / x, (4, 3), rng=rng)


def test_arithmetic_with_plain_arrays(rng):
    constant = rng.uniform(1, 2, size=(3, 4))
    # A float64 array promotes like a float64 tensor would (as in PyTorch), so only float64 is compared here.
    check_op(lambda x: constant * x - constant + x / constant, lambda x: constant * x - constant + x / constant,
             (4,), rng=rng, float32=False)


def test_power_with_tensor_exponent(rng):
    check_op(lambda a, b: a ** b, lambda a, b: a ** b, (3, 4), (4,), rng=rng, low=0.5, high=2.0)
    check_op(lambda b: 2.0 ** b, lambda b: 2.0 ** b, (5,), rng=rng)


@pytest.mark.parametrize("a_shape,b_shape", [((3, 4), (4, 5)), ((1, 1), (1, 1)), ((17, 3), (3, 2)), ((4,), (4,)),
                                             ((4,), (4, 3)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
                                             ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul(rng, a_shape, b_shape):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, a_shape, b_shape, rng=rng)


def test_matmul_of_transposed_and_reflected_operands(rng):
    constant = rng.uniform(-1, 1, size=(2, 5)).astype(np.float32)
    check_op(lambda a, b: a.T @ b.T, lambda a, b: a.T @ b.T, (4, 3), (2, 4), rng=rng)
    check_op(lambda b: constant @ b, lambda b: constant @ b, (5, 3), rng=rng)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "exp": (lambda x: x.exp(), np.exp),
    "log": (lambda x: x.abs().log(), lambda x: np.log(np.abs(x))),
    "sqrt": (lambda x: x.abs().sqrt(), lambda x: np.sqrt(np.abs(x))),
    "abs": (lambda x: abs(x), np.abs),
    "clamp": (lambda x: x.clamp(-0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0)),
    "clamp_min": (lambda x: x.clamp(min=0.3), lambda x: np.maximum(x, 0.3)),
    "tanh": (lambda x: x.tanh(), np.tanh),
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0)),
    "square": (lambda x: x.square(), np.square),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4)])
def test_unary(rng, name, shape):
    op, reference = UNARY[name]
    check_op(op, reference, shape, rng=rng)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_methods(rng, dim, log):
    if log:
        check_op(lambda x: x.log_softmax(dim), lambda x: np.log(_softmax(x, dim)), (3, 5, 4), rng=rng)
    else:
        check_op(lambda x: x.softmax(dim), lambda x: _softmax(x, dim), (3, 5, 4), rng=rng)


REDUCTIONS = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("dim", REDUCTIONS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean(rng, dim, keepdim):
    check_op(lambda x: x.sum(dim, keepdim=keepdim), lambda x: x.sum(axis=dim, keepdims=keepdim), (3, 4, 5), rng=rng)
    check_op(lambda x: x.mean(dim, keepdim=keepdim), lambda x: x.mean(axis=dim, keepdims=keepdim), (3, 4, 5),
             rng=rng)


@pytest.mark.parametrize("dim", REDUCTIONS)
@pytest.mark.parametrize("correction", [0, 1])
def test_var_and_std(rng, dim, correction):
    check_op(lambda x: x.var(dim, correction=correction), lambda x: x.var(axis=dim, ddof=correction), (3, 4, 5),
             rng=rng)
    check_op(lambda x: x.std(dim, keepdim=True, unbiased=bool(correction)),
             lambda x: x.std(axis=dim, ddof=correction, keepdims=True), (3, 4, 5), rng=rng)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_a_dim_return_values_and_indices(rng, name, dim, keepdim):
    reduce, arg = (np.max, np.argmax) if name == "max" else (np.min, np.argmin)
    check_op(lambda x: getattr(x, name)(dim, keepdim=keepdim).values,
             lambda x: reduce(x, axis=dim, keepdims=keepdim), (3, 4, 5), rng=rng)
    x = nnx.tensor(rng.uniform(-1, 1, size=(3, 4, 5)))
    values, indices = getattr(x, name)(dim, keepdim=keepdim)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.numpy(), arg(x.numpy(), axis=dim, keepdims=keepdim))


def test_full_max_min_and_ties_share_the_gradient(rng):
    check_op(lambda x: x.max(), lambda x: x.max(), (4, 3), rng=rng)
    check_op(lambda x: x.min(), lambda x: x.min(), (4, 3), rng=rng)
    check_op(lambda x: x.amax((0, 1)), lambda x: x.max(axis=(0, 1)), (2, 3, 4), rng=rng)
    x = nnx.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0.5, 0.5, 0])


def test_elementwise_maximum_minimum(rng):
    check_op(lambda a, b: a.max(b) - a.min(b), lambda a, b: np.maximum(a, b) - np.minimum(a, b), (3, 4), (4,),
             rng=rng)


def test_argmax_argmin(rng):
    x = rng.uniform(-1, 1, size=(6, 5))
    t = nnx.tensor(x)
    assert t.argmax().item() == np.argmax(x) and t.argmax().dtype == np.int64
    np.testing.assert_array_equal(t.argmax(1).numpy(), np.argmax(x, axis=1))
    np.testing.assert_array_equal(t.argmin(0, keepdim=True).numpy(), np.argmin(x, axis=0, keepdims=True))


SHAPE_OPS = {
    "reshape": (lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    "reshape_infer": (lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3)),
    "view": (lambda x: x.view(2, 12), lambda x: x.reshape(2, 12)),
    "transpose": (lambda x: x.transpose(0, 2), lambda x: x.transpose(2, 1, 0)),
    "permute": (lambda x: x.permute(1, 2, 0), lambda x: x.transpose(1, 2, 0)),
    "T": (lambda x: x.T, lambda x: x.T),
    "flatten": (lambda x: x.flatten(), lambda x: x.reshape(-1)),
    "flatten_1": (lambda x: x.flatten(1), lambda x: x.reshape(2, -1)),
    "unsqueeze_squeeze": (lambda x: x.unsqueeze(1).unsqueeze(-1).squeeze(1),
                          lambda x: x[:, :, :, None]),
    "expand": (lambda x: x[:, :1].expand(2, 5, 4), lambda x: np.broadcast_to(x[:, :1], (2, 5, 4))),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3))),
    "transpose_then_matmul": (lambda x: x.transpose(1, 2) @ x, lambda x: np.swapaxes(x, 1, 2) @ x),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(rng, name):
    op, reference = SHAPE_OPS[name]
    check_op(op, reference, (2, 3, 4), rng=rng)


INDEXES = {
    "int": 1,
    "slice": (slice(None), slice(1, 3)),
    "negative_step": (slice(None, None, -1), 0),
    "none_ellipsis": (None, Ellipsis, 2),
    "int_array": np.array([0, 2, 2, 1, 0]),
    "two_arrays": (np.array([0, 1, 1]), np.array([2, 2, 3])),
    "bool_mask": np.array([True, False, True]),
    "mixed": (slice(0, 2), np.array([3, 3, 0])),
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_indexing_gradients_scatter_and_accumulate(rng, name):
    index = INDEXES[name]
    check_op(lambda x: x[index], lambda x: x[index], (3, 4), rng=rng)


def test_indexing_with_tensor_and_list_indices(rng):
    check_op(lambda x: x[nnx.tensor([1, 1, 0])], lambda x: x[[1, 1, 0]], (3, 2), rng=rng)
    check_op(lambda x: x[[0, 0]], lambda x: x[[0, 0]], (3, 2), rng=rng)
    check_op(lambda x: x[nnx.tensor([True, False, True])], lambda x: x[[True, False, True]], (3, 2), rng=rng)


def test_duplicate_indices_accumulate_exactly():
    x = nnx.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[nnx.tensor([2, 0, 2, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])


def test_gather(rng):
    index = np.array([[0, 2, 2], [1, 1, 0]])
    check_op(lambda x: x.gather(1, index), lambda x: np.take_along_axis(x, index, 1), (2, 4), rng=rng)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(rng, dim):
    check_op(lambda a, b: nnx.cat([a, b, a], dim=dim), lambda a, b: np.concatenate([a, b, a], axis=dim), (2, 3),
             (2, 3), rng=rng)
    check_op(lambda a, b: nnx.stack([a, b], dim=dim), lambda a, b: np.stack([a, b], axis=dim), (2, 3), (2, 3),
             rng=rng)


def test_cat_of_different_lengths(rng):
    check_op(lambda a, b: nnx.cat((a, b), 1), lambda a, b: np.concatenate([a, b], 1), (2, 3), (2, 5), rng=rng)


def test_where(rng):
    condition = rng.uniform(size=(3, 4)) > 0.5
    check_op(lambda a, b: nnx.where(nnx.tensor(condition), a, b), lambda a, b: np.where(condition, a, b), (3, 4),
             (4,), rng=rng)
    check_op(lambda a: nnx.where(condition, a, 0.0), lambda a: np.where(condition, a, 0.0), (3, 4), rng=rng)
    rows, cols = nnx.where(nnx.tensor(condition))
    np.testing.assert_array_equal(rows.numpy(), np.nonzero(condition)[0])


def test_casts_carry_gradients_in_the_source_dtype(rng):
    x = nnx.tensor(rng.uniform(-1, 1, size=(3,)).astype(np.float32), requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    assert x.long().dtype == np.int64 and not x.long().requires_grad
    assert x.to(nnx.float64).dtype == np.float64 and x.to("cpu") is x and x.float() is x


def test_clone_and_contiguous(rng):
    check_op(lambda x: x.clone() * 2, lambda x: x * 2, (3, 2), rng=rng)
    check_op(lambda x: x.T.contiguous(), lambda x: np.ascontiguousarray(x.T), (3, 2), rng=rng)
