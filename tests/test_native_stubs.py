"""The stubs python/nnx/_C.pyi and _cuda.pyi against the compiled modules, parameter by parameter.

mypy's stubtest (run by .ci/run) checks that the stubs and the modules name the same things, but it cannot
read a pybind11 function's parameters (they have no __text_signature__). pybind11 writes them as the first
line of each docstring, `name(arg: type = default, ...) -> type`, which is Python syntax: parsed, it is
compared here with the stub's def: the same names, order, keyword-only marker and defaults, and `| None` in
the stub wherever the module's default is None. The stubs are read from the installed package, so a wheel
that left them (or py.typed) out fails too.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import nnx

PACKAGE_DIR = Path(nnx.__file__).parent


def _module_or_skip(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.skip(f"{name} is not built here (the CUDA module needs nvcc at build time)")


def _stub_tree(module_name: str) -> ast.Module:
    return ast.parse((PACKAGE_DIR / f"{module_name.rsplit('.', 1)[1]}.pyi").read_text())


def _stub_defs(body: list[ast.stmt]) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in body if isinstance(node, ast.FunctionDef)}


def _runtime_def(function: object) -> ast.FunctionDef | None:
    """The def pybind11's docstring line describes, or None for an object without one (a property)."""
    doc = getattr(function, "__doc__", None) or ""
    name = getattr(function, "__name__", "")
    first_line = doc.split("\n", 1)[0]
    if not first_line.startswith(f"{name}("):
        return None
    assert "Overloaded function" not in doc, f"{name}: overloads need @overload in the stub and here"
    return ast.parse(f"def {first_line}: ...").body[0]


def _parameters(node: ast.FunctionDef) -> list[tuple[str, bool, object]]:
    """(name, keyword_only, default or inspect.Parameter.empty) per parameter, in order."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults)) + list(args.defaults)
    rows = [(a.arg, False, d) for a, d in zip(positional, defaults)]
    rows += [(a.arg, True, d if d is not None else inspect.Parameter.empty)
             for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return [(name, kw_only, d if d is inspect.Parameter.empty else ast.literal_eval(d)) for name, kw_only, d in rows]


def _render(params: list[tuple[str, bool, object]]) -> str:
    words, star = [], False
    for name, kw_only, default in params:
        if kw_only and not star:
            words.append("*")
            star = True
        words.append(name if default is inspect.Parameter.empty else f"{name}={default!r}")
    return "(" + ", ".join(words) + ")"


def _optional_annotations(node: ast.FunctionDef) -> dict[str, bool]:
    args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
    return {a.arg: a.annotation is not None and "None" in ast.unparse(a.annotation) for a in args}


def _mismatches(name: str, runtime: ast.FunctionDef, stub: ast.FunctionDef) -> list[str]:
    runtime_params, stub_params = _parameters(runtime), _parameters(stub)
    if runtime_params != stub_params:
        return [f"{name}: module {_render(runtime_params)}\n    stub   {_render(stub_params)}"]
    optional = _optional_annotations(stub)
    return [f"{name}: {param} defaults to None in the module; the stub's annotation needs `| None`"
            for param, _, default in runtime_params if default is None and not optional[param]]


def _check(module_name: str) -> list[str]:
    module = _module_or_skip(module_name)
    tree = _stub_tree(module_name)
    problems = []
    stub_functions = _stub_defs(tree.body)
    runtime_names = {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))}
    runtime_functions = {n for n in runtime_names if not inspect.isclass(getattr(module, n))}
    problems += [f"{n}: in the module, not in the stub" for n in sorted(runtime_functions - set(stub_functions))]
    problems += [f"{n}: in the stub, not in the module" for n in sorted(set(stub_functions) - runtime_functions)]
    for name in sorted(runtime_functions & set(stub_functions)):
        runtime = _runtime_def(getattr(module, name))
        assert runtime is not None, f"{module_name}.{name}: no signature line in its docstring"
        problems += _mismatches(name, runtime, stub_functions[name])
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            problems += _check_class(getattr(module, node.name), node)
    return problems


def _check_class(cls: type, stub: ast.ClassDef) -> list[str]:
    problems = []
    for name, stub_def in _stub_defs(stub.body).items():
        runtime = _runtime_def(getattr(cls, name, None))
        if runtime is None:
            continue  # a property, or a plain Python attribute: stubtest covers it
        if runtime.args.args and runtime.args.args[0].arg == "self":
            runtime.args.args[0].annotation = None  # pybind11 names the class; the stub writes bare self
        problems += _mismatches(f"{cls.__name__}.{name}", runtime, stub_def)
    return problems


@pytest.mark.parametrize("module_name", ["nnx._C", "nnx._cuda"])
def test_stub_signatures_match_the_module(module_name):
    problems = _check(module_name)
    assert not problems, f"{module_name} and its stub disagree:\n  " + "\n  ".join(problems)


def test_stubs_and_py_typed_ship_with_the_package():
    for name in ("py.typed", "_C.pyi", "_cuda.pyi"):
        assert (PACKAGE_DIR / name).is_file(), f"{name} is missing from the installed package {PACKAGE_DIR}"


def test_a_wrong_default_in_a_stub_is_reported():
    """The comparison can fail: a stub def with another default than the module's is a mismatch."""
    runtime = _runtime_def(importlib.import_module("nnx._C").gemm)
    stub = ast.parse("def gemm(a, b, out, trans_a=False, trans_b=False, alpha=1.0, beta=1.0): ...").body[0]
    assert _mismatches("gemm", runtime, stub)
    missing_none = ast.parse("def f(x: int = None): ...").body[0]
    assert _mismatches("f", ast.parse("def f(x: object = None): ...").body[0], missing_none)
