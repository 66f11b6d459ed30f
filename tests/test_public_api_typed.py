"""Every public name of every public nnx module has a docstring and a fully annotated signature.

Public: a module's __all__, or else its names without a leading underscore that it defines itself (not
imports); for a public class, the functions, properties and classmethods/staticmethods its own body defines
(not dunders, but __init__ and __call__ must be annotated). A method overriding a documented base-class
method inherits its docstring (inspect.getdoc), as help() shows it. Annotated: every parameter but self/cls,
and the return (except __init__, whose return is None by definition).
"""
from __future__ import annotations

import importlib
import inspect
import types
from pathlib import Path

import pytest

import nnx


def public_modules() -> list[str]:
    """Every public module of the installed package (no path part starting with an underscore): all are covered,
    so a new module (a new op family's, a new layer file) needs no list edit here."""
    package_dir = Path(nnx.__file__).parent
    modules = set()
    for path in package_dir.rglob("*.py"):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            modules.add(".".join(parts))
    return sorted(modules)


COVERED = public_modules()

UNANNOTATED_OK = {"self", "cls"}
DUNDERS_CHECKED = {"__init__", "__call__"}


def public_names(module: types.ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__]


def members(cls: type):
    """(qualified name, function, needs a docstring) for what cls's own body defines, and what it inherits from
    base classes in private nnx modules (nnx.Tensor's methods come from mixins in nnx._tensor_*, which no other
    check reaches; a public base, with its own bases, is checked where it is defined); an overridden member is
    checked once, as cls sees it."""
    checked_elsewhere = {base for public in cls.__mro__[1:] if _is_public_nnx_class(public) for base in public.__mro__}
    seen = set()
    for owner in cls.__mro__:
        if owner is not cls and (owner in checked_elsewhere or not owner.__module__.startswith("nnx.")):
            continue
        for name, value in vars(owner).items():
            if name not in seen:
                seen.add(name)
                yield from _member(cls, name, value)


def _is_public_nnx_class(cls: type) -> bool:
    parts = cls.__module__.split(".")
    return parts[0] == "nnx" and not any(part.startswith("_") for part in parts)


def _member(cls: type, name: str, value: object):
    """members() for one attribute: nothing for a private name or a non-function."""
    if name.startswith("_") and name not in DUNDERS_CHECKED:
        return
    function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
    if isinstance(value, property):
        function = value.fget
    if not inspect.isfunction(function):
        return
    function = inspect.unwrap(function)  # a decorator's (*args, **kwargs) wrapper: check what it wraps
    yield f"{cls.__name__}.{name}", function, name not in DUNDERS_CHECKED


def signature_problems(qualname: str, function) -> list[str]:
    annotations = function.__annotations__
    code = function.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    params += tuple(code.co_varnames[len(params):len(params) + bool(code.co_flags & inspect.CO_VARARGS)
                                     + bool(code.co_flags & inspect.CO_VARKEYWORDS)])
    problems = [f"{qualname}: parameter {p!r} has no annotation" for p in params
                if p not in annotations and p not in UNANNOTATED_OK]
    if "return" not in annotations and function.__name__ != "__init__":
        problems.append(f"{qualname}: no return annotation")
    return problems


def doc_problems(qualname: str, obj, owner: type | None = None) -> list[str]:
    doc = inspect.getdoc(obj)
    if doc is None and owner is not None:  # an override of a documented base method inherits its doc
        name = qualname.rsplit(".", 1)[1]
        doc = next((inspect.getdoc(getattr(base, name)) for base in owner.__mro__[1:] if hasattr(base, name)), None)
    return [] if doc and doc.strip() else [f"{qualname}: no docstring"]


def problems_of(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    problems = doc_problems(module_name, module)
    for name in public_names(module):
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            continue
        if inspect.isclass(value):
            problems += doc_problems(name, value)
            for qualname, function, needs_doc in members(value):
                problems += signature_problems(qualname, function)
                if needs_doc:
                    problems += doc_problems(qualname, function, owner=value)
        elif inspect.isfunction(value):
            problems += doc_problems(name, value) + signature_problems(name, value)
    return problems


@pytest.mark.parametrize("module_name", COVERED)
def test_public_names_have_docstrings_and_annotations(module_name):
    if module_name == "nnx.sklearn":
        pytest.importorskip("sklearn")
    problems = problems_of(module_name)
    assert not problems, f"{module_name}: {len(problems)} public names lack a docstring or annotation:\n  " + \
        "\n  ".join(problems)


def test_the_covered_modules_are_found():
    assert len(COVERED) > 80 and {"nnx", "nnx.tensor", "nnx.ops.losses", "nnx.nn.modules.pooling",
                                  "nnx.learner.learner", "nnx.native.host_memory"} <= set(COVERED)
