// The recurrent cells (LSTM, GRU, Elman RNN with tanh or relu): the gate nonlinearities and the state update of one
// time step, forward and backward, fused into one pass per step, and the loops over a sequence's steps around them
// (the recurrent h @ W_hh^T GEMM and the cell, per step; the input projection of all steps as one GEMM before the
// loop and the weight gradients as single GEMMs after it are python/nnx/ops/rnn.py's). Here are the per-element
// formulas both devices compute (NNX_HD, written once over a Math policy: the CPU's vectorisable approximations of
// cpu/cpu_math.h, the device's libm on CUDA), the cells' declarations, then the step loops, written once for both
// devices over the device's gemm and cells: a step costs one GEMM and one cell kernel and no Python.
// Gate order as PyTorch's: LSTM i, f, g, o; GRU r, z, n with n = tanh(x_n + r * (W_hn h + b_hn)), so a GRU keeps the
// recurrent projection apart from the input projection. Rows are the batch, H the hidden size; all arrays C-ordered.
// CPU: rows split over threads (parallel_for), each element written by one thread. CUDA: one thread per (row, hidden
// unit), no atomics. Both deterministic; launchers queue on nnx's stream and never synchronise.
#pragma once
#include <cstdint>

#include "core/activations.h"
#include "core/device_namespace.h"
#include "core/gemm.h"
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

// ---- The loops over the steps of one layer and direction ------------------------------------------------------
// The states of every step live in one array `states` (S, N, H), laid out so that the previous step's state is
// always one row away: forward, h0 at row 0 and step t's h at row t + 1; reverse (t from L - 1 down to 0), step t's h
// at row t and h0 at row L. An LSTM's c follow in the same layout from row L + 1 (S = 2L + 2; otherwise S = L + 1).
// The forward reads h0 (and c0) from their rows and writes every other row; the backward reads the gradient of the
// whole array and ignores the rows of h0 and c0 (their gradients are what it returns). All arrays C-ordered.

// The rows (previous state, this step's state) of step t.
struct RnnStepRows {
  int64_t prev, cur;
  static RnnStepRows of(int64_t t, bool reverse) { return reverse ? RnnStepRows{t + 1, t} : RnnStepRows{t, t + 1}; }
};

// Step t of the k-th run: forward 0, 1, ..., L - 1; reverse L - 1, ..., 0.
inline int64_t rnn_step(int64_t k, int64_t L, bool reverse) { return reverse ? L - 1 - k : k; }

// LSTM. gates (L, N, 4H): every step's input projection with both biases; each step adds h_prev @ W_hh^T and the
// cell replaces the sum by the activated i, f, g, o (what the backward reads). w_hh (4H, H).
template <class T>
void lstm_sequence_forward(const T* w_hh, int64_t L, int64_t N, int64_t H, bool reverse, T* gates, T* states) {
  const int64_t S = N * H;
  T *hs = states, *cs = states + (L + 1) * S;
  for (int64_t k = 0; k < L; ++k) {
    const int64_t t = rnn_step(k, L, reverse);
    const RnnStepRows row = RnnStepRows::of(t, reverse);
    T* g = gates + t * 4 * S;
    gemm<T>(false, true, N, 4 * H, H, T(1), hs + row.prev * S, w_hh, T(1), g);
    lstm_cell_forward<T>(g, cs + row.prev * S, N, H, hs + row.cur * S, cs + row.cur * S, g);
  }
}

// BPTT through an LSTM, last step first. grad_states (2L + 2, N, H) the gradient of the states array (its c rows but
// c_n's are ignored: only c_n leaves the layer); act (L, N, 4H) the forward's activated gates. Writes grad_gates
// (L, N, 4H) the pre-activation gradients; grad_h (N, H) comes in as the gradient reaching h_n from beyond the
// sequence (zeros for a layer's output) and leaves as h0's; grad_c comes in as c_n's and leaves as c0's.
template <class T>
void lstm_sequence_backward(const T* grad_states, const T* act, const T* states, const T* w_hh, int64_t L, int64_t N,
                            int64_t H, bool reverse, T* grad_gates, T* grad_h, T* grad_c) {
  const int64_t S = N * H;
  const T *cs = states + (L + 1) * S;
  for (int64_t k = L - 1; k >= 0; --k) {
    const int64_t t = rnn_step(k, L, reverse);
    const RnnStepRows row = RnnStepRows::of(t, reverse);
    T* gg = grad_gates + t * 4 * S;
    lstm_cell_backward<T>(grad_states + row.cur * S, grad_h, grad_c, act + t * 4 * S, cs + row.prev * S,
                          cs + row.cur * S, N, H, gg, grad_c);
    gemm<T>(false, false, N, H, 4 * H, T(1), gg, w_hh, T(0), grad_h);
  }
}

// GRU. gates_x (L, N, 3H): every step's input projection with b_ih; bias_hh (3H) or null; scratch (N, 3H) holds a
// step's h_prev @ W_hh^T. Writes act (L, N, 4H): r, z, n and hn = W_hn h_prev + b_hn per step.
template <class T>
void gru_sequence_forward(const T* gates_x, const T* w_hh, const T* bias_hh, int64_t L, int64_t N, int64_t H,
                          bool reverse, T* states, T* act, T* scratch) {
  const int64_t S = N * H;
  for (int64_t k = 0; k < L; ++k) {
    const int64_t t = rnn_step(k, L, reverse);
    const RnnStepRows row = RnnStepRows::of(t, reverse);
    gemm<T>(false, true, N, 3 * H, H, T(1), states + row.prev * S, w_hh, T(0), scratch);
    gru_cell_forward<T>(gates_x + t * 3 * S, scratch, bias_hh, states + row.prev * S, N, H, states + row.cur * S,
                        act + t * 4 * S);
  }
}

// BPTT through a GRU: grad_states (L + 1, N, H); writes grad_gates_x and grad_gates_h (L, N, 3H), the
// pre-activation gradients of the input and recurrent projections; grad_h as lstm_sequence_backward's.
template <class T>
void gru_sequence_backward(const T* grad_states, const T* act, const T* states, const T* w_hh, int64_t L, int64_t N,
                           int64_t H, bool reverse, T* grad_gates_x, T* grad_gates_h, T* grad_h) {
  const int64_t S = N * H;
  for (int64_t k = L - 1; k >= 0; --k) {
    const int64_t t = rnn_step(k, L, reverse);
    const RnnStepRows row = RnnStepRows::of(t, reverse);
    T* ggh = grad_gates_h + t * 3 * S;
    gru_cell_backward<T>(grad_states + row.cur * S, grad_h, act + t * 4 * S, states + row.prev * S, N, H,
                         grad_gates_x + t * 3 * S, ggh, grad_h);
    gemm<T>(false, false, N, H, 3 * H, T(1), ggh, w_hh, T(1), grad_h);
  }
}

// Elman RNN. gates (L, N, H): every step's input projection with both biases; each step adds h_prev @ W_hh^T and
// writes h = act(sum) into its row of states (gates keep the sums).
template <class T>
void rnn_sequence_forward(const T* w_hh, int64_t L, int64_t N, int64_t H, bool reverse, RnnNonlinearity kind,
                          T* gates, T* states) {
  const int64_t S = N * H;
  for (int64_t k = 0; k < L; ++k) {
    const int64_t t = rnn_step(k, L, reverse);
    const RnnStepRows row = RnnStepRows::of(t, reverse);
    T* g = gates + t * S;
    gemm<T>(false, true, N, H, H, T(1), states + row.prev * S, w_hh, T(1), g);
    rnn_cell_forward<T>(g, S, kind, states + row.cur * S);
  }
}

// BPTT through an Elman RNN: grad_states (L + 1, N, H); writes grad_gates (L, N, H); grad_h as
// lstm_sequence_backward's.
template <class T>
void rnn_sequence_backward(const T* grad_states, const T* states, const T* w_hh, int64_t L, int64_t N, int64_t H,
                           bool reverse, RnnNonlinearity kind, T* grad_gates, T* grad_h) {
  const int64_t S = N * H;
  for (int64_t k = L - 1; k >= 0; --k) {
    const int64_t t = rnn_step(k, L, reverse);
    const RnnStepRows row = RnnStepRows::of(t, reverse);
    T* gg = grad_gates + t * S;
    rnn_cell_backward<T>(grad_states + row.cur * S, grad_h, states + row.cur * S, S, kind, gg);
    gemm<T>(false, false, N, H, H, T(1), gg, w_hh, T(0), grad_h);
  }
}

}  // namespace nnx::NNX_DEVICE
