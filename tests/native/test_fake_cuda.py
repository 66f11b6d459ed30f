"""The fake CUDA module (tests/fake_cuda) against what it stands in for: every public name of _cuda.pyi with the stub's
parameters and defaults, DeviceArray's members, and the families of csrc/families.txt it is assembled from."""
import ast
import importlib
import inspect
import math
import os

import numpy as np
import pytest

import fake_cuda
import nnx
from fake_cuda import sources
from nnx import native


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


# --- the fake refuses what the real module refuses, with the same exception and message ----------------------------
# Run where nnx._cuda is present: on a GPU, and under tools/cuda_emu (the emulated module is the real binding code).
def _f32(m, shape=(2, 3)):
    return m.DeviceArray.from_host(np.arange(math.prod(shape), dtype=np.float32).reshape(shape))


def _of(m, dtype, shape=(2, 3)):
    return m.DeviceArray.from_host(np.ones(shape, dtype))


BAD_CALLS = {  # id -> a call on module m that both modules must refuse
    "unary-unknown-op": lambda m: m.unary("relu", _f32(m), _f32(m)),
    "unary-host-array": lambda m: m.unary("exp", np.zeros((2, 3), np.float32), _f32(m)),
    "unary-float-only-op-on-int": lambda m: m.unary("exp", _of(m, np.int64), _of(m, np.int64)),
    "unary-predicate-out-dtype": lambda m: m.unary("isnan", _f32(m), _f32(m)),
    "unary-shape": lambda m: m.unary("exp", _f32(m), _f32(m, (3, 2))),
    "unary-partial-overlap": lambda m: (lambda x: m.unary("exp", x.view((2,), (1,), 0), x.view((2,), (1,), 1)))(
        _f32(m)),
    "binary-b-dtype": lambda m: m.binary("add", _f32(m), _of(m, np.float64), _f32(m)),
    "binary-bitwise-on-floats": lambda m: m.binary("bitwise_and", _f32(m), _f32(m), _f32(m)),
    "binary-unknown-op": lambda m: m.binary("divide", _f32(m), _f32(m), _f32(m)),
    "binary-scalar-negative-int-power": lambda m: m.binary_scalar("power", _of(m, np.int64), -1, _of(m, np.int64)),
    "binary-scalar-does-not-fit": lambda m: m.binary_scalar("add", _of(m, np.uint8), 300, _of(m, np.uint8)),
    "fill-does-not-fit": lambda m: m.fill(_of(m, np.int32), 2 ** 40),
    "arange-2d": lambda m: m.arange(_f32(m), 0.0, 1.0),
    "arange-bool": lambda m: m.arange(_of(m, np.bool_, (3,)), 0.0, 1.0),
    "copy-broadcast-dst": lambda m: (lambda x: m.copy(x, x.view((2, 3), (0, 1), 0)))(_f32(m)),
    "copy-overlapping-dst": lambda m: (lambda x: m.copy(x.view((2,), (1,), 0), x.view((2,), (1,), 1)))(_f32(m)),
    "where-condition-dtype": lambda m: m.where(_f32(m), _f32(m), _f32(m), _f32(m)),
    "reduce-unknown-op": lambda m: m.reduce("median", _f32(m), _f32(m, (2,)), 2, 3, 1),
    "reduce-out-dtype": lambda m: m.reduce("sum", _f32(m), _of(m, np.float64, (2,)), 2, 3, 1),
    "reduce-empty-max": lambda m: m.reduce("max", _f32(m, (2, 0)), _f32(m, (2,)), 2, 0, 1),
    "reduce-size": lambda m: m.reduce("sum", _f32(m), _f32(m, (2,)), 2, 2, 1),
    "cumsum-bool": lambda m: m.cumsum(_of(m, np.bool_), _of(m, np.bool_), 2, 3, 1),
    "index-select-int32-indices": lambda m: m.index_select(_f32(m), _of(m, np.int32, (2,)), _f32(m, (2, 2)), 2, 3, 1),
    "index-select-2d-indices": lambda m: m.index_select(_f32(m), _of(m, np.int64, (1, 2)), _f32(m, (2, 2)), 2, 3, 1),
    "index-select-bad-index": lambda m: (m.index_select(_f32(m), m.DeviceArray.from_host(np.array([0, 7])),
                                                        _f32(m, (2, 2)), 2, 3, 1), m.synchronize()),
    "index-select-empty-axis": lambda m: m.index_select(_f32(m, (2, 0)), m.DeviceArray.from_host(np.array([0])),
                                                        _f32(m, (2, 1)), 2, 0, 1),
    "synchronize-negative-device": lambda m: m.synchronize(-2),
    "nonzero-count-float-mask": lambda m: m.nonzero_count(_f32(m)),
    "empty-negative-shape": lambda m: m.DeviceArray.empty((2, -1), np.float32),
    "empty-complex": lambda m: m.DeviceArray.empty((2,), np.complex64),
    "from-host-strided": lambda m: m.DeviceArray.from_host(np.zeros((4, 4), np.float32)[:, ::2]),
    "to-host-dtype": lambda m: _f32(m).to_host(np.zeros((2, 3), np.float64)),
    "view-outside": lambda m: _f32(m).view((2, 3), (3, 1), 1),
    "synchronize-device": lambda m: m.synchronize(5),
    "device-name-type": lambda m: m.get_device_name("0"),
    "dlpack-stream-0": lambda m: _f32(m).__dlpack__(stream=0),
}
REAL = native._cuda if native._cuda is not None and native._cuda.device_count() > 0 else None


def _refusal(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 (the exception is what is compared)
        return type(error), str(error)
    return None


@pytest.mark.skipif(REAL is None, reason="needs nnx._cuda (a GPU or tools/cuda_emu)")
@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_the_fake_refuses_as_the_real_module(case):
    real, fake = _refusal(lambda: BAD_CALLS[case](REAL)), _refusal(lambda: BAD_CALLS[case](fake_cuda))
    fake_cuda.reset()
    assert real is not None, "the real module accepted it"
    if "incompatible function arguments" in real[1]:  # pybind11's own conversion error: the type is the contract
        assert fake is not None and fake[0] is real[0]
    else:
        assert fake == real
