"""nnx's modules form layers without import cycles (issue 13): native <- tensor/autograd <- ops <- nn ... <- learner.

Two checks. A static one: the graph of module-level imports (read with `ast` from the sources, so it needs no
import) has no cycle; a method that needs a higher layer at call time imports it inside the function (not an edge
here) or gets it by registration at that layer's import. A dynamic one: every module imports on its own in a fresh
interpreter, whatever order a user's first import comes in.
"""
import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest

import nnx

PACKAGE_DIR = pathlib.Path(nnx.__file__).resolve().parent


def _module_name(path, package_dir):
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(package_dir):
    """{module name: (path, is a package)} for every .py file of the package."""
    return {_module_name(path, package_dir): (path, path.name == "__init__.py")
            for path in sorted(package_dir.rglob("*.py"))}


def _compiled_modules(package_dir):
    """The names of the package's compiled modules (nnx._C, nnx._cuda: known by their .pyi stubs or .so files)."""
    paths = [*package_dir.rglob("*.pyi"), *package_dir.rglob("*.so")]
    return {_module_name(path.with_name(path.name.split(".")[0] + ".py"), package_dir) for path in paths}


def _module_level_imports(tree):
    """The Import/ImportFrom nodes that run when the module is imported: at module level, in class bodies and in
    if/try/with blocks, but not inside functions (run at call time) nor under `if TYPE_CHECKING:`."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return found


def _imported_modules(name, is_package, node, modules):
    """The modules an import statement of module `name` loads, among `modules` (resolved like Python)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if node.level:
        anchor = name.split(".") if is_package else name.split(".")[:-1]
        anchor = anchor[:len(anchor) - node.level + 1]
        base = ".".join(anchor + ([node.module] if node.module else []))
    else:
        base = node.module
    found = set()
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        found.add(submodule if submodule in modules else base)
    return found


def import_graph(package_dir):
    """{module: set of the package's modules it imports at module level}."""
    sources = _sources(package_dir)
    modules = set(sources) | _compiled_modules(package_dir)
    graph = {}
    for name, (path, is_package) in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[name] = set()
        for node in _module_level_imports(tree):
            graph[name] |= _imported_modules(name, is_package, node, modules) & set(sources)
        graph[name].discard(name)
    return graph


def import_cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_the_module_level_import_graph_has_no_cycle():
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 50 and "nnx.tensor" in graph["nnx.autograd"]  # the graph is read (not vacuously empty)
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_cycles(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("import pkg.sub.c\n\ndef late():\n    from . import d\n")
    (package / "d.py").write_text("from .a import something\n")  # d -> a, but b -> d only inside a function
    (package / "sub" / "__init__.py").write_text("from ..a import x\n")
    (package / "sub" / "c.py").write_text("from . import y\n")  # c -> sub (a name of sub/__init__)
    graph = import_graph(package)
    assert graph["pkg.b"] == {"pkg.sub.c"} and graph["pkg.sub.c"] == {"pkg.sub"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"]]


def test_the_layers_above_tensor_are_bound_into_its_method_modules():
    """nnx._tensor_wiring gives every module below autograd/ops that calls them its _autograd/_ops/_math_ops."""
    layers = {"_autograd": "nnx.autograd", "_ops": "nnx.ops", "_math_ops": "nnx._math_ops"}
    bound = {(name, attribute): getattr(getattr(module, attribute), "__name__", repr(getattr(module, attribute)))
             for name, module in list(sys.modules.items()) if name.startswith("nnx.")
             for attribute in layers if hasattr(module, attribute)}
    assert ("nnx.tensor", "_autograd") in bound and ("nnx._tensor_arithmetic", "_ops") in bound
    assert {key: value for key, value in bound.items() if value != layers[key[1]]} == {}



def test_cuda_array_is_registered_below_the_modules_of_its_methods():
    """CudaArray (nnx.native.cuda_array, above cuda_indexing/cuda_numpy/cuda_functions) is the class
    cuda_array_base makes, and nnx.native.cuda.use_native_module's assignment of cuda_array._native reaches the
    functions in cuda_array_base that call it."""
    from nnx.native import cuda_array, cuda_array_base

    assert cuda_array_base._array_class is cuda_array.CudaArray
    previous, stand_in = cuda_array._native, object()
    try:
        cuda_array._native = stand_in
        assert cuda_array_base._native is stand_in and cuda_array_base.native() is stand_in
    finally:
        cuda_array._native = previous
    assert cuda_array_base._native is previous

# Each module imported alone, in a child forked from one fresh interpreter (that has loaded only NumPy), at most two
# children at a time. A module that the isolated import of one of its packages ("nnx" included) loads needs no child
# of its own: importing it alone runs that same sequence (its packages' __init__ first) and finds it loaded.
FORKING_IMPORTER = """
import importlib, json, os, sys, traceback
import numpy
names, failures, running, loaded_by = json.loads(sys.argv[1]), {}, {}, {}


def start(name):
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            importlib.import_module(name)
            report, status = json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "nnx")), 0
        except BaseException:
            report, status = traceback.format_exc()[-4000:], 1
        with os.fdopen(writer, "w") as pipe:
            pipe.write(report)
        os._exit(status)
    os.close(writer)
    running[pid] = (name, reader)


def finish():
    pid, status = os.wait()
    name, reader = running.pop(pid)
    with os.fdopen(reader) as pipe:
        report = pipe.read()
    if status:
        failures[name] = report or f"exit status {status}"
    else:
        loaded_by[name] = set(json.loads(report))


def packages(name):
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


for name in names:  # (sorted: a package comes before its modules)
    if any(package in (n for n, _ in running.values()) for package in packages(name)):
        while running:
            finish()
    if any(name in loaded_by.get(package, ()) for package in packages(name)):
        continue
    if len(running) >= 2:
        finish()
    start(name)
while running:
    finish()
print(json.dumps({"failures": failures, "imported_alone": sorted(loaded_by)}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child per module")
def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(_sources(PACKAGE_DIR))
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # (the children fork)
    done = subprocess.run([sys.executable, "-c", FORKING_IMPORTER, json.dumps(names)], capture_output=True,
                          text=True, timeout=600, env=environment)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failures"] == {}
    assert "nnx" in result["imported_alone"] and len(result["imported_alone"]) > 5
