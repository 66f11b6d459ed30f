"""Lists nnx's public names that no test names: exported callables (every public module's __all__) and the public
methods of exported classes defined in nnx, each searched for as a word in tests/**/*.py. A name found is not
proof it is tested well, but a name never found is certainly untested (issue 23, item 5).

    python tools/untested_names.py          # prints the untested ones and the counts; exit 1 if any
"""
from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def public_modules():
    import nnx
    yield nnx
    for info in pkgutil.walk_packages(nnx.__path__, "nnx."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # an optional dependency (e.g. the CUDA module) is missing
            continue


def exported(module):
    for name in getattr(module, "__all__", []):
        value = getattr(module, name, None)
        if callable(value):
            yield name, value


def public_methods(cls):
    for name, value in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(value) or isinstance(value, (property, classmethod,
                                                                                            staticmethod))):
            continue
        yield name


def test_text() -> str:
    chunks = []
    for folder, _, files in os.walk(os.path.join(ROOT, "tests")):
        for file in files:
            if file.endswith(".py"):
                with open(os.path.join(folder, file)) as handle:
                    chunks.append(handle.read())
    return "\n".join(chunks)


def main() -> int:
    text = test_text()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    callables, methods, seen_classes = {}, {}, set()
    for module in public_modules():
        for name, value in exported(module):
            callables.setdefault(name, f"{module.__name__}.{name}")
            if inspect.isclass(value) and value.__module__.startswith("nnx") and value not in seen_classes:
                seen_classes.add(value)
                for method in public_methods(value):
                    methods.setdefault(f"{value.__name__}.{method}", method)
    untested_callables = sorted(q for name, q in callables.items() if name not in words)
    untested_methods = sorted(q for q, method in methods.items() if method not in words)
    print(f"exported callables: {len(callables)}, never named in tests/: {len(untested_callables)}")
    for name in untested_callables:
        print(f"  {name}")
    print(f"public methods: {len(methods)}, never named in tests/: {len(untested_methods)}")
    for name in untested_methods:
        print(f"  {name}")
    return 1 if untested_callables or untested_methods else 0


if __name__ == "__main__":
    sys.exit(main())
