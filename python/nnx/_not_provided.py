"""The PyTorch names nnx deliberately does not provide, each with the alternative to use instead.

nnx.<name> raises NotProvidedError (through nnx's module __getattr__); a Tensor method of this table is a
stub that raises it when called. Both say what to write instead. tools/torch_coverage.py counts them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn


class NotProvidedError(NotImplementedError, AttributeError):
    """A PyTorch name nnx does not provide. Also an AttributeError, so hasattr(nnx, name) stays False."""


_NUMPY_LINALG = "use numpy.linalg on tensor.numpy() (no gradient)"
_SCIPY_SPECIAL = "use scipy.special on tensor.numpy() (no gradient); nnx.nn.functional.gelu covers erf's usual use"
_COMPLEX = "nnx tensors hold bool, integer and real floating point values only (no complex dtypes)"
_SPARSE = "nnx has no sparse tensors: build the dense tensor (nnx.zeros(...) then index assignment)"
_FUSED_AFFINE = "write the expression out (e.g. beta * input + alpha * (mat1 @ mat2)); nnx's matmul is one native GEMM"
_CONVOLUTION = "nnx has no convolution or pooling ops yet; flatten the input and use nnx.nn.Linear"
_IN_PLACE_INDEX = "assign through indexing under nnx.no_grad() (x[index] = values), or use gather/where"

NOT_PROVIDED_FUNCTIONS = {
    "compile": "nnx has no compiler: call the model directly (its hot paths are native kernels already)",
    "jit": "TorchScript is not provided: save weights with nnx.save(model.state_dict()) and rebuild the model",
    "vmap": "batch the computation with broadcasting, or loop over the batch",
    "autocast": "mixed precision is not provided: nnx trains in float32 (float64 for checks)",
    "GradScaler": "mixed precision is not provided: nnx trains in float32, so no loss scaling is needed",
    "complex": _COMPLEX, "polar": _COMPLEX, "view_as_complex": _COMPLEX, "view_as_real": _COMPLEX,
    "sparse_coo_tensor": _SPARSE, "sparse_csr_tensor": _SPARSE, "spmm": _SPARSE,
    "svd": _NUMPY_LINALG, "det": _NUMPY_LINALG, "inverse": _NUMPY_LINALG, "pinverse": _NUMPY_LINALG,
    "qr": _NUMPY_LINALG, "cholesky": _NUMPY_LINALG, "slogdet": _NUMPY_LINALG, "linalg": _NUMPY_LINALG,
    "fft": "use numpy.fft on tensor.numpy() (no gradient)", "stft": "use numpy.fft on tensor.numpy() (no gradient)",
    "erf": _SCIPY_SPECIAL, "erfc": _SCIPY_SPECIAL, "erfinv": _SCIPY_SPECIAL, "lgamma": _SCIPY_SPECIAL,
    "digamma": _SCIPY_SPECIAL,
    "addmm": _FUSED_AFFINE, "baddbmm": _FUSED_AFFINE, "addcmul": _FUSED_AFFINE, "addcdiv": _FUSED_AFFINE,
    "lerp": "write start + weight * (end - start)",
    "conv1d": _CONVOLUTION, "conv2d": _CONVOLUTION, "conv_transpose2d": _CONVOLUTION, "max_pool2d": _CONVOLUTION,
    "avg_pool1d": _CONVOLUTION, "adaptive_avg_pool1d": _CONVOLUTION,
    "scatter": _IN_PLACE_INDEX, "scatter_add": _IN_PLACE_INDEX, "index_add": _IN_PLACE_INDEX,
    "nansum": "write nnx.where(x.isnan(), 0, x).sum()", "nanmean": "write x[~x.isnan()].mean()",
    "Generator": "nnx has one seeded generator: call nnx.manual_seed(seed)",
    "set_default_device": "pass device= to each factory, or move with .to(device)",
    "distributions": "sample with nnx.rand, nnx.randn, nnx.randint or nnx.multinomial",
    "distributed": "multi-process training is not provided by nnx",
    "profiler": "profile with Python's cProfile; nnx's time is in native kernels named after their ops",
}

NOT_PROVIDED_METHODS = {
    "resize": "use reshape (same number of elements)", "resize_": "use reshape (same number of elements)",
    "to_sparse": _SPARSE, "to_dense": "nnx tensors are always dense: use the tensor itself",
    "storage": "nnx tensors hold a NumPy array: use tensor.numpy()",
    "untyped_storage": "nnx tensors hold a NumPy array: use tensor.numpy()",
    "data_ptr": "read tensor.numpy().ctypes.data (CPU tensors)",
    "share_memory_": "pass NumPy arrays to worker processes (nnx.utils.data.DataLoader does this for you)",
    "pin_memory": "not needed: nnx copies host arrays to the GPU directly",
    "register_hook": "autograd hooks are not provided: read .grad after backward()",
    "retain_grad": ("nnx keeps .grad on leaves only: compute the intermediate as a leaf "
                    "(y = y.detach().requires_grad_())"),
    "apply_": "compute on tensor.numpy() and copy back with tensor.copy_()",
    "map_": "compute on tensor.numpy() and copy back with tensor.copy_()",
    "svd": _NUMPY_LINALG, "det": _NUMPY_LINALG, "inverse": _NUMPY_LINALG, "pinverse": _NUMPY_LINALG,
    "qr": _NUMPY_LINALG, "cholesky": _NUMPY_LINALG, "slogdet": _NUMPY_LINALG,
    "erf": _SCIPY_SPECIAL, "erfinv": _SCIPY_SPECIAL, "lgamma": _SCIPY_SPECIAL, "digamma": _SCIPY_SPECIAL,
    "stft": "use numpy.fft on tensor.numpy() (no gradient)",
    "conj": _COMPLEX, "real": _COMPLEX, "imag": _COMPLEX, "angle": _COMPLEX,
    "addmm": _FUSED_AFFINE, "addmm_": _FUSED_AFFINE, "baddbmm": _FUSED_AFFINE, "addcmul": _FUSED_AFFINE,
    "addcmul_": _FUSED_AFFINE, "addcdiv": _FUSED_AFFINE, "addcdiv_": _FUSED_AFFINE,
    "lerp": "write start + weight * (end - start)", "lerp_": "write start + weight * (end - start)",
    "scatter": _IN_PLACE_INDEX, "scatter_add": _IN_PLACE_INDEX, "scatter_add_": _IN_PLACE_INDEX,
    "index_add_": _IN_PLACE_INDEX, "index_copy_": _IN_PLACE_INDEX, "index_put_": _IN_PLACE_INDEX,
    "index_fill_": _IN_PLACE_INDEX, "masked_scatter_": _IN_PLACE_INDEX,
    "nansum": "write nnx.where(x.isnan(), 0, x).sum()", "nanmean": "write x[~x.isnan()].mean()",
    "exponential_": "draw with NumPy and copy in: x.copy_(nnx.from_numpy(numpy_values))",
    "log_normal_": "draw with NumPy and copy in: x.copy_(nnx.from_numpy(numpy_values))",
    "cauchy_": "draw with NumPy and copy in: x.copy_(nnx.from_numpy(numpy_values))",
    "geometric_": "draw with NumPy and copy in: x.copy_(nnx.from_numpy(numpy_values))",
}


def method_stub(name: str, alternative: str) -> Callable[..., NoReturn]:
    """A Tensor method that raises NotProvidedError naming the alternative."""
    def stub(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotProvidedError(f"Tensor.{name} is not provided by nnx: {alternative}")
    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = f"Not provided by nnx: {alternative}"
    stub.not_provided = True
    return stub
