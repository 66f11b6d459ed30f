"""The torch namespace: nnx.<function> for every Tensor math method, the methods nnx added for it, dtype names,
creation and random functions, and the coverage decisions of tools/torch_names.json (all without torch;
the comparisons with PyTorch at the end skip without it)."""
import importlib.util
import json
import pathlib
import re

import numpy as np
import pytest
from opcheck import check_op

import nnx
from nnx._functions import METHOD_FUNCTIONS
from nnx._not_provided import NOT_PROVIDED_FUNCTIONS, NOT_PROVIDED_METHODS, NotProvidedError

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load_coverage_tool():
    spec = importlib.util.spec_from_file_location("torch_coverage", ROOT / "tools" / "torch_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- elementwise math: value and gradient against NumPy float64 and finite differences ------------------------------
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


# --- reductions and scans ----------------------------------------------------------------------------------------------
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


# --- max/min, sort, topk ---------------------------------------------------------------------------------------------------
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


# --- linear algebra, einsum -------------------------------------------------------------------------------------------------
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


# --- shape and indexing -------------------------------------------------------------------------------------------------------
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


# --- arithmetic functions --------------------------------------------------------------------------------------------------------
def test_arithmetic_functions(rng):
    check_op(lambda a, b: nnx.add(a, b, alpha=2), lambda a, b: a + 2 * b, (3,), (3,), rng=rng)
    check_op(lambda a, b: nnx.sub(a, b, alpha=0.5), lambda a, b: a - 0.5 * b, (3,), (3,), rng=rng)
    check_op(nnx.mul, np.multiply, (2, 3), (3,), rng=rng)
    check_op(nnx.div, np.divide, (2, 3), (3,), rng=rng)
    check_op(nnx.maximum, np.maximum, (4,), (4,), rng=rng)
    check_op(lambda a: nnx.pow(2.0, a), lambda a: np.power(2.0, a), (4,), rng=rng)
    x = nnx.tensor([-7.0, 7.0, -7.5])
    np.testing.assert_array_equal(nnx.div(x, 2, rounding_mode="floor").numpy(), [-4.0, 3.0, -4.0])
    np.testing.assert_array_equal(nnx.div(x, 2, rounding_mode="trunc").numpy(), [-3.0, 3.0, -3.0])
    np.testing.assert_array_equal(nnx.remainder(x, 2).numpy(), np.remainder(x.numpy(), 2))
    np.testing.assert_array_equal(nnx.fmod(x, 2).numpy(), np.fmod(x.numpy(), 2))
    np.testing.assert_array_equal(nnx.floor_divide(x, 2).numpy(), np.floor_divide(x.numpy(), 2))
    with pytest.raises(ValueError, match="rounding_mode"):
        nnx.div(x, 2, rounding_mode="ceil")


def test_function_refuses_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="argument 'input' must be a Tensor, got list"):
        nnx.exp([1.0, 2.0])


def test_every_method_function_is_the_method():
    x = nnx.tensor([[0.5, -1.5], [2.0, 0.25]])
    for name in METHOD_FUNCTIONS:
        assert hasattr(nnx.Tensor, name), name
        assert getattr(nnx, name).__name__ == name
    for name in ("exp", "sigmoid", "relu", "abs", "neg", "square", "rsqrt"):
        got, expected = getattr(nnx, name)(x.abs()), getattr(x.abs(), name)()
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_every_tensor_math_method_is_also_a_function():
    # The methods of Tensor that compute a new value from the tensor (not conversions, in-place ops or
    # attributes) all exist as functions too.
    not_functions = {"backward", "cpu", "cuda", "to", "type", "float", "double", "long", "int", "bool", "half",
                     "short", "byte", "char", "item", "tolist", "numpy", "size", "dim", "ndimension", "nelement",
                     "element_size", "get_device", "contiguous", "is_contiguous", "view", "view_as", "reshape_as",
                     "expand", "expand_as", "repeat", "type_as", "new_zeros", "new_ones", "new_empty", "new_full",
                     "new_tensor", "requires_grad_", "detach_", "stride", "where", "apply_", "map_", "data_ptr",
                     "storage", "untyped_storage", "register_hook", "retain_grad", "share_memory_", "pin_memory",
                     "resize", "to_sparse", "to_dense", "div", "sub", "add", "pow", "multiply", "subtract", "divide",
                     "true_divide", "clip", "multinomial", "random_"}
    public = [name for name in dir(nnx.Tensor) if not name.startswith("_") and not name.endswith("_")]
    callables = [name for name in public if callable(getattr(nnx.Tensor, name))
                 and not getattr(getattr(nnx.Tensor, name), "not_provided", False)]
    missing = [name for name in callables if name not in not_functions and not hasattr(nnx, name)]
    assert missing == []


# --- dtypes --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,numpy_type", [
    ("int8", np.int8), ("int16", np.int16), ("int32", np.int32), ("int64", np.int64), ("uint8", np.uint8),
    ("bool", np.bool_), ("float16", np.float16), ("float32", np.float32), ("float64", np.float64),
    ("half", np.float16), ("float", np.float32), ("double", np.float64), ("short", np.int16), ("int", np.int32),
    ("long", np.int64)])
def test_dtype_names(name, numpy_type):
    dtype = getattr(nnx, name)
    assert dtype is numpy_type
    assert nnx.tensor([1, 0], dtype=dtype).dtype == numpy_type
    assert nnx.zeros(2, dtype=dtype).dtype == numpy_type


def test_bfloat16_is_a_name_whose_use_says_why_it_fails():
    assert nnx.bfloat16.__name__ == "bfloat16"
    with pytest.raises(TypeError, match="do not hold bfloat16"):
        nnx.zeros(2, dtype=nnx.bfloat16)
    with pytest.raises(TypeError, match="do not hold bfloat16"):
        nnx.ones(2).to(nnx.bfloat16)


def test_builtins_are_not_shadowed_by_a_star_import():
    namespace = {}
    exec("from nnx import *", namespace)  # noqa: S102
    for name in ("bool", "int", "float", "max", "min", "sum", "abs", "round", "pow", "all", "any"):
        assert name not in namespace, name
    assert namespace["int32"] is np.int32 and namespace["logsumexp"] is nnx.logsumexp


def test_fastai_tensor_helper_pattern():
    # fastai's tensor(): `tensor(x).to(torch.int32)` style conversions, and the legacy constructors.
    assert nnx.tensor([1.7, 2.2]).to(nnx.int32).tolist() == [1, 2]
    assert nnx.LongTensor([1, 2]).dtype == np.int64 and nnx.FloatTensor(2, 3).shape == (2, 3)
    assert nnx.IntTensor([[1]]).dtype == np.int32


# --- creation, random, grad modes ------------------------------------------------------------------------------------------
def test_creation_functions():
    np.testing.assert_allclose(nnx.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    assert nnx.linspace(0, 1, 5).dtype == np.float32
    np.testing.assert_allclose(nnx.logspace(0, 2, 3).numpy(), [1, 10, 100])
    np.testing.assert_array_equal(nnx.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(nnx.eye(2, 3, dtype=nnx.int64).numpy(), np.eye(2, 3))
    values = np.arange(4.0)
    shared = nnx.as_tensor(values)
    values[0] = 9.0
    assert shared[0].item() == 9.0  # as_tensor shares a NumPy array's memory
    assert nnx.as_tensor(shared) is shared
    assert nnx.as_tensor([1, 2], dtype=nnx.float32).dtype == np.float32
    assert nnx.is_tensor(shared) and not nnx.is_tensor(values)
    assert nnx.numel(nnx.zeros(2, 3)) == 6
    grid_x, grid_y = nnx.meshgrid(nnx.arange(3), nnx.arange(2), indexing="ij")
    expected_x, expected_y = np.meshgrid(np.arange(3), np.arange(2), indexing="ij")
    np.testing.assert_array_equal(grid_x.numpy(), expected_x)
    np.testing.assert_array_equal(grid_y.numpy(), expected_y)
    grid_x, grid_y = nnx.meshgrid(nnx.arange(3), nnx.arange(2), indexing="xy")
    expected_x, expected_y = np.meshgrid(np.arange(3), np.arange(2), indexing="xy")
    np.testing.assert_array_equal(grid_x.numpy(), expected_x)
    np.testing.assert_array_equal(grid_y.numpy(), expected_y)


def test_random_functions_are_seeded():
    def draw():
        nnx.manual_seed(123)
        return (nnx.randint(0, 10, (50,)).numpy(), nnx.randperm(20).numpy(),
                nnx.rand_like(nnx.zeros(3, 2)).numpy(), nnx.randn_like(nnx.zeros(4)).numpy(),
                nnx.multinomial(nnx.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 1.0]]), 2).numpy())
    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    integers, permutation, uniform, normal, samples = first
    assert integers.dtype == np.int64 and integers.min() >= 0 and integers.max() < 10
    assert sorted(permutation.tolist()) == list(range(20))
    assert uniform.shape == (3, 2) and uniform.dtype == np.float32 and 0 <= uniform.min() and uniform.max() < 1
    assert normal.shape == (4,)
    assert samples[0, 0] != 0 and samples[1, 0] != 1 and all(len(set(row)) == 2 for row in samples.tolist())
    assert nnx.randint(5, (3, 2)).shape == (3, 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        nnx.multinomial(nnx.tensor([-1.0, 2.0]), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        nnx.multinomial(nnx.tensor([1.0, 2.0]), 3)


def test_inference_mode_and_default_dtype():
    x = nnx.ones(2, requires_grad=True)
    with nnx.inference_mode():
        assert not (x * 2).requires_grad and nnx.is_inference_mode_enabled()
    with nnx.inference_mode(False):
        assert (x * 2).requires_grad

    @nnx.inference_mode
    def doubled(value):
        return value * 2
    assert not doubled(x).requires_grad and nnx.is_grad_enabled()
    assert nnx.get_default_dtype() is np.float32
    try:
        nnx.set_default_dtype(nnx.float64)
        assert nnx.get_default_dtype() is np.float64
        assert nnx.tensor([1.5]).dtype == np.float64 and nnx.zeros(2).dtype == np.float64
        assert nnx.arange(0.0, 1.0, 0.5).dtype == np.float64 and nnx.linspace(0, 1, 3).dtype == np.float64
    finally:
        nnx.set_default_dtype(nnx.float32)
    assert nnx.tensor([1.5]).dtype == np.float32
    with pytest.raises(TypeError, match="only float32 and float64"):
        nnx.set_default_dtype(nnx.float16)


# --- coverage decisions (tools/torch_names.json, walked from PyTorch) -------------------------------------------------------
def test_every_commonly_used_torch_name_is_implemented_or_names_its_alternative():
    tool = _load_coverage_tool()
    data = json.loads(tool.DATA.read_text())
    result = tool.figures(data)
    for key in ("common_torch", "common_tensor"):
        implemented, total, decisions = result[key]
        assert [name for name, value in decisions.items() if value == "missing"] == [], key
        assert implemented / total >= 0.9, key
    assert result["torch"][0] >= 200 and result["tensor"][0] >= 200


def test_not_provided_names_raise_naming_the_alternative():
    for name, alternative in NOT_PROVIDED_FUNCTIONS.items():
        if name in vars(nnx):  # implemented since (a real function wins)
            continue
        with pytest.raises(NotProvidedError, match=re.escape(alternative)):
            getattr(nnx, name)
        assert not hasattr(nnx, name)  # NotProvidedError is an AttributeError: hasattr stays honest
    x = nnx.zeros(2)
    for name, alternative in NOT_PROVIDED_METHODS.items():
        method = getattr(nnx.Tensor, name)
        if not getattr(method, "not_provided", False):
            continue
        with pytest.raises(NotImplementedError, match=f"Tensor.{name} is not provided"):
            getattr(x, name)()
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        nnx.no_such_name  # noqa: B018


# --- against PyTorch (skipped without it) -------------------------------------------------------------------------------------
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


# --- compositions (nnx._composite): NumPy float64 references with finite-difference gradients ----------------------------
COMPOSITE_BINARY = [  # (name, NumPy reference, shapes, sampling range)
    ("atan2", np.arctan2, ((3, 4), (4,)), (-2, 2)), ("hypot", np.hypot, ((3, 4), (3, 4)), (-2, 2)),
    ("logaddexp", np.logaddexp, ((3, 4), (3, 1)), (-2, 2)), ("logaddexp2", np.logaddexp2, ((5,), (5,)), (-2, 2)),
    ("xlogy", lambda x, y: x * np.log(y), ((4,), (4,)), (0.2, 2)), ("fmax", np.fmax, ((4,), (4,)), (-2, 2)),
    ("fmin", np.fmin, ((4,), (4,)), (-2, 2)), ("kron", np.kron, ((2, 3), (3, 2)), (-2, 2)),
    ("inner", np.inner, ((3, 4), (2, 4)), (-2, 2)), ("vdot", np.vdot, ((5,), (5,)), (-2, 2)),
    ("cross", lambda a, b: np.cross(a, b, axis=1), ((4, 3), (4, 3)), (-2, 2)),
    ("dist", lambda a, b: np.linalg.norm((a - b).ravel()), ((3, 4), (3, 4)), (-2, 2)),
    ("tensordot", lambda a, b: np.tensordot(a, b, 2), ((2, 3, 4), (3, 4, 5)), (-2, 2)),
    ("cdist", lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), ((3, 4), (5, 4)), (-2, 2)),
    ("cosine_similarity", lambda a, b: (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1),
     ((3, 4), (3, 4)), (-2, 2)),
]


@pytest.mark.parametrize("name,reference,shapes,bounds", COMPOSITE_BINARY, ids=[c[0] for c in COMPOSITE_BINARY])
def test_composite_binary_functions(rng, name, reference, shapes, bounds):
    check_op(getattr(nnx, name), reference, *shapes, rng=rng, low=bounds[0], high=bounds[1], grad_rtol=1e-5)


COMPOSITE_UNARY = [  # (call, NumPy reference, shape, sampling range)
    (lambda x: nnx.logit(x), lambda x: np.log(x / (1 - x)), (5,), (0.2, 0.8)),
    (lambda x: x.deg2rad(), np.deg2rad, (4,), (-2, 2)), (lambda x: nnx.rad2deg(x), np.rad2deg, (4,), (-2, 2)),
    (lambda x: nnx.logcumsumexp(x, 1), lambda x: np.logaddexp.accumulate(x, axis=1), (3, 4), (-2, 2)),
    (lambda x: nnx.diff(x, dim=1), lambda x: np.diff(x, axis=1), (3, 4), (-2, 2)),
    (lambda x: nnx.diff(x, n=2, dim=0), lambda x: np.diff(x, n=2, axis=0), (4, 3), (-2, 2)),
    (lambda x: nnx.trapezoid(x), lambda x: np.trapezoid(x) if hasattr(np, "trapezoid") else np.trapz(x), (3, 5),
     (-2, 2)),
    (lambda x: nnx.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), (2, 3), (-2, 2)),
    (lambda x: nnx.rot90(x), lambda x: np.rot90(x), (2, 3), (-2, 2)),
    (lambda x: nnx.rot90(x, 3, (1, 0)), lambda x: np.rot90(x, 3, (1, 0)), (2, 3), (-2, 2)),
    (lambda x: nnx.rot90(x, 2), lambda x: np.rot90(x, 2), (2, 3), (-2, 2)),
    (lambda x: x.fliplr(), np.fliplr, (2, 3), (-2, 2)), (lambda x: nnx.flipud(x), np.flipud, (2, 3), (-2, 2)),
    (lambda x: nnx.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3), (3, 3), (-1, 1)),
    (lambda x: nnx.take(x, nnx.tensor([5, 0, 5])), lambda x: np.take(x, [5, 0, 5]), (2, 3), (-2, 2)),
    (lambda x: nnx.masked_select(x, nnx.tensor([True, False, True])), lambda x: x[:, [0, 2]].ravel(), (2, 3), (-2, 2)),
    (lambda x: nnx.cummax(x, 1).values, lambda x: np.maximum.accumulate(x, axis=1), (3, 4), (-2, 2)),
    (lambda x: nnx.cummin(x, 0).values, lambda x: np.minimum.accumulate(x, axis=0), (3, 4), (-2, 2)),
    (lambda x: nnx.hstack([x, x * 2]), lambda x: np.hstack([x, x * 2]), (2, 3), (-2, 2)),
    (lambda x: nnx.vstack([x, x[0]]), lambda x: np.vstack([x, x[0]]), (2, 3), (-2, 2)),
    (lambda x: nnx.dstack([x, x]), lambda x: np.dstack([x, x]), (2, 3), (-2, 2)),
    (lambda x: nnx.column_stack([x[:, 0], x]), lambda x: np.column_stack([x[:, 0], x]), (2, 3), (-2, 2)),
    (lambda x: nnx.block_diag(x, x[0]), lambda x: np.block([[x, np.zeros((2, 3))], [np.zeros((1, 3)), x[:1]]]),
     (2, 3), (-2, 2)),
    (lambda x: nnx.cartesian_prod(x[0], x[1]), lambda x: np.stack(np.meshgrid(x[0], x[1], indexing="ij"), -1)
     .reshape(-1, 2), (2, 3), (-2, 2)),
]


@pytest.mark.parametrize("case", range(len(COMPOSITE_UNARY)))
def test_composite_functions(rng, case):
    call, reference, shape, (low, high) = COMPOSITE_UNARY[case]
    check_op(call, reference, shape, rng=rng, low=low, high=high, grad_rtol=1e-5)


def test_composite_value_functions():
    x = nnx.tensor([1, 3, 2, 5, 5, 1])
    values, indices = nnx.cummax(x, 0)
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 1, 3, 4, 4])  # ties: the latest index, as torch
    assert [t.tolist() for t in nnx.tensor_split(nnx.arange(7), 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [t.tolist() for t in nnx.tensor_split(nnx.arange(7), [2, 5])] == [[0, 1], [2, 3, 4], [5, 6]]
    assert [t.tolist() for t in nnx.unbind(nnx.tensor([[1, 2], [3, 4]]), 1)] == [[1, 3], [2, 4]]
    assert nnx.bincount(nnx.tensor([0, 2, 2, 5])).tolist() == [1, 0, 2, 0, 0, 1]
    assert nnx.isin(nnx.tensor([1, 2, 3]), nnx.tensor([2, 5])).tolist() == [False, True, False]
    assert nnx.searchsorted(nnx.tensor([1, 3, 5]), nnx.tensor([3, 6])).tolist() == [1, 3]
    assert nnx.bucketize(nnx.tensor([3, 6]), nnx.tensor([1, 3, 5]), right=True).tolist() == [2, 3]
    assert nnx.histc(nnx.tensor([0.0, 1.0, 1.0, 2.0]), bins=2, min=0, max=2).tolist() == [1.0, 3.0]
    assert nnx.heaviside(nnx.tensor([-1.0, 0.0, 2.0]), nnx.tensor(0.5)).tolist() == [0.0, 0.5, 1.0]
    assert nnx.gcd(nnx.tensor([12, 18]), nnx.tensor([8, 27])).tolist() == [4, 9]
    assert nnx.copysign(nnx.tensor([1.0, -2.0]), -1.0).tolist() == [-1.0, -2.0]
    cleaned = nnx.nan_to_num(nnx.tensor([np.nan, np.inf, -np.inf, 1.0]), posinf=9.0)
    assert cleaned.tolist() == [0.0, 9.0, float(np.finfo(np.float32).min), 1.0]
    low, high = nnx.aminmax(nnx.tensor([[3.0, -1.0], [2.0, 7.0]]), dim=1)
    assert low.tolist() == [-1.0, 2.0] and high.tolist() == [3.0, 7.0]
    np.testing.assert_array_equal(nnx.tril_indices(3, 3).numpy(), np.stack(np.tril_indices(3)))
    assert nnx.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert [t.shape for t in nnx.broadcast_tensors(nnx.zeros(2, 1), nnx.zeros(3))] == [(2, 3), (2, 3)]
    assert nnx.atleast_2d(nnx.tensor(1.0)).shape == (1, 1) and nnx.atleast_3d(nnx.zeros(2, 3)).shape == (2, 3, 1)
    assert nnx.is_nonzero(nnx.tensor([2])) and not nnx.is_complex(nnx.zeros(1))
    assert nnx.float_power(nnx.tensor([2.0]), 2).dtype == np.float64
    with pytest.raises(RuntimeError, match="non-negative integers"):
        nnx.bincount(nnx.tensor([-1, 2]))


def test_composites_against_torch(rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for name, args in (("atan2", (b,)), ("logaddexp", (b,)), ("cross", (b, 1)), ("kron", (b,)), ("hypot", (b,)),
                       ("cummax", (1,)), ("logcumsumexp", (0,)), ("diff", ()), ("rot90", ()), ("fliplr", ())):
        ours = getattr(nnx, name)(nnx.tensor(a), *[nnx.tensor(x) if isinstance(x, np.ndarray) else x for x in args])
        theirs = getattr(torch, name)(torch.tensor(a), *[torch.tensor(x) if isinstance(x, np.ndarray) else x
                                                         for x in args])
        if isinstance(ours, tuple):
            ours, theirs = ours[0], theirs[0]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
    x1, x2 = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(nnx.cdist(nnx.tensor(x1), nnx.tensor(x2)).numpy(),
                               torch.cdist(torch.tensor(x1), torch.tensor(x2)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(nnx.cosine_similarity(nnx.tensor(x1), nnx.tensor(x1[::-1].copy())).numpy(),
                               torch.cosine_similarity(torch.tensor(x1), torch.tensor(x1[::-1].copy())).numpy(),
                               rtol=1e-10)


# --- in-place variants -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args", [("exp", ()), ("sqrt", ()), ("sin", ()), ("sigmoid", ()), ("clamp_min", (0.7,)),
                                       ("remainder", (0.5,)), ("tril", ()), ("cumsum", (1,)), ("atan2", (2.0,)),
                                       ("round", ()), ("reciprocal", ())])
def test_in_place_variant_writes_the_out_of_place_result(rng, name, args):
    values = rng.uniform(0.5, 1.5, size=(3, 3))
    expected = getattr(nnx.tensor(values), name)(*[nnx.tensor(a) if name == "atan2" else a for a in args]).numpy()
    x = nnx.tensor(values)
    storage = x.numpy()
    assert getattr(x, name + "_")(*[nnx.tensor(a) if name == "atan2" else a for a in args]) is x
    assert x.numpy() is storage  # the same storage, written in place
    np.testing.assert_array_equal(x.numpy(), expected)


def test_in_place_variants_refuse_what_torch_refuses():
    with pytest.raises(RuntimeError, match="leaf Variable"):
        nnx.ones(2, requires_grad=True).exp_()
    with pytest.raises(RuntimeError, match="can't be cast"):
        nnx.tensor([1, 4]).sqrt_()
    leaf = nnx.ones(2, requires_grad=True)
    with nnx.no_grad():
        leaf.mul_(2).log_()
    np.testing.assert_allclose(leaf.detach().numpy(), np.log([2.0, 2.0]))
    mask = nnx.tensor([[True, False], [False, True]])
    np.testing.assert_array_equal(nnx.zeros(2, 2).masked_fill_(mask, 5.0).numpy(), [[5, 0], [0, 5]])
    assert nnx.Tensor.multiply_ is nnx.Tensor.mul_ and nnx.Tensor.subtract_ is nnx.Tensor.sub_


def test_integer_inputs_give_float32_like_torch():
    assert nnx.tensor([1, 2]).sin().dtype == np.float32 and nnx.log1p(nnx.tensor([1, 2])).dtype == np.float32


def test_more_tensor_methods(rng):
    check_op(lambda x: x.kthvalue(2, 1).values, lambda x: np.sort(x, axis=1)[:, 1], (3, 4), rng=rng)
    check_op(lambda x: nnx.diagflat(x), lambda x: np.diagflat(x), (2, 2), rng=rng)
    check_op(lambda x: x.sum_to_size(1, 4), lambda x: x.sum(0, keepdims=True), (3, 4), rng=rng)
    check_op(lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), (2, 3, 4), rng=rng)
    check_op(lambda x: nnx.broadcast_to(x, (2, 3)), lambda x: np.broadcast_to(x, (2, 3)), (3,), rng=rng)
    assert [p.shape for p in nnx.zeros(5, 2).split_with_sizes([2, 3])] == [(2, 2), (3, 2)]
    assert nnx.zeros(2).is_signed() and not nnx.zeros(2, dtype=nnx.uint8).is_signed()
    assert nnx.zeros(2).is_same_size(nnx.ones(2)) and not nnx.zeros(2).is_same_size(nnx.ones(3))
    nnx.manual_seed(0)
    draws = nnx.bernoulli(nnx.full((2000,), 0.25))
    assert set(np.unique(draws.numpy())) <= {0.0, 1.0} and 0.2 < draws.mean().item() < 0.3
    with pytest.raises(RuntimeError, match="kthvalue"):
        nnx.zeros(3).kthvalue(4)
