"""The differentiable ops, one module per op family: each holds that family's autograd Functions (one small
Function per op, its backward rule right below its forward).

Forward and backward see arrays: numpy.ndarray on the CPU, a device array (CudaArray) on a GPU; both speak the
same NumPy protocol (operators, ufuncs, __array_function__), so one rule serves every device. New arrays are
made with `like=` an input so that they land on its device, never on the host. Native kernels are reached
through the array's kernel table (`native.for_array(x)`).

Families (the native ones as named in csrc/families.txt): elementwise, gemm, linear, reduce, index, activations,
softmax, losses, dropout, embedding, normalization, plus shape (views, cat, stack). A family's module holds its
argument checks, its Functions and its functional wrappers (nnx.nn.functional re-exports those under PyTorch's
names); argument checks shared by several families are in _checks.py, shape helpers of backward rules in
_common.py. This package re-exports the Tensor-level Functions under their flat names (nnx.ops.Add,
nnx.ops.Softmax ...), which Tensor's methods use; a family's module is nnx.ops.<family>.
"""
from .. import native as native
from ..autograd import Function as Function
from ._common import ViewFunction, unbroadcast
from ._common import _expand_reduced as _expand_reduced
from ._common import _reduced_count as _reduced_count
from ._common import _restore_reduced_axes as _restore_reduced_axes
from ._common import _shape as _shape
from .activations import Activation
from .elementwise import _FLOAT64 as _FLOAT64
from .elementwise import (
                          Abs,
                          Add,
                          Cast,
                          Clamp,
                          Clone,
                          Div,
                          Exp,
                          Log,
                          Maximum,
                          Minimum,
                          Mul,
                          Neg,
                          Pow,
                          Sqrt,
                          Sub,
                          ToDevice,
                          Where,
)
from .elementwise import _device_of_array as _device_of_array
from .elementwise import _float_result as _float_result
from .elementwise import _is_float64_array as _is_float64_array
from .elementwise import _split_gradient as _split_gradient
from .elementwise import move_array as move_array
from .gemm import MatMul
from .index import Gather, Index, TakeAlongDim
from .index import _is_advanced as _is_advanced
from .reduce import Amax, Amin, Mean, Std, Sum, Var
from .reduce import _centered as _centered
from .reduce import _keepdim_result as _keepdim_result
from .shape import Cat, Expand, Permute, Reshape, Stack, Tile
from .shape import _reshape_view as _reshape_view
from .softmax import Softmax

__all__ = [
    "ViewFunction", "unbroadcast",
    "Cast", "ToDevice", "Clone", "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Sqrt", "Abs", "Clamp",
    "Maximum", "Minimum", "Where",
    "MatMul", "Activation", "Softmax",
    "Sum", "Mean", "Var", "Std", "Amax", "Amin",
    "TakeAlongDim", "Gather", "Index",
    "Reshape", "Permute", "Expand", "Tile", "Cat", "Stack",
]
