"""The fake CUDA module (tests/fake_cuda) against what it stands in for: every public name of _cuda.pyi with the stub's
parameters and defaults, DeviceArray's members, and the families of csrc/families.txt it is assembled from."""
import ast
import importlib
import inspect
import os

import pytest

import fake_cuda
import nnx
from fake_cuda import sources


def _stub():
    with open(os.path.join(os.path.dirname(nnx.__file__), "_cuda.pyi"), encoding="utf-8") as file:
        tree = ast.parse(file.read())
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")}


STUB = _stub()
FUNCTIONS = sorted(name for name, node in STUB.items() if isinstance(node, ast.FunctionDef))


def _parameters(node):
    """[(name, keyword-only, default or inspect.Parameter.empty)] of a stub def."""
    arguments = node.args
    positional = [(a.arg, False) for a in arguments.args]
    defaults = [inspect.Parameter.empty] * (len(positional) - len(arguments.defaults))
    defaults += [ast.literal_eval(d) for d in arguments.defaults]
    keyword = [(a.arg, True) for a in arguments.kwonlyargs]
    keyword_defaults = [inspect.Parameter.empty if d is None else ast.literal_eval(d) for d in arguments.kw_defaults]
    return [(*p, d) for p, d in zip(positional + keyword, defaults + keyword_defaults)]


def test_the_fake_has_exactly_the_stubs_names():
    assert sorted(fake_cuda.__all__) == sorted(STUB)
    assert all(hasattr(fake_cuda, name) for name in STUB)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_takes_the_stubs_parameters(name):
    expected = _parameters(STUB[name])
    got = list(inspect.signature(getattr(fake_cuda, name)).parameters.values())
    assert [p.name for p in got] == [p[0] for p in expected]
    for parameter, (_, keyword_only, default) in zip(got, expected):
        assert (parameter.kind == parameter.KEYWORD_ONLY) == keyword_only, parameter.name
        # the op families' wrappers declare no defaults: nnx._C applies the binding's own
        if parameter.default is not parameter.empty:
            assert parameter.default == default, parameter.name


def test_device_array_has_the_stubs_members():
    members = [node for node in STUB["DeviceArray"].body if isinstance(node, ast.FunctionDef)]
    assert members
    for node in members:
        assert hasattr(fake_cuda.DeviceArray, node.name), node.name
        if not any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            expected = [p for p in _parameters(node) if p[0] != "self"]
            got = [p for p in inspect.signature(getattr(fake_cuda.DeviceArray, node.name)).parameters.values()
                   if p.name != "self"]
            assert [(p.name, p.kind == p.KEYWORD_ONLY) for p in got] == [p[:2] for p in expected], node.name


def test_every_family_bound_on_the_gpu_only_has_a_fake_module():
    for family, devices in sources.families().items():
        if devices == ("cuda",):
            assert os.path.exists(os.path.join(os.path.dirname(fake_cuda.__file__), f"{family}.py")), family


def test_the_elementwise_and_reduce_ops_are_the_native_tables():
    elementwise, reduce = (importlib.import_module(f"fake_cuda.{name}") for name in ("elementwise", "reduce"))
    assert {"negative", "sigmoid", "erf"} <= set(elementwise._UNARY_DOMAINS)
    assert {"add", "power", "bitwise_xor"} <= set(elementwise._BINARY_DOMAINS)
    assert {"isnan", "equal", "logical_xor"} <= elementwise._GIVES_BOOL
    assert all(callable(function) for function in elementwise._UNARY.values())
    assert set(elementwise._DESCRIPTIONS) == set(elementwise._ACCEPTS)
    assert reduce._REDUCE_OPS[:2] == ("sum", "prod") and "mean" in reduce._REDUCE_OPS
