"""The differentiable Tensor ops: one small Function per op, its backward rule right below its forward.

Forward and backward see arrays: numpy.ndarray on the CPU, a backend's device array (CudaArray) on a
GPU; both speak the same NumPy protocol (operators, ufuncs, __array_function__), so one rule serves every
device. New arrays are made with `like=` an input so that they land on its device, never on the host.
Binary ops broadcast like NumPy, and `unbroadcast` sums each gradient back to its input's shape. Native
kernels are reached through the array's backend table.
"""
import numpy as np

from . import native
from .autograd import Function
from .tensor import _device_of_array, move_array

class ViewFunction(Function):
    """An op whose output may alias its input's storage (reshape, permute, expand, basic indexing): when it
    does, Function.apply gives the output the input's version counter."""

    saved_inputs, saves_output, is_view = (), False, True


def _shape(value):
    """The shape of an operand: an array's, () for a Python scalar."""
    return getattr(value, "shape", ())


def unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, giving an array of `shape`."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape)


def _restore_reduced_axes(grad, axes, keepdim):
    """A reduction's gradient with the reduced axes put back as size 1 (a no-op for keepdim or a full reduction)."""
    if axes is not None and not keepdim:
        grad = np.expand_dims(grad, axes)
    return grad


def _expand_reduced(grad, shape, axes, keepdim):
    """A gradient of a reduction over `axes`, broadcast back (read-only view) to the input's shape."""
    return np.broadcast_to(_restore_reduced_axes(grad, axes, keepdim), shape)


def _reduced_count(shape, axes):
    if axes is None:
        return int(np.prod(shape))
    return int(np.prod([shape[axis] for axis in axes]))


# --- dtype and copies ------------------------------------------------------------------------------------
class Cast(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.source_dtype), None


class ToDevice(Function):
    """x copied to another device; the gradient is copied back to x's device."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, target):
        ctx.source = _device_of_array(x)
        return move_array(x, target)

    @staticmethod
    def backward(ctx, grad):
        return move_array(grad, ctx.source), None


class Clone(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x):
        return x.copy()  # C order, on x's device

    @staticmethod
    def backward(ctx, grad):
        return grad


# --- arithmetic (one operand may be a Python scalar or a plain array: it gets no gradient) ---------------
_FLOAT64 = np.dtype(np.float64)


def _float_result(out, a, b):
    """PyTorch's promotion where NumPy's differs: integers meeting a Python float or a float32 array give
    float32 (the default float), not float64; float64 only comes from a float64 operand."""
    if out.dtype == _FLOAT64 and not (_is_float64_array(a) or _is_float64_array(b)):
        return out.astype(np.float32)
    return out


def _is_float64_array(value):
    dtype = getattr(value, "dtype", None)  # Python scalars have none (and np.dtype(None) == float64)
    return dtype is not None and dtype == _FLOAT64


class Add(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return _float_result(np.add(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shapes[0]), unbroadcast(grad, ctx.shapes[1])


class Sub(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return _float_result(np.subtract(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad, ctx.shapes[0]) if need_a else None,
                unbroadcast(-grad, ctx.shapes[1]) if need_b else None)


class Mul(Function):
    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return _float_result(np.multiply(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad * ctx.b, _shape(ctx.a)) if need_a else None,
                unbroadcast(grad * ctx.a, _shape(ctx.b)) if need_b else None)


class Div(Function):
    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):  # x/0 gives inf or nan silently, as in PyTorch
            return _float_result(np.true_divide(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        a, b = ctx.a, ctx.b
        with np.errstate(divide="ignore", invalid="ignore"):
            return (unbroadcast(grad / b, _shape(a)) if need_a else None,
                    unbroadcast(-grad * a / (b * b), _shape(b)) if need_b else None)


class Pow(Function):
    saved_inputs, saves_output = (0, 1), True

    @staticmethod
    def forward(ctx, base, exponent):
        out = _float_result(np.power(base, exponent), base, exponent)
        ctx.base, ctx.exponent, ctx.out = base, exponent, out
        return out

    @staticmethod
    def backward(ctx, grad):
        need_base, need_exponent = ctx.needs_input_grad
        base, exponent = ctx.base, ctx.exponent
        grad_base = grad_exponent = None
        if need_base:
            grad_base = unbroadcast(grad * exponent * np.power(base, exponent - 1), _shape(base))
        if need_exponent:
            # d(b^e)/de = b^e log b, taken as 0 where b == 0 (PyTorch's convention).
            with np.errstate(divide="ignore", invalid="ignore"):
                log_base = np.where(base == 0, 0, np.log(np.where(base == 0, 1, base)))
            grad_exponent = unbroadcast(grad * ctx.out * log_base, _shape(exponent))
        return grad_base, grad_exponent


class MatMul(Function):
    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx, a, b):
        a_ndim, b_ndim = getattr(a, "ndim", 0), getattr(b, "ndim", 0)
        if a_ndim == 0 or b_ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, got "
                               f"{a_ndim}D and {b_ndim}D")
        ctx.a, ctx.b = a, b
        return native.for_array(a).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
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


# --- unary math ----------------------------------------------------------------------------------------------
class Neg(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx, x):
        ctx.out = native.for_array(x).exp(x)
        return ctx.out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.out


class Log(Function):
    saved_inputs, saves_output = (0,), False

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(<0) = nan, like PyTorch
            return native.for_array(x).log(x)

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore"):
            return grad / ctx.x


class Sqrt(Function):
    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            ctx.out = native.for_array(x).sqrt(x)
        return ctx.out

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore"):
            return grad / (2 * ctx.out)


class Abs(Function):
    saved_inputs, saves_output = (0,), False

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return native.for_array(x).abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.sign(ctx.x)


class Clamp(Function):
    saved_inputs, saves_output = (0, 1, 2), False

    @staticmethod
    def forward(ctx, x, low, high):
        ctx.x, ctx.low, ctx.high = x, low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        x, low, high = ctx.x, ctx.low, ctx.high
        if low is None:
            inside = x <= high
        else:
            inside = x >= low
            if high is not None:
                inside &= x <= high
        return grad * inside, None, None


class Maximum(Function):
    """Elementwise max of two tensors; ties send half the gradient to each side (PyTorch)."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return _split_gradient(grad, a, b, (a > b) + 0.5 * (a == b))


class Minimum(Function):
    """Elementwise min of two tensors; ties send half the gradient to each side (PyTorch)."""

    saved_inputs, saves_output = (0, 1), False

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return _split_gradient(grad, a, b, (a < b) + 0.5 * (a == b))


def _split_gradient(grad, a, b, share_a):
    """grad split between a and b: `share_a` of it to a, the rest to b, each reduced to its input's shape."""
    return unbroadcast(grad * share_a, _shape(a)), unbroadcast(grad * (1 - share_a), _shape(b))


# --- activations and softmax through the native kernels (NumPy for dtypes the kernels lack) -----------------
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


# --- reductions ------------------------------------------------------------------------------------------------
class Sum(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)  # a NumPy scalar becomes a 0-d array in Function.apply

    @staticmethod
    def backward(ctx, grad):
        return _expand_reduced(grad, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Mean(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        with np.errstate(invalid="ignore", divide="ignore"):
            return x.mean(axis=axes, keepdims=keepdim) if x.size else \
                np.full(np.sum(x, axis=axes, keepdims=keepdim).shape, np.nan, dtype=x.dtype, like=x)

    @staticmethod
    def backward(ctx, grad):
        count = _reduced_count(ctx.shape, ctx.axes)
        with np.errstate(divide="ignore", invalid="ignore"):  # an empty mean: its (empty) gradient, no warning
            return _expand_reduced(grad / count, ctx.shape, ctx.axes, ctx.keepdim), None, None


def _centered(x, axes, correction):
    """(x - mean over axes, the divisor N - correction clamped at 0 as PyTorch does): an empty reduction or
    too few values give 0/0 = NaN downstream, never an error or a negative divisor."""
    count = _reduced_count(x.shape, axes)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # (NumPy's mean warns on empty slices)
        mean = np.divide(x.sum(axis=axes, keepdims=True), count, dtype=x.dtype)
        return x - mean, max(count - correction, 0)


def _keepdim_result(value, x, axes, keepdim):
    """A reduction computed with keepdims=True, shaped as the caller asked, in x's dtype."""
    if not keepdim:
        value = value.reshape(()) if axes is None else np.squeeze(value, axes)
    return value if value.dtype == x.dtype else value.astype(x.dtype)


class Var(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        centered, divisor = _centered(x, axes, correction)
        ctx.centered, ctx.axes, ctx.keepdim, ctx.divisor = centered, axes, keepdim, divisor
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            variance = np.sum(centered * centered, axis=axes, keepdims=True) / divisor
        return _keepdim_result(variance, x, axes, keepdim)

    @staticmethod
    def backward(ctx, grad):
        grad = _restore_reduced_axes(grad, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):  # divisor 0: NaN gradients, as PyTorch
            return grad * ctx.centered * np.divide(2.0, ctx.divisor), None, None, None


class Std(Function):
    """Standard deviation. The deviations are divided by the largest one before squaring, so float32 values
    near 1e30 do not overflow (std([1e30, -1e30]) = 1.41e30, as PyTorch); d std/dx = centered / (N' std)."""

    saved_inputs, saves_output = (), True

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        centered, divisor = _centered(x, axes, correction)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if x.size:
                scale = np.max(np.abs(centered), axis=axes, keepdims=True)
                scale = np.where((scale > 0) & np.isfinite(scale), scale, np.ones((), dtype=x.dtype, like=x))
            else:
                scale = np.ones((), dtype=x.dtype, like=x)
            scaled = centered / scale
            std = np.sqrt(np.sum(scaled * scaled, axis=axes, keepdims=True) / divisor) * scale
        ctx.centered, ctx.axes, ctx.keepdim, ctx.divisor = centered, axes, keepdim, divisor
        ctx.std = std = std if std.dtype == x.dtype else std.astype(x.dtype)
        return _keepdim_result(std, x, axes, keepdim)

    @staticmethod
    def backward(ctx, grad):
        grad = _restore_reduced_axes(grad, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):  # std 0: gradient 0; divisor 0: NaN, as PyTorch
            grad_over_std = np.where(ctx.std == 0, np.zeros((), dtype=grad.dtype, like=grad), grad / ctx.std)
            return grad_over_std * ctx.centered / ctx.divisor, None, None, None


class Amax(Function):
    """max over axes (all by default); ties share the gradient evenly (PyTorch's amax rule)."""

    saved_inputs, saves_output = (0,), True

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axes=None, keepdim=False):
        out = cls.reduce(x, axis=axes, keepdims=True)
        ctx.x, ctx.out, ctx.axes, ctx.keepdim = x, out, axes, keepdim
        return out if keepdim else (out.reshape(()) if axes is None else np.squeeze(out, axes))

    @staticmethod
    def backward(ctx, grad):
        grad = _restore_reduced_axes(grad, ctx.axes, ctx.keepdim)
        is_extreme = ctx.x == ctx.out
        ties = is_extreme.sum(axis=ctx.axes, keepdims=True)
        return grad * is_extreme / ties, None, None


class Amin(Amax):
    reduce = staticmethod(np.min)


class TakeAlongDim(Function):
    """x's values at `indices` along `axis` (indices hold one entry per output slot, no duplicates)."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, indices, axis):
        ctx.shape, ctx.indices, ctx.axis = x.shape, indices, axis
        return np.take_along_axis(x, indices, axis)

    @staticmethod
    def backward(ctx, grad):
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype, like=grad)
        np.put_along_axis(grad_x, ctx.indices, grad, ctx.axis)
        return grad_x, None, None


class Gather(Function):
    """torch.gather: out[i][j] = x[index[i][j]][j] along `axis`; repeated indices accumulate in backward."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, index, axis):
        if index.ndim != x.ndim:
            raise RuntimeError(f"gather(): index must have as many dimensions as input ({x.ndim}), got {index.ndim}")
        ctx.shape, ctx.index, ctx.axis = x.shape, index, axis
        if index.size and index.dtype.kind == "i" and index.min() < 0:  # NumPy would wrap it, PyTorch refuses
            raise IndexError(f"gather(): index {int(index.min())} is out of range: out of bounds for dimension "
                             f"{axis} with size {x.shape[axis]}")
        try:
            return np.take_along_axis(x, index, axis)
        except IndexError as error:
            raise IndexError(f"gather(): index out of range: {error}") from None

    @staticmethod
    def backward(ctx, grad):
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype, like=grad)
        positions = list(np.indices(ctx.index.shape, sparse=True))  # (small host ranges; a device takes them)
        positions[ctx.axis] = ctx.index
        np.add.at(grad_x, tuple(positions), grad)
        return grad_x, None, None


# --- shape -------------------------------------------------------------------------------------------------------
def _reshape_view(x, shape):
    """x reshaped without a copy, or RuntimeError as torch.Tensor.view gives."""
    view = x.reshape(shape)
    if view.size and not np.may_share_memory(view, x):  # a copy is a fresh allocation
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride (shape {list(x.shape)} "
                           f"to {list(shape)}); use .reshape(...) instead")
    return view


class Reshape(ViewFunction):
    @staticmethod
    def forward(ctx, x, shape, view_only):
        ctx.shape = x.shape
        for size in shape:
            if size < -1:  # NumPy would read any negative size as -1
                raise RuntimeError(f"invalid shape dimension {size} in {list(shape)}")
        try:
            return _reshape_view(x, shape) if view_only else x.reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape {list(shape)} is invalid for input of size {x.size}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None, None


class Permute(ViewFunction):
    @staticmethod
    def forward(ctx, x, order):
        ctx.inverse = tuple(int(axis) for axis in np.argsort(order))
        return x.transpose(order)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse), None


class Expand(ViewFunction):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(f"The expanded size of the tensor {list(shape)} must match the existing size "
                               f"{list(x.shape)} at each non-singleton dimension") from None

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


class Tile(Function):
    """torch.Tensor.repeat: tile the tensor `reps` times along each dimension."""

    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, x, reps):
        if len(reps) < x.ndim:
            raise RuntimeError("repeat(): number of dimensions of repeat dims can not be smaller than number of "
                               "dimensions of tensor")
        ctx.x_shape = x.shape
        ctx.padded_shape, ctx.reps = (1,) * (len(reps) - x.ndim) + x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, grad):
        # np.tile lays repeat r of element s at r * size + s: split each axis into (repeat, size) and sum repeats.
        interleaved = []
        for rep, size in zip(ctx.reps, ctx.padded_shape):
            interleaved += [rep, size]
        summed = grad.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return summed.reshape(ctx.x_shape), None


def _is_advanced(index):
    """True when the index holds an integer or boolean array (NumPy's advanced indexing) of any device."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(getattr(part, "ndim", 0) > 0 for part in parts)


class Index(ViewFunction):
    """x[index] with NumPy semantics; the gradient scatters back, adding up repeated indices."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        grad_x = np.zeros(ctx.shape, dtype=ctx.dtype, like=grad)
        if _is_advanced(ctx.index):
            np.add.at(grad_x, ctx.index, grad)  # repeated indices accumulate (a device array's ufunc.at)
        else:
            grad_x[ctx.index] = grad
        return grad_x, None


class Cat(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.boundaries = [int(end) for end in np.cumsum([_shape(a)[axis] for a in arrays])[:-1]]
        try:
            return np.concatenate(arrays, axis=axis)
        except ValueError as error:
            raise RuntimeError(f"cat(): tensors must have the same shape except in dimension {axis}: {error}") from None

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.boundaries, axis=ctx.axis))


class Stack(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        try:
            return np.stack(arrays, axis=axis)
        except ValueError as error:
            raise RuntimeError(f"stack(): expects each tensor to be equal size: {error}") from None

    @staticmethod
    def backward(ctx, grad):
        moved = np.moveaxis(grad, ctx.axis, 0)
        return tuple(moved[i] for i in range(moved.shape[0]))


class Where(Function):
    saved_inputs, saves_output = (), False

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition, ctx.shapes = condition, (_shape(a), _shape(b))
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        _, need_a, need_b = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad.dtype, like=grad)
        return (None,
                unbroadcast(np.where(ctx.condition, grad, zero), ctx.shapes[0]) if need_a else None,
                unbroadcast(np.where(ctx.condition, zero, grad), ctx.shapes[1]) if need_b else None)
