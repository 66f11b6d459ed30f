"""gemm family: matmul with NumPy's semantics; 2-D float operands of one dtype go to the BLAS/cuBLAS kernel."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import native
from ..autograd import Function
from ._common import Array, unbroadcast


class MatMul(Function):
    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx: Any, a: Array, b: Array) -> Array:
        a_ndim, b_ndim = getattr(a, "ndim", 0), getattr(b, "ndim", 0)
        if a_ndim == 0 or b_ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, got "
                               f"{a_ndim}D and {b_ndim}D")
        ctx.a, ctx.b = a, b
        return native.for_array(a).matmul(a, b)

    @staticmethod
    def backward(ctx: Any, grad: Array) -> Any:
        a, b = ctx.a, ctx.b
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and native.for_array(a).is_native_float(a):
            kernels = native.for_array(a)
            return (kernels.matmul2d(grad, b, trans_b=True) if need_a else None,
                    kernels.matmul2d(a, grad, trans_a=True) if need_b else None)
        # NumPy semantics for 1-D operands: a vector is a (1, n) row on the left, an (n, 1) column on the right.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        grad2 = grad[..., None] if b.ndim == 1 else grad
        grad2 = np.expand_dims(grad2, -2) if a.ndim == 1 else grad2
        grad_a = grad_b = None
        if need_a:
            grad_a = np.matmul(grad2, np.swapaxes(b2, -1, -2))
            grad_a = unbroadcast(grad_a[..., 0, :] if a.ndim == 1 else grad_a, a.shape)
        if need_b:
            grad_b = np.matmul(np.swapaxes(a2, -1, -2), grad2)
            grad_b = unbroadcast(grad_b[..., 0] if b.ndim == 1 else grad_b, b.shape)
        return grad_a, grad_b
