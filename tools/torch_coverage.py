"""How much of PyTorch's `torch.*` and `torch.Tensor.*` nnx provides.

    python tools/torch_coverage.py walk [--examples DIR]   (needs torch) write tools/torch_names.json
    python tools/torch_coverage.py report                   (no torch) print the coverage figures

`walk` lists PyTorch's documented names: the public callables of `torch` that carry a docstring, its dtypes
and float constants (not its submodules), and every public attribute of `torch.Tensor`. The "commonly
used" subset is what the scripts of pytorch/examples call (`torch.<name>` and `.<method>(` found in DIR, a
checkout of https://github.com/pytorch/examples) plus the names of PyTorch's 60-minute blitz (COMMON below).
`report` decides each name against nnx: implemented, not provided (a NotProvidedError naming the
alternative), or missing. tests/autograd/test_namespace.py runs `report`'s checks without torch.
"""
import argparse
import json
import pathlib
import re
import sys
import types

DATA = pathlib.Path(__file__).with_name("torch_names.json")

# The 60-minute blitz ("Deep Learning with PyTorch") and the creation/math names real scripts start with.
COMMON_TORCH = (
    "tensor", "from_numpy", "as_tensor", "is_tensor", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
    "empty_like", "full_like", "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "arange",
    "linspace", "eye", "manual_seed", "cat", "stack", "add", "mul", "matmul", "mm", "bmm", "sum", "mean", "std",
    "var", "max", "min", "argmax", "argmin", "abs", "sqrt", "rsqrt", "exp", "log", "sigmoid", "tanh", "relu",
    "softmax", "log_softmax", "norm", "prod", "cumsum", "allclose", "isclose", "equal", "all", "any", "topk",
    "sort", "argsort", "unique", "squeeze", "unsqueeze", "transpose", "permute", "reshape", "chunk", "split",
    "gather", "where", "clamp", "flatten", "einsum", "clone", "numel", "no_grad", "enable_grad", "set_grad_enabled",
    "inference_mode", "get_default_dtype", "set_default_dtype", "float32", "float64", "int64", "int32", "long",
    "float", "bool", "uint8",
)
COMMON_TENSOR = (
    "size", "shape", "view", "reshape", "item", "numpy", "tolist", "add_", "mul_", "zero_", "t", "T", "to",
    "backward", "grad", "requires_grad", "requires_grad_", "detach", "clone", "sum", "mean", "max", "argmax", "float",
    "long", "dim", "numel", "unsqueeze", "squeeze", "permute", "transpose", "contiguous", "eq", "cpu", "data",
    "dtype", "device", "exp", "log", "pow", "sqrt", "abs", "norm", "copy_", "fill_", "uniform_", "normal_",
)


def walk(examples):
    """The documented names of the installed torch (and, from `examples`, which of them scripts use)."""
    import torch

    torch_names = sorted(name for name in dir(torch) if not name.startswith("_") and _documented(torch, name))
    tensor_names = sorted(name for name in dir(torch.Tensor) if not name.startswith("_"))
    used_torch, used_tensor = set(COMMON_TORCH), set(COMMON_TENSOR)
    if examples is not None:
        for path in sorted(pathlib.Path(examples).rglob("*.py")):
            text = path.read_text(errors="replace")
            used_torch.update(re.findall(r"\btorch\.([A-Za-z_]\w*)", text))
            used_tensor.update(re.findall(r"\.([A-Za-z_]\w*)\(", text))
    return {
        "torch_version": torch.__version__,
        "torch": torch_names,
        "tensor": tensor_names,
        "common_torch": sorted(used_torch & set(torch_names)),
        "common_tensor": sorted(used_tensor & set(tensor_names)),
    }


def _documented(torch, name):
    """Callables with a docstring, dtypes and float constants; submodules and internals are left out."""
    value = getattr(torch, name)
    if isinstance(value, types.ModuleType):
        return False
    if isinstance(value, (torch.dtype, float)):
        return True
    doc = getattr(value, "__doc__", None)
    return callable(value) and isinstance(doc, str) and bool(doc.strip())


def decide(names, owner):
    """name -> 'implemented' | 'not provided' | 'missing' for names looked up on `owner` (nnx or nnx.Tensor)."""
    import nnx
    from nnx._not_provided import NotProvidedError

    decisions = {}
    for name in names:
        try:
            value = getattr(owner, name)
        except NotProvidedError:
            decisions[name] = "not provided"
            continue
        except AttributeError:
            decisions[name] = "missing"
            continue
        decisions[name] = "not provided" if getattr(value, "not_provided", False) else "implemented"
    del nnx
    return decisions


def figures(data):
    """{'torch': (implemented, total), ...} for the four lists of the data file."""
    import nnx

    result = {}
    for key, owner in (("torch", nnx), ("tensor", nnx.Tensor), ("common_torch", nnx), ("common_tensor", nnx.Tensor)):
        decisions = decide(data[key], owner)
        result[key] = (sum(value == "implemented" for value in decisions.values()), len(decisions), decisions)
    return result


def report():
    data = json.loads(DATA.read_text())
    print(f"PyTorch {data['torch_version']} names, decided against nnx:")
    for key, (implemented, total, decisions) in figures(data).items():
        not_provided = sum(value == "not provided" for value in decisions.values())
        print(f"  {key:14s} {implemented:4d} / {total:4d} implemented ({100 * implemented / total:.0f}%), "
              f"{not_provided} not provided with an alternative named")
        if key.startswith("common"):
            missing = sorted(name for name, value in decisions.items() if value == "missing")
            print(f"  {'':14s} missing: {', '.join(missing) or 'none'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("walk", "report"))
    parser.add_argument("--examples", help="a checkout of pytorch/examples, for the commonly used subset")
    args = parser.parse_args(argv)
    if args.command == "walk":
        DATA.write_text(json.dumps(walk(args.examples), indent=1) + "\n")
        print(f"wrote {DATA}")
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
