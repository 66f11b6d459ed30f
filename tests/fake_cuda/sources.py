"""The facts the fake reads from the native sources rather than restating them, so that it cannot drift from the
real module: the families and their devices (csrc/families.txt), the op tables of the elementwise and reduce kernels,
and every function's parameters (nnx/_cuda.pyi, which tests/test_native_stubs.py checks against the built module)."""
from __future__ import annotations

import ast
import os
import re

import nnx

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CSRC = os.path.join(ROOT, "csrc")


def read(relative_path: str) -> str:
    """The text of csrc/<relative_path>."""
    path = os.path.join(CSRC, *relative_path.split("/"))
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        raise ImportError(f"fake_cuda reads {path} (the native sources) and could not: {error}") from None


def families() -> dict:
    """{family: devices} in csrc/families.txt's order."""
    rows = (line.split("#")[0].split() for line in read("families.txt").splitlines())
    return {row[0]: tuple(row[1:]) for row in rows if row}


def op_table(relative_path: str, table: str) -> dict:
    """{name: the rest of the entry's fields} of a C++ table of {"name", Field, ...} entries (kUnaryOps, kReduceOps)."""
    text = read(relative_path)
    body = re.search(table + r"\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if body is None:
        raise ImportError(f"fake_cuda: no table {table} in csrc/{relative_path}")
    entries = re.findall(r'\{"(\w+)",\s*([^{}]*)\}', body.group(1))
    return {name: tuple(field.strip() for field in rest.split(",")) for name, rest in entries}


def stub_names() -> dict:
    """{name: [parameter names]} of _cuda.pyi's public module-level functions, {name: None} for its classes."""
    with open(os.path.join(os.path.dirname(nnx.__file__), "_cuda.pyi"), encoding="utf-8") as file:
        tree = ast.parse(file.read())
    nodes = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    return {node.name: [arg.arg for arg in node.args.args + node.args.kwonlyargs]
            if isinstance(node, ast.FunctionDef) else None for node in nodes if not node.name.startswith("_")}
