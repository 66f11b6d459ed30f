"""Differentiable ops behind the torch-namespace methods nnx.ops does not have: elementwise math from one
table (value and derivative side by side), prod, cumsum, cumprod and einsum.

Forward and backward see arrays (NumPy on the CPU, a device array elsewhere), as in nnx.ops.
"""
import numpy as np

from . import _tensor_args
from .autograd import Function
from .ops._common import _restore_reduced_axes


def _zero_derivative(x, out):
    return np.zeros_like(x)


# name -> (value, derivative(x, out)); derivatives are PyTorch's (floor/round/sign have zero gradient).
UNARY_MATH = {
    "sin": (np.sin, lambda x, out: np.cos(x)),
    "cos": (np.cos, lambda x, out: -np.sin(x)),
    "tan": (np.tan, lambda x, out: 1 + out * out),
    "asin": (np.arcsin, lambda x, out: 1 / np.sqrt(1 - x * x)),
    "acos": (np.arccos, lambda x, out: -1 / np.sqrt(1 - x * x)),
    "atan": (np.arctan, lambda x, out: 1 / (1 + x * x)),
    "sinh": (np.sinh, lambda x, out: np.cosh(x)),
    "cosh": (np.cosh, lambda x, out: np.sinh(x)),
    "asinh": (np.arcsinh, lambda x, out: 1 / np.sqrt(x * x + 1)),
    "acosh": (np.arccosh, lambda x, out: 1 / np.sqrt(x * x - 1)),
    "atanh": (np.arctanh, lambda x, out: 1 / (1 - x * x)),
    "log1p": (np.log1p, lambda x, out: 1 / (1 + x)),
    "expm1": (np.expm1, lambda x, out: out + 1),
    "log2": (np.log2, lambda x, out: 1 / (x * np.log(2.0))),
    "log10": (np.log10, lambda x, out: 1 / (x * np.log(10.0))),
    "exp2": (np.exp2, lambda x, out: out * np.log(2.0)),
    "reciprocal": (np.reciprocal, lambda x, out: -out * out),
    "frac": (lambda x: x - np.trunc(x), lambda x, out: np.ones_like(x)),
    "floor": (np.floor, _zero_derivative),
    "ceil": (np.ceil, _zero_derivative),
    "trunc": (np.trunc, _zero_derivative),
    "round": (np.round, _zero_derivative),
    "sign": (np.sign, _zero_derivative),
}


class UnaryMath(Function):
    """One elementwise function of UNARY_MATH, by name."""

    @staticmethod
    def forward(ctx, x, name):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf/nan silently, as in PyTorch
            out = UNARY_MATH[name][0](x)
        if x.dtype.kind in "biu" and out.dtype.kind == "f":  # PyTorch: integers give the default float dtype
            out = out.astype(_tensor_args.default_float())
        ctx.x, ctx.out, ctx.name = x, out, name
        return out

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return grad * UNARY_MATH[ctx.name][1](ctx.x, ctx.out).astype(grad.dtype, copy=False), None


class Prod(Function):
    """Product over one axis (or all). The gradient is the product of the other elements, computed from
    exclusive cumulative products so that zeros in the input give exact results (no division)."""

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.x, ctx.axis, ctx.keepdim = x, axis, keepdim
        return np.prod(x, axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, axis = ctx.x, ctx.axis
        flat = x.reshape(-1) if axis is None else x
        along = 0 if axis is None else axis
        grad = _restore_reduced_axes(grad, None if axis is None else (axis,), ctx.keepdim)
        grad_x = _exclusive_product(flat, along, reverse=False) * _exclusive_product(flat, along, reverse=True)
        return (grad_x.reshape(x.shape) * grad), None, None


def _exclusive_product(x, axis, reverse):
    """out[i] = product of x[j] for j < i (j > i when reverse) along axis."""
    moved = np.moveaxis(x, axis, 0)
    if reverse:
        moved = moved[::-1]
    shifted = np.concatenate([np.ones_like(moved[:1]), moved[:-1]], axis=0)
    out = np.cumprod(shifted, axis=0)
    if reverse:
        out = out[::-1]
    return np.moveaxis(out, 0, axis)


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        flipped = np.flip(grad, ctx.axis)
        return np.flip(np.cumsum(flipped, axis=ctx.axis), ctx.axis), None


class Cumprod(Function):
    """Cumulative product; gradient by the reverse cumulative sum of grad * out / x (inputs without zeros;
    a zero input gives nan gradient where PyTorch gives the exact one)."""

    @staticmethod
    def forward(ctx, x, axis):
        out = np.cumprod(x, axis=axis)
        ctx.x, ctx.out, ctx.axis = x, out, axis
        return out

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.axis
        weighted = np.flip(np.cumsum(np.flip(grad * ctx.out, axis), axis=axis), axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return weighted / ctx.x, None


class Einsum(Function):
    """np.einsum with explicit output subscripts ('ij,jk->ik'). The gradient of each operand is an einsum of
    the output gradient with the other operands; an index only that operand has is broadcast back."""

    @staticmethod
    def forward(ctx, equation, *operands):
        inputs, output = equation.split("->")
        ctx.input_subscripts, ctx.output, ctx.operands = inputs.split(","), output, operands
        return np.einsum(equation, *operands)

    @staticmethod
    def backward(ctx, grad):
        grads = [None]
        for i, (subscripts, operand) in enumerate(zip(ctx.input_subscripts, ctx.operands)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [(s, o) for j, (s, o) in enumerate(zip(ctx.input_subscripts, ctx.operands)) if j != i]
            available = set(ctx.output).union(*(s for s, _ in others))
            kept = "".join(c for c in subscripts if c in available)
            terms = ",".join([ctx.output] + [s for s, _ in others])
            partial = np.einsum(f"{terms}->{kept}", grad, *(o for _, o in others))
            # Indices summed inside this operand alone: each of their positions gets the same gradient.
            expanded = partial.reshape([operand.shape[k] if c in available else 1 for k, c in enumerate(subscripts)])
            grads.append(np.broadcast_to(expanded, operand.shape).astype(operand.dtype, copy=False))
        return tuple(grads)


def einsum_equation(equation, ndims):
    """The equation with '->output' made explicit (NumPy's implicit rule: the indices seen once, sorted),
    and spaces removed. Ellipses and repeated indices within one operand are refused (their gradients are
    not implemented)."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise NotImplementedError("einsum(): '...' (ellipsis) subscripts are not supported by nnx; write the "
                                  "dimensions out")
    inputs = equation.split("->")[0].split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum(): the equation names {len(inputs)} operands, got {len(ndims)}")
    for subscripts, ndim in zip(inputs, ndims):
        if len(set(subscripts)) != len(subscripts):
            raise NotImplementedError(f"einsum(): a repeated index within one operand ('{subscripts}', a diagonal) "
                                      "is not supported by nnx; use diagonal()")
        if len(subscripts) != ndim:
            raise ValueError(f"einsum(): subscripts '{subscripts}' name {len(subscripts)} dimensions for an operand "
                             f"with {ndim}")
    if "->" not in equation:
        letters = "".join(inputs)
        equation += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return equation
