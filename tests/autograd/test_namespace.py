"""The torch namespace: nnx.<function> for every Tensor math method, the methods nnx added for it, dtype names,
creation and random functions, and the coverage decisions of tools/torch_names.json (the functions' math is checked
in test_namespace_math.py, the compositions and in-place variants in test_namespace_composites.py)."""
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


# --- arithmetic functions ---------------------------------------------------------------------------------------------
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


# --- dtypes -----------------------------------------------------------------------------------------------------------
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


# --- creation, random, grad modes -------------------------------------------------------------------------------------
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


# --- coverage decisions (tools/torch_names.json, walked from PyTorch) -------------------------------------------------
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
    for name, _alternative in NOT_PROVIDED_METHODS.items():
        method = getattr(nnx.Tensor, name)
        if not getattr(method, "not_provided", False):
            continue
        with pytest.raises(NotImplementedError, match=f"Tensor.{name} is not provided"):
            getattr(x, name)()
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        nnx.no_such_name  # noqa: B018
