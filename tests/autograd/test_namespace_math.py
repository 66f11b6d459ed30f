"""The torch namespace's math against NumPy float64 references with finite-difference gradients: elementwise
functions, reductions and scans, max/min, sort and topk, linear algebra and einsum, shape and indexing functions (the
comparisons with PyTorch at the end skip without it)."""
import pathlib

import numpy as np
import pytest
from opcheck import check_op

import nnx

ROOT = pathlib.Path(__file__).resolve().parents[2]


# --- elementwise math: value and gradient against NumPy float64 and finite differences --------------------------------
UNARY = [  # (name, NumPy reference, sampling range)
    ("sin", np.sin, (-2, 2)), ("cos", np.cos, (-2, 2)), ("tan", np.tan, (-1, 1)),
    ("asin", np.arcsin, (-0.9, 0.9)), ("acos", np.arccos, (-0.9, 0.9)), ("atan", np.arctan, (-2, 2)),
    ("sinh", np.sinh, (-2, 2)), ("cosh", np.cosh, (-2, 2)), ("asinh", np.arcsinh, (-2, 2)),
    ("acosh", np.arccosh, (1.2, 3)), ("atanh", np.arctanh, (-0.9, 0.9)), ("log1p", np.log1p, (0.2, 3)),
    ("expm1", np.expm1, (-2, 2)), ("log2", np.log2, (0.2, 3)), ("log10", np.log10, (0.2, 3)),
    ("exp2", np.exp2, (-2, 2)), ("reciprocal", np.reciprocal, (0.3, 3)), ("frac", lambda x: x - np.trunc(x), (-2, 2)),
]


@pytest.mark.parametrize("name,reference,bounds", UNARY, ids=[case[0] for case in UNARY])
def test_unary_math_function_and_method(rng, name, reference, bounds):
    low, high = bounds
    check_op(lambda x: getattr(nnx, name)(x), reference, (3, 5), rng=rng, low=low, high=high, grad_rtol=1e-5)
    check_op(lambda x: getattr(x, name)(), reference, (7,), rng=rng, low=low, high=high, grad_rtol=1e-5)


@pytest.mark.parametrize("name,reference", [("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
                                            ("round", np.round), ("sign", np.sign)])
def test_piecewise_constant_functions_have_zero_gradient(rng, name, reference):
    values = rng.uniform(-3, 3, size=(4, 3))
    x = nnx.tensor(values, requires_grad=True)
    out = getattr(nnx, name)(x)
    np.testing.assert_array_equal(out.numpy(), reference(values))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(values))


# --- reductions and scans ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_prod(rng, dim, keepdim):
    check_op(lambda x: x.prod(dim, keepdim=keepdim) if dim is not None else nnx.prod(x),
             lambda x: np.prod(x, axis=dim, keepdims=keepdim), (3, 4), rng=rng, grad_rtol=1e-5)


def test_prod_gradient_is_exact_with_zeros():
    x = nnx.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 4.0, 2.0]], dtype=nnx.float64, requires_grad=True)
    x.prod(1).sum().backward()
    # d/dx_i prod = product of the others: one zero in the row leaves the zero's slot non-zero.
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [8.0, 2.0, 4.0]])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_and_cumprod(rng, dim):
    check_op(lambda x: nnx.cumsum(x, dim), lambda x: np.cumsum(x, axis=dim), (3, 4), rng=rng)
    check_op(lambda x: x.cumprod(dim), lambda x: np.cumprod(x, axis=dim), (3, 4), rng=rng, grad_rtol=1e-5)


def _logsumexp(x, axis, keepdims=False):
    shift = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), ((0, 1), False)])
def test_logsumexp(rng, dim, keepdim):
    check_op(lambda x: nnx.logsumexp(x, dim, keepdim=keepdim), lambda x: _logsumexp(x, dim, keepdim), (3, 4), rng=rng)


def test_logsumexp_is_stable_for_large_values_and_minus_infinity():
    big = nnx.tensor([[1000.0, 1000.0], [-np.inf, -np.inf]], dtype=nnx.float64)
    np.testing.assert_allclose(big.logsumexp(1).numpy(), [1000.0 + np.log(2.0), -np.inf])


@pytest.mark.parametrize("p", ["fro", 2, 1, 3, float("inf"), -float("inf")])
@pytest.mark.parametrize("dim", [None, 1])
def test_norm(rng, p, dim):
    def reference(x):
        flat = x if dim is not None else x.reshape(-1)
        order = 2 if p == "fro" else p
        return np.linalg.norm(flat, ord=order, axis=-1 if dim is not None else None)
    check_op(lambda x: nnx.norm(x, p, dim), reference, (3, 4), rng=rng, grad_rtol=1e-5)


def test_norm_refuses_an_unknown_order():
    with pytest.raises(ValueError, match="p must be"):
        nnx.zeros(3).norm("nuc")


def test_sum_mean_std_var_functions_match_the_methods(rng):
    x = nnx.tensor(rng.standard_normal((4, 5)))
    for name in ("sum", "mean", "std", "var", "amax", "amin", "logsumexp"):
        np.testing.assert_array_equal(getattr(nnx, name)(x, 1).numpy(), getattr(x, name)(1).numpy())


# --- max/min, sort, topk ----------------------------------------------------------------------------------------------
def test_max_and_min_functions_return_values_and_indices(rng):
    values = rng.standard_normal((3, 5))
    x = nnx.tensor(values, requires_grad=True)
    result = nnx.max(x, dim=1)
    np.testing.assert_array_equal(result.values.numpy(), values.max(1))
    np.testing.assert_array_equal(result.indices.numpy(), values.argmax(1))
    assert result.indices.dtype == np.int64
    values_min, indices_min = nnx.min(x, 0, keepdim=True)
    assert values_min.shape == (1, 5) and indices_min.shape == (1, 5)
    assert nnx.max(x).item() == values.max() and nnx.argmin(x).item() == values.argmin()
    other = nnx.tensor(rng.standard_normal((3, 5)))
    np.testing.assert_array_equal(nnx.max(x, other).numpy(), np.maximum(values, other.numpy()))
    result.values.sum().backward()
    expected = np.zeros_like(values)
    expected[np.arange(3), values.argmax(1)] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_are_stable_and_differentiable(rng, descending):
    values = np.array([[3.0, 1.0, 3.0, 2.0, 1.0], [0.5, 0.5, -1.0, 4.0, 0.5]])
    key = -values if descending else values
    expected_indices = np.argsort(key, axis=1, kind="stable")
    sorted_values, indices = nnx.sort(nnx.tensor(values), dim=1, descending=descending)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)
    np.testing.assert_array_equal(sorted_values.numpy(), np.take_along_axis(values, expected_indices, 1))
    np.testing.assert_array_equal(nnx.argsort(nnx.tensor(values), 1, descending=descending).numpy(), expected_indices)
    check_op(lambda x: x.sort(0, descending=descending).values, lambda x: np.sort(key_sign(x, descending), 0) *
             (-1 if descending else 1), (4, 3), rng=rng)


def key_sign(x, descending):
    return -x if descending else x


@pytest.mark.parametrize("largest", [True, False])
def test_topk(rng, largest):
    values = rng.standard_normal((4, 6))
    top_values, top_indices = nnx.topk(nnx.tensor(values), 3, dim=1, largest=largest)
    order = np.argsort(-values if largest else values, axis=1)[:, :3]
    np.testing.assert_array_equal(top_indices.numpy(), order)
    np.testing.assert_array_equal(top_values.numpy(), np.take_along_axis(values, order, 1))
    check_op(lambda x: x.topk(2, largest=largest).values,
             lambda x: np.take_along_axis(x, np.argsort(-x if largest else x, axis=-1)[:, :2], -1), (3, 5), rng=rng)
    with pytest.raises(RuntimeError, match="out of range"):
        nnx.tensor(values).topk(7)


def test_median_is_the_lower_middle_value(rng):
    values = rng.standard_normal((3, 4))
    median, indices = nnx.median(nnx.tensor(values), 1)
    expected = np.sort(values, axis=1)[:, 1]
    np.testing.assert_array_equal(median.numpy(), expected)
    np.testing.assert_array_equal(np.take_along_axis(values, indices.numpy()[:, None], 1)[:, 0], expected)
    assert nnx.median(nnx.tensor([3.0, 1.0, 4.0, 2.0])).item() == 2.0


def test_unique():
    x = nnx.tensor([3, 1, 3, 2, 1, 3])
    values, inverse, counts = nnx.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [1, 2, 3])
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], x.numpy())
    np.testing.assert_array_equal(counts.numpy(), [2, 1, 3])


# --- linear algebra, einsum -------------------------------------------------------------------------------------------
def test_mm_bmm_mv_dot_outer(rng):
    check_op(nnx.mm, np.matmul, (3, 4), (4, 2), rng=rng)
    check_op(nnx.bmm, np.matmul, (2, 3, 4), (2, 4, 5), rng=rng)
    check_op(nnx.mv, np.matmul, (3, 4), (4,), rng=rng)
    check_op(nnx.dot, np.dot, (5,), (5,), rng=rng)
    check_op(nnx.outer, np.outer, (3,), (4,), rng=rng)
    with pytest.raises(RuntimeError, match="'mat2' must be a 2-D"):
        nnx.mm(nnx.zeros(2, 3), nnx.zeros(3))
    with pytest.raises(RuntimeError, match="'self' must be a 3-D"):
        nnx.bmm(nnx.zeros(2, 3), nnx.zeros(3, 2))


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]), ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]), ("i,i->", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]), ("ij,j", [(3, 4), (4,)]),
    ("bi,bj->b", [(2, 3), (2, 4)]),
])
def test_einsum(rng, equation, shapes):
    check_op(lambda *xs: nnx.einsum(equation, *xs), lambda *xs: np.einsum(equation, *xs), *shapes, rng=rng)


def test_einsum_takes_a_list_and_refuses_what_it_cannot_differentiate():
    a, b = nnx.ones(2, 3), nnx.ones(3, 4)
    np.testing.assert_array_equal(nnx.einsum("ij,jk->ik", [a, b]).numpy(), np.full((2, 4), 3.0))
    with pytest.raises(NotImplementedError, match="ellipsis"):
        nnx.einsum("...ij->...ji", a)
    with pytest.raises(NotImplementedError, match="diagonal"):
        nnx.einsum("ii->i", nnx.ones(3, 3))
    with pytest.raises(ValueError, match="subscripts 'ijk'"):
        nnx.einsum("ijk->i", a)
    with pytest.raises(TypeError, match="operand 1"):
        nnx.einsum("ij,jk->ik", a, np.ones((3, 4)))


@pytest.mark.parametrize("offset", [0, 1, -1])
def test_diag_diagonal_trace_tril_triu(rng, offset):
    check_op(lambda x: nnx.diag(x, offset), lambda x: np.diag(x, offset), (4, 4), rng=rng)
    check_op(lambda x: x.diag(offset), lambda x: np.diag(x, offset), (3,), rng=rng)
    check_op(lambda x: nnx.diagonal(x, offset), lambda x: np.diagonal(x, offset), (3, 5), rng=rng)
    check_op(lambda x: nnx.tril(x, offset), lambda x: np.tril(x, offset), (4, 3), rng=rng)
    check_op(lambda x: nnx.triu(x, offset), lambda x: np.triu(x, offset), (2, 4, 3), rng=rng)
    check_op(nnx.trace, np.trace, (4, 4), rng=rng)


# --- shape and indexing -----------------------------------------------------------------------------------------------
def test_shape_functions(rng):
    check_op(lambda x: nnx.movedim(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), (2, 3, 4), rng=rng)
    check_op(lambda x: x.movedim((0, 1), (2, 0)), lambda x: np.moveaxis(x, (0, 1), (2, 0)), (2, 3, 4), rng=rng)
    check_op(lambda x: nnx.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2), (2, 3, 4), rng=rng)
    check_op(lambda x: nnx.flip(x, (0, 2)), lambda x: np.flip(x, (0, 2)), (2, 3, 4), rng=rng)
    check_op(lambda x: nnx.roll(x, 2, 1), lambda x: np.roll(x, 2, 1), (3, 4), rng=rng)
    check_op(lambda x: x.roll((1, -1), (0, 1)), lambda x: np.roll(x, (1, -1), (0, 1)), (3, 4), rng=rng)
    check_op(lambda x: nnx.roll(x, 3), lambda x: np.roll(x, 3), (3, 4), rng=rng)
    check_op(lambda x: nnx.narrow(x, 1, 1, 2), lambda x: x[:, 1:3], (3, 4), rng=rng)
    check_op(lambda x: nnx.select(x, 1, 2), lambda x: x[:, 2], (3, 4), rng=rng)
    index = np.array([2, 0, 2])
    check_op(lambda x: nnx.index_select(x, 0, nnx.tensor(index)), lambda x: x[index], (3, 4), rng=rng)
    check_op(lambda x: nnx.repeat_interleave(x, 2, dim=0), lambda x: np.repeat(x, 2, axis=0), (3, 2), rng=rng)
    check_op(lambda x: x.repeat_interleave(3), lambda x: np.repeat(x, 3), (2, 2), rng=rng)
    for function in ("flatten", "squeeze", "t", "clone", "detach"):
        x = nnx.tensor(rng.standard_normal((1, 3)))
        np.testing.assert_array_equal(getattr(nnx, function)(x).numpy(), getattr(x, function)().numpy())


def test_nonzero_and_argwhere():
    x = nnx.tensor([[0, 1], [2, 0]])
    np.testing.assert_array_equal(nnx.nonzero(x).numpy(), [[0, 1], [1, 0]])
    rows, cols = nnx.nonzero(x, as_tuple=True)
    np.testing.assert_array_equal(rows.numpy(), [0, 1])
    np.testing.assert_array_equal(nnx.argwhere(x).numpy(), [[0, 1], [1, 0]])
    assert nnx.count_nonzero(x).item() == 2


def test_scatter_in_place_and_select():
    one_hot = nnx.zeros(3, 4).scatter_(1, nnx.tensor([[1], [3], [0]]), value=1.0)
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(4)[[1, 3, 0]])
    target = nnx.zeros(2, 3).scatter_(0, nnx.tensor([[1, 0, 1]]), nnx.tensor([[5.0, 6.0, 7.0]]))
    np.testing.assert_array_equal(target.numpy(), [[0, 6, 0], [5, 0, 7]])
    with pytest.raises(RuntimeError, match="leaf Variable"):
        nnx.zeros(2, requires_grad=True).scatter_(0, nnx.tensor([0]), value=1.0)


# --- against PyTorch (skipped without it) -----------------------------------------------------------------------------
TORCH_CASES = [  # (function name, args after the input, kwargs)
    ("logsumexp", (1,), {}), ("prod", (0,), {}), ("cumsum", (1,), {}), ("cumprod", (0,), {}), ("norm", (), {}),
    ("norm", (1, 1), {}), ("sin", (), {}), ("log1p", (), {}), ("expm1", (), {}), ("atan", (), {}), ("tril", (), {}),
    ("triu", (1,), {}), ("flip", ((0,),), {}), ("roll", (1, 1), {}), ("diag", (), {}), ("trace", (), {}),
    ("std", (1,), {}), ("var", (0,), {"keepdim": True}), ("amax", (1,), {}), ("reciprocal", (), {}),
]


@pytest.mark.parametrize("name,args,kwargs", TORCH_CASES)
def test_against_torch(rng, name, args, kwargs):
    torch = pytest.importorskip("torch")
    values = rng.uniform(0.5, 1.5, size=(4, 4))
    weights = rng.standard_normal(np.shape(getattr(torch, name)(torch.tensor(values), *args, **kwargs)))
    ours = nnx.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    out, expected = getattr(nnx, name)(ours, *args, **kwargs), getattr(torch, name)(theirs, *args, **kwargs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    (out * nnx.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sort_topk_and_einsum_against_torch(rng):
    torch = pytest.importorskip("torch")
    values = rng.standard_normal((3, 6))
    for ours, theirs in ((nnx.sort(nnx.tensor(values), 1, descending=True), torch.sort(torch.tensor(values), 1, True)),
                         (nnx.topk(nnx.tensor(values), 2), torch.topk(torch.tensor(values), 2))):
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    np.testing.assert_allclose(nnx.einsum("bij,bjk->bik", nnx.tensor(a), nnx.tensor(b)).numpy(),
                               torch.einsum("bij,bjk->bik", torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
