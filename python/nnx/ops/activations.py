"""activations family: relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu and softplus through the native
kernels (float32/float64)."""
from .. import native
from ..autograd import Function


class Activation(Function):
    """relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, softplus (options: negative_slope, beta,
    threshold)."""

    saved_inputs, saves_output = (0,), True

    @staticmethod
    def forward(ctx, x, kind, negative_slope=0.01, beta=1.0, threshold=20.0):
        kernels = native.for_array(x)
        if not kernels.is_native_float(x):
            raise TypeError(f"{kind}: input must have dtype float32 or float64, got {x.dtype}")
        out = kernels.activation_forward(kind, x, negative_slope, beta, threshold)
        ctx.x, ctx.out, ctx.kind, ctx.options = x, out, kind, (negative_slope, beta, threshold)
        return out

    @staticmethod
    def backward(ctx, grad):
        kernels = native.for_array(grad)
        return kernels.activation_backward(ctx.kind, grad, kernels.contiguous(ctx.x), ctx.out, *ctx.options)
