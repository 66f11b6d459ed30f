// One registration function per op family of the CUDA module; each lives in csrc/bind/cuda_<family>.cpp.
// cuda_module.cpp registers the DeviceArray type first, then calls these.
#pragma once
#include <pybind11/pybind11.h>

namespace nnx::bind::cuda {
void bind_device_array(pybind11::module_& m);  // cuda_device_array.cpp: DeviceArray, from_dlpack, allocator stats
void bind_elementwise(pybind11::module_& m);   // cuda_elementwise.cpp: copy, fill, arange, unary, binary, where
void bind_reduce(pybind11::module_& m);        // cuda_reduce.cpp: reduce, cumsum, column_sum, row_argmax
void bind_index(pybind11::module_& m);         // cuda_index.cpp: index_select/add, take/put_along, nonzero
void bind_gemm(pybind11::module_& m);          // cuda_gemm.cpp: gemm, set/get_allow_tf32, cublas_path
void bind_linear(pybind11::module_& m);
void bind_activations(pybind11::module_& m);
void bind_softmax(pybind11::module_& m);
void bind_losses(pybind11::module_& m);
void bind_dropout(pybind11::module_& m);
void bind_embedding(pybind11::module_& m);
void bind_optim(pybind11::module_& m);
void bind_normalization(pybind11::module_& m);
}  // namespace nnx::bind::cuda
