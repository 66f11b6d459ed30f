"""softmax family: softmax and log_softmax over one axis through the native kernels (float32/float64)."""
import numpy as np

from .. import native
from ..autograd import Function


class Softmax(Function):
    """softmax / log_softmax over `axis` (the kernel works on the last axis; others are moved there)."""

    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx, x, axis, log):
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"softmax: input must have dtype float32 or float64, got {x.dtype}")
        last = x.ndim - 1
        moved = x if axis >= last else np.moveaxis(x, axis, -1)
        out = kernels.softmax_forward(moved, log)
        ctx.out, ctx.axis, ctx.log = out, axis, log
        return out if axis >= last else np.moveaxis(out, -1, axis)

    @staticmethod
    def backward(ctx, grad):
        kernels = native.for_array(grad)
        moved = ctx.axis < grad.ndim - 1
        grad_in = kernels.softmax_backward(np.moveaxis(grad, ctx.axis, -1) if moved else grad, ctx.out, ctx.log)
        return (np.moveaxis(grad_in, -1, ctx.axis) if moved else grad_in), None, None
