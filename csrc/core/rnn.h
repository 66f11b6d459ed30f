// The recurrent cells (LSTM, GRU, Elman RNN with tanh or relu): the gate nonlinearities and the state update of one
// time step, forward and backward, fused into one pass per step. The GEMMs around them are the callers' (the input
// projection of all steps as one GEMM, the recurrent h @ W_hh^T per step: python/nnx/ops/rnn.py); here are the
// per-element formulas both devices compute (NNX_HD, written once over a Math policy: the CPU's vectorisable
// approximations of cpu/cpu_math.h, the device's libm on CUDA), then the kernels' declarations.
// Gate order as PyTorch's: LSTM i, f, g, o; GRU r, z, n with n = tanh(x_n + r * (W_hn h + b_hn)), so a GRU keeps the
// recurrent projection apart from the input projection. Rows are the batch, H the hidden size; all arrays C-ordered.
// CPU: rows split over threads (parallel_for), each element written by one thread. CUDA: one thread per (row, hidden
// unit), no atomics. Both deterministic; launchers queue on nnx's stream and never synchronise.
#pragma once
#include <cstdint>

#include "core/activations.h"
#include "core/device_namespace.h"
#include "core/hd.h"

namespace nnx {

// 0: tanh, 1: relu (the Elman RNN's nonlinearity, PyTorch's `nonlinearity`).
enum class RnnNonlinearity : int { tanh = 0, relu = 1 };

template <class Math>
struct RnnFormulas {
  using Act = ActivationFormulas<Math>;

  // LSTM, element j of row r: gates points at the row's 4H pre-activations (x and h projections and both biases
  // summed), act receives the activated i, f, g, o (it may be gates itself: each element reads its four gates
  // before writing them). Returns through h and c.
  template <class T>
  static NNX_HD void lstm_forward(const T* gates, T c_prev, int64_t j, int64_t H, T* act, T* h, T* c) {
    const T i = Act::sigmoid_of(gates[j]), f = Act::sigmoid_of(gates[H + j]);
    const T g = Math::tanh(gates[2 * H + j]), o = Act::sigmoid_of(gates[3 * H + j]);
    const T c_new = f * c_prev + i * g;
    act[j] = i;
    act[H + j] = f;
    act[2 * H + j] = g;
    act[3 * H + j] = o;
    *c = c_new;
    *h = o * Math::tanh(c_new);
  }

  // dh = grad_out + grad_h (the output's and the next step's); dc = grad_c + dh * o * tanh'(c). Writes the four
  // pre-activation gradients (i, f, g, o) of element j and returns dc_prev = dc * f.
  template <class T>
  static NNX_HD T lstm_backward(T dh, T grad_c, const T* act, T c_prev, T c, int64_t j, int64_t H, T* grad_gates) {
    const T i = act[j], f = act[H + j], g = act[2 * H + j], o = act[3 * H + j];
    const T tc = Math::tanh(c);
    const T dc = grad_c + dh * o * (T(1) - tc * tc);
    grad_gates[j] = dc * g * i * (T(1) - i);
    grad_gates[H + j] = dc * c_prev * f * (T(1) - f);
    grad_gates[2 * H + j] = dc * i * (T(1) - g * g);
    grad_gates[3 * H + j] = dh * tc * o * (T(1) - o);
    return dc * f;
  }

  // GRU, element j: gx (3H) the input projection with b_ih, gh (3H) the recurrent projection without bias, bias_hh
  // (3H) or null. act receives r, z, n and hn = gh_n + b_hn (4H: what the backward reads). Returns h.
  template <class T>
  static NNX_HD T gru_forward(const T* gx, const T* gh, const T* bias_hh, T h_prev, int64_t j, int64_t H, T* act) {
    const T br = bias_hh ? bias_hh[j] : T(0), bz = bias_hh ? bias_hh[H + j] : T(0);
    const T bn = bias_hh ? bias_hh[2 * H + j] : T(0);
    const T r = Act::sigmoid_of(gx[j] + (gh[j] + br));
    const T z = Act::sigmoid_of(gx[H + j] + (gh[H + j] + bz));
    const T hn = gh[2 * H + j] + bn;
    const T n = Math::tanh(gx[2 * H + j] + r * hn);
    act[j] = r;
    act[H + j] = z;
    act[2 * H + j] = n;
    act[3 * H + j] = hn;
    return n + z * (h_prev - n);  // (1 - z) n + z h_prev
  }

  // dh = grad_out + grad_h. Writes the pre-activation gradients of the input projection (r, z, n) and of the
  // recurrent one (r, z, and r * dn for hn), returns the direct part dh * z of dh_prev (the caller adds
  // grad_gates_h @ W_hh).
  template <class T>
  static NNX_HD T gru_backward(T dh, const T* act, T h_prev, int64_t j, int64_t H, T* grad_gx, T* grad_gh) {
    const T r = act[j], z = act[H + j], n = act[2 * H + j], hn = act[3 * H + j];
    const T dn = dh * (T(1) - z) * (T(1) - n * n);
    const T dr = dn * hn * r * (T(1) - r);
    const T dz = dh * (h_prev - n) * z * (T(1) - z);
    grad_gx[j] = dr;
    grad_gx[H + j] = dz;
    grad_gx[2 * H + j] = dn;
    grad_gh[j] = dr;
    grad_gh[H + j] = dz;
    grad_gh[2 * H + j] = dn * r;
    return dh * z;
  }

  template <class T>
  static NNX_HD T rnn_forward(T pre, RnnNonlinearity kind) {
    if (kind == RnnNonlinearity::relu) return pre < T(0) ? T(0) : pre;  // NaN kept, as torch.relu
    return Math::tanh(pre);
  }

  // The pre-activation gradient from h (the forward's output); relu as a select (an infinite grad where h is 0
  // gives 0, not NaN).
  template <class T>
  static NNX_HD T rnn_backward(T dh, T h, RnnNonlinearity kind) {
    if (kind == RnnNonlinearity::relu) return h <= T(0) ? T(0) : dh;
    return dh * (T(1) - h * h);
  }
};

}  // namespace nnx

namespace nnx::NNX_DEVICE {

// gates (N, 4H): pre-activations, summed; c_prev (N, H). Outputs h (N, H), c (N, H), act (N, 4H) the activated
// i, f, g, o (act may be gates: in place).
template <class T>
void lstm_cell_forward(const T* gates, const T* c_prev, int64_t N, int64_t H, T* h, T* c, T* act);

// grad_out, grad_h, grad_c (N, H): the gradients reaching h (from the output and the next step) and c; act (N, 4H),
// c_prev, c (N, H) from the forward. Outputs grad_gates (N, 4H) and grad_c_prev (N, H) (which may be grad_c).
template <class T>
void lstm_cell_backward(const T* grad_out, const T* grad_h, const T* grad_c, const T* act, const T* c_prev,
                        const T* c, int64_t N, int64_t H, T* grad_gates, T* grad_c_prev);

// gates_x (N, 3H) with b_ih, gates_h (N, 3H) = h_prev @ W_hh^T, bias_hh (3H) or null, h_prev (N, H). Outputs
// h (N, H) and act (N, 4H): r, z, n, hn.
template <class T>
void gru_cell_forward(const T* gates_x, const T* gates_h, const T* bias_hh, const T* h_prev, int64_t N, int64_t H,
                      T* h, T* act);

// grad_out, grad_h (N, H), act (N, 4H), h_prev (N, H). Outputs grad_gates_x, grad_gates_h (N, 3H) and grad_h_prev
// (N, H) = dh * z (which may be grad_h), to which the caller adds grad_gates_h @ W_hh.
template <class T>
void gru_cell_backward(const T* grad_out, const T* grad_h, const T* act, const T* h_prev, int64_t N, int64_t H,
                       T* grad_gates_x, T* grad_gates_h, T* grad_h_prev);

// h = tanh(gates) or relu(gates), n values (h may be gates).
template <class T>
void rnn_cell_forward(const T* gates, int64_t n, RnnNonlinearity kind, T* h);

// grad_gates = (grad_out + grad_h) * act'(from h), n values.
template <class T>
void rnn_cell_backward(const T* grad_out, const T* grad_h, const T* h, int64_t n, RnnNonlinearity kind,
                       T* grad_gates);

}  // namespace nnx::NNX_DEVICE
