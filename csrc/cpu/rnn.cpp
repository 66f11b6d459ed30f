// The recurrent cells on the CPU (core/rnn.h): rows split over threads, each row's H units in one vectorisable loop
// over core/rnn.h's formulas with cpu/cpu_math.h's approximations; deterministic whatever the thread count.
#include "core/rnn.h"

#include <algorithm>

#include "core/parallel.h"
#include "cpu/cpu_math.h"

namespace nnx::cpu {

namespace {

using Formulas = RnnFormulas<CpuMath>;

// Calls body(row) for rows [0, N) split over threads, a chunk worth at least kParallelGrain elements of H each.
template <class Body>
void for_rows(int64_t N, int64_t H, Body&& body) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(H, 1));
  parallel_for(N, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) body(r);
  });
}

}  // namespace

template <class T>
void lstm_cell_forward(const T* gates, const T* c_prev, int64_t N, int64_t H, T* h, T* c, T* act) {
  for_rows(N, H, [=](int64_t r) {
    const T* g = gates + r * 4 * H;
    T* a = act + r * 4 * H;
    const T* cp = c_prev + r * H;
    T *hr = h + r * H, *cr = c + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) Formulas::lstm_forward(g, cp[j], j, H, a, hr + j, cr + j);
  });
}

template <class T>
void lstm_cell_backward(const T* grad_out, const T* grad_h, const T* grad_c, const T* act, const T* c_prev,
                        const T* c, int64_t N, int64_t H, T* grad_gates, T* grad_c_prev) {
  for_rows(N, H, [=](int64_t r) {
    const int64_t o = r * H;
    const T* a = act + 4 * o;
    T* gg = grad_gates + 4 * o;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j)
      grad_c_prev[o + j] =
          Formulas::lstm_backward(grad_out[o + j] + grad_h[o + j], grad_c[o + j], a, c_prev[o + j], c[o + j], j, H, gg);
  });
}

template <class T>
void gru_cell_forward(const T* gates_x, const T* gates_h, const T* bias_hh, const T* h_prev, int64_t N, int64_t H,
                      T* h, T* act) {
  for_rows(N, H, [=](int64_t r) {
    const int64_t o = r * H;
    const T *gx = gates_x + 3 * o, *gh = gates_h + 3 * o;
    T* a = act + 4 * o;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) h[o + j] = Formulas::gru_forward(gx, gh, bias_hh, h_prev[o + j], j, H, a);
  });
}

template <class T>
void gru_cell_backward(const T* grad_out, const T* grad_h, const T* act, const T* h_prev, int64_t N, int64_t H,
                       T* grad_gates_x, T* grad_gates_h, T* grad_h_prev) {
  for_rows(N, H, [=](int64_t r) {
    const int64_t o = r * H;
    const T* a = act + 4 * o;
    T *gx = grad_gates_x + 3 * o, *gh = grad_gates_h + 3 * o;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j)
      grad_h_prev[o + j] = Formulas::gru_backward(grad_out[o + j] + grad_h[o + j], a, h_prev[o + j], j, H, gx, gh);
  });
}

template <class T>
void rnn_cell_forward(const T* gates, int64_t n, RnnNonlinearity kind, T* h) {
  parallel_for(n, kParallelGrain, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) h[i] = Formulas::rnn_forward(gates[i], kind);
  });
}

template <class T>
void rnn_cell_backward(const T* grad_out, const T* grad_h, const T* h, int64_t n, RnnNonlinearity kind,
                       T* grad_gates) {
  parallel_for(n, kParallelGrain, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) grad_gates[i] = Formulas::rnn_backward(grad_out[i] + grad_h[i], h[i], kind);
  });
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

}  // namespace nnx::cpu
