// The recurrent cells on the GPU (core/rnn.h): one thread per (row, hidden unit), grid-stride, no atomics; the
// formulas are the CPU's (core/rnn.h) with the device's libm.
#include "core/rnn.h"
#include "cuda/common.cuh"

namespace nnx::cuda {

namespace {

using Formulas = RnnFormulas<LibmMath>;

template <class T>
__global__ void lstm_forward_kernel(const T* gates, const T* c_prev, int64_t N, int64_t H, T* h, T* c, T* act) {
  const int64_t n = N * H, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const int64_t r = e / H, j = e - r * H;
    Formulas::lstm_forward(gates + r * 4 * H, c_prev[e], j, H, act + r * 4 * H, h + e, c + e);
  }
}

template <class T>
__global__ void lstm_backward_kernel(const T* grad_out, const T* grad_h, const T* grad_c, const T* act,
                                     const T* c_prev, const T* c, int64_t N, int64_t H, T* grad_gates,
                                     T* grad_c_prev) {
  const int64_t n = N * H, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const int64_t r = e / H, j = e - r * H;
    grad_c_prev[e] = Formulas::lstm_backward(grad_out[e] + grad_h[e], grad_c[e], act + r * 4 * H, c_prev[e], c[e], j,
                                             H, grad_gates + r * 4 * H);
  }
}

template <class T>
__global__ void gru_forward_kernel(const T* gates_x, const T* gates_h, const T* bias_hh, const T* h_prev, int64_t N,
                                   int64_t H, T* h, T* act) {
  const int64_t n = N * H, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const int64_t r = e / H, j = e - r * H;
    h[e] = Formulas::gru_forward(gates_x + r * 3 * H, gates_h + r * 3 * H, bias_hh, h_prev[e], j, H, act + r * 4 * H);
  }
}

template <class T>
__global__ void gru_backward_kernel(const T* grad_out, const T* grad_h, const T* act, const T* h_prev, int64_t N,
                                    int64_t H, T* grad_gates_x, T* grad_gates_h, T* grad_h_prev) {
  const int64_t n = N * H, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const int64_t r = e / H, j = e - r * H;
    grad_h_prev[e] = Formulas::gru_backward(grad_out[e] + grad_h[e], act + r * 4 * H, h_prev[e], j, H,
                                            grad_gates_x + r * 3 * H, grad_gates_h + r * 3 * H);
  }
}

template <class T>
__global__ void rnn_forward_kernel(const T* gates, int64_t n, RnnNonlinearity kind, T* h) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    h[i] = Formulas::rnn_forward(gates[i], kind);
}

template <class T>
__global__ void rnn_backward_kernel(const T* grad_out, const T* grad_h, const T* h, int64_t n, RnnNonlinearity kind,
                                    T* grad_gates) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    grad_gates[i] = Formulas::rnn_backward(grad_out[i] + grad_h[i], h[i], kind);
}

}  // namespace

template <class T>
void lstm_cell_forward(const T* gates, const T* c_prev, int64_t N, int64_t H, T* h, T* c, T* act) {
  if (N * H <= 0) return;
  lstm_forward_kernel<T><<<grid_for(N * H), kBlock, 0, current_stream()>>>(gates, c_prev, N, H, h, c, act);
  check_launch("lstm_forward_kernel");
}

template <class T>
void lstm_cell_backward(const T* grad_out, const T* grad_h, const T* grad_c, const T* act, const T* c_prev,
                        const T* c, int64_t N, int64_t H, T* grad_gates, T* grad_c_prev) {
  if (N * H <= 0) return;
  lstm_backward_kernel<T><<<grid_for(N * H), kBlock, 0, current_stream()>>>(grad_out, grad_h, grad_c, act, c_prev, c,
                                                                            N, H, grad_gates, grad_c_prev);
  check_launch("lstm_backward_kernel");
}

template <class T>
void gru_cell_forward(const T* gates_x, const T* gates_h, const T* bias_hh, const T* h_prev, int64_t N, int64_t H,
                      T* h, T* act) {
  if (N * H <= 0) return;
  gru_forward_kernel<T><<<grid_for(N * H), kBlock, 0, current_stream()>>>(gates_x, gates_h, bias_hh, h_prev, N, H, h,
                                                                          act);
  check_launch("gru_forward_kernel");
}

template <class T>
void gru_cell_backward(const T* grad_out, const T* grad_h, const T* act, const T* h_prev, int64_t N, int64_t H,
                       T* grad_gates_x, T* grad_gates_h, T* grad_h_prev) {
  if (N * H <= 0) return;
  gru_backward_kernel<T><<<grid_for(N * H), kBlock, 0, current_stream()>>>(grad_out, grad_h, act, h_prev, N, H,
                                                                           grad_gates_x, grad_gates_h, grad_h_prev);
  check_launch("gru_backward_kernel");
}

template <class T>
void rnn_cell_forward(const T* gates, int64_t n, RnnNonlinearity kind, T* h) {
  if (n <= 0) return;
  rnn_forward_kernel<T><<<grid_for(n), kBlock, 0, current_stream()>>>(gates, n, kind, h);
  check_launch("rnn_forward_kernel");
}

template <class T>
void rnn_cell_backward(const T* grad_out, const T* grad_h, const T* h, int64_t n, RnnNonlinearity kind,
                       T* grad_gates) {
  if (n <= 0) return;
  rnn_backward_kernel<T><<<grid_for(n), kBlock, 0, current_stream()>>>(grad_out, grad_h, h, n, kind, grad_gates);
  check_launch("rnn_backward_kernel");
}

#define NNX_INSTANTIATE_RNN(T)                                                                                  \
  template void lstm_cell_forward<T>(const T*, const T*, int64_t, int64_t, T*, T*, T*);                         \
  template void lstm_cell_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, int64_t,      \
                                      int64_t, T*, T*);                                                         \
  template void gru_cell_forward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*);          \
  template void gru_cell_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*, T*);     \
  template void rnn_cell_forward<T>(const T*, int64_t, RnnNonlinearity, T*);                                    \
  template void rnn_cell_backward<T>(const T*, const T*, const T*, int64_t, RnnNonlinearity, T*);
NNX_INSTANTIATE_RNN(float)
NNX_INSTANTIATE_RNN(double)
#undef NNX_INSTANTIATE_RNN

}  // namespace nnx::cuda
