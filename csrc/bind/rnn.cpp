// Bindings of the recurrent step loops (csrc/core/rnn.h): one call runs every step of one layer and direction, so
// a step costs no Python. Every array is checked by name (dtype, shape, device, aliasing), then the loop runs with
// the GIL released. Compiled once per device (csrc/bind/device.h). Arrays the loops read and write (gates, states,
// grad_h, grad_c) are outputs here: writable, and disjoint from every other argument.
#include <string>
#include <string_view>
#include <vector>

#include "bind/device.h"
#include "core/rnn.h"

namespace nnx::bind {

namespace {

using Named = NamedArray<Device::Value>;

inline RnnNonlinearity parse_nonlinearity(py::handle name) {
  if (!PyUnicode_Check(name.ptr()))
    throw py::type_error("nonlinearity must be a str, got " +
                         py::str(py::type::of(name).attr("__name__")).cast<std::string>());
  const std::string value = name.cast<std::string>();
  if (value == "tanh") return RnnNonlinearity::tanh;
  if (value == "relu") return RnnNonlinearity::relu;
  throw py::value_error("nonlinearity must be 'tanh' or 'relu', got '" + value + "'");
}

// The sizes of one layer's sequence: L steps, N rows, H hidden units, G gate rows per unit.
struct SequenceSizes {
  int64_t L, N, H;
};

// (L, N, H) from the (L, N, G * H) array of a sequence's gates, each extent within the BLAS's int.
template <class A>
SequenceSizes sequence_of(const A& gates, const char* name, int64_t G) {
  require_ndim(gates, name, 3);
  const int64_t width = extent(gates, 2);
  if (width % G != 0)
    throw py::value_error(std::string(name) + " must have a last dimension divisible by " + std::to_string(G) +
                          " (the gates), got " + std::to_string(width));
  require_blas_int<Device>(width, name);
  require_blas_int<Device>(extent(gates, 1), name);
  return {extent(gates, 0), extent(gates, 1), width / G};
}

// L from the (S, N, H) states array (or its gradient), S = 2L + 2 for an LSTM (h and c rows) and L + 1 otherwise.
template <class A>
int64_t steps_of_states(const A& states, const char* name, bool lstm) {
  require_ndim(states, name, 3);
  const int64_t S = extent(states, 0);
  if (lstm ? (S < 2 || S % 2 != 0) : S < 1)
    throw py::value_error(std::string(name) + " must have " +
                          (lstm ? "2L + 2 rows (h0 and every step's h, then c0 and every step's c)"
                                : "L + 1 rows (h0 and every step's h)") +
                          ", got " + std::to_string(S));
  return lstm ? S / 2 - 1 : S - 1;
}

}  // namespace

void bind_rnn(py::module_& m) {
  using Array = Device::Array;
  m.def(
      "lstm_sequence_forward",
      [](py::handle gates_obj, py::handle w_hh_obj, py::handle states_obj, bool reverse) {
        Array gates = Device::output(gates_obj, "gates");
        const Float dtype = require_float(gates, "gates");
        const SequenceSizes size = sequence_of(gates, "gates", 4);
        const int64_t L = size.L, N = size.N, H = size.H;
        const auto w_hh = required_like<Device>(w_hh_obj, "w_hh", false, gates, "gates", {4 * H, H});
        auto states = required_like<Device>(states_obj, "states", true, gates, "gates", {2 * L + 2, N, H});
        require_disjoint_arrays<Device::Value>({{&gates, "gates"}, {get(states), "states"}}, {{get(w_hh), "w_hh"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* w = cptr_or_null<T>(w_hh);
          T *g = ptr<T>(gates), *st = ptr_or_null<T>(states);
          Device::launch(gates, [&] { dev::lstm_sequence_forward(w, L, N, H, reverse, g, st); });
        });
      },
      py::arg("gates"), py::arg("w_hh"), py::arg("states"), py::arg("reverse"),
      "Every step of one LSTM layer and direction: gates (L, N, 4H) the input projections with both biases, w_hh "
      "(4H, H), states (2L + 2, N, H) with h0 and c0 in their rows (forward: rows 0 and L + 1; reverse: L and "
      "2L + 1). Each step adds h_prev @ w_hh^T to its gates and runs the fused cell; writes every step's h and c "
      "into states and the activated gates (i, f, g, o) over gates.");
  m.def(
      "lstm_sequence_backward",
      [](py::handle grad_states_obj, py::handle states_obj, py::handle act_obj, py::handle w_hh_obj,
         py::handle grad_gates_obj, py::handle grad_h_obj, py::handle grad_c_obj, bool reverse) {
        Array grad_states = Device::input(grad_states_obj, "grad_states");
        const Float dtype = require_float(grad_states, "grad_states");
        const int64_t L = steps_of_states(grad_states, "grad_states", true);
        const int64_t N = extent(grad_states, 1), H = extent(grad_states, 2);
        require_blas_int<Device>(4 * H, "grad_states");
        require_blas_int<Device>(N, "grad_states");
        const auto states = required_like<Device>(states_obj, "states", false, grad_states, "grad_states",
                                                  {2 * L + 2, N, H});
        const auto act = required_like<Device>(act_obj, "act", false, grad_states, "grad_states", {L, N, 4 * H});
        const auto w_hh = required_like<Device>(w_hh_obj, "w_hh", false, grad_states, "grad_states", {4 * H, H});
        auto grad_gates =
            required_like<Device>(grad_gates_obj, "grad_gates", true, grad_states, "grad_states", {L, N, 4 * H});
        auto grad_h = required_like<Device>(grad_h_obj, "grad_h", true, grad_states, "grad_states", {N, H});
        auto grad_c = required_like<Device>(grad_c_obj, "grad_c", true, grad_states, "grad_states", {N, H});
        require_disjoint_arrays<Device::Value>(
            {{get(grad_gates), "grad_gates"}, {get(grad_h), "grad_h"}, {get(grad_c), "grad_c"}},
            {{&grad_states, "grad_states"}, {get(states), "states"}, {get(act), "act"}, {get(w_hh), "w_hh"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *gs = cptr<T>(grad_states), *st = cptr_or_null<T>(states), *a = cptr_or_null<T>(act);
          const T* w = cptr_or_null<T>(w_hh);
          T *gg = ptr_or_null<T>(grad_gates), *gh = ptr_or_null<T>(grad_h), *gc = ptr_or_null<T>(grad_c);
          Device::launch(grad_states,
                         [&] { dev::lstm_sequence_backward(gs, a, st, w, L, N, H, reverse, gg, gh, gc); });
        });
      },
      py::arg("grad_states"), py::arg("states"), py::arg("act"), py::arg("w_hh"), py::arg("grad_gates"),
      py::arg("grad_h"), py::arg("grad_c"), py::arg("reverse"),
      "BPTT through lstm_sequence_forward, last step first: grad_states (2L + 2, N, H) the gradient of states (the "
      "rows of h0, c0 and every c but c_n ignored), act (L, N, 4H) the activated gates. Writes grad_gates (L, N, 4H), "
      "the pre-activation gradients; grad_h (N, H) comes in as the gradient reaching h_n from beyond the sequence "
      "and leaves as h0's, grad_c comes in as c_n's and leaves as c0's.");
  m.def(
      "gru_sequence_forward",
      [](py::handle gates_x_obj, py::handle w_hh_obj, py::handle bias_hh_obj, py::handle states_obj,
         py::handle act_obj, py::handle scratch_obj, bool reverse) {
        Array gates_x = Device::input(gates_x_obj, "gates_x");
        const Float dtype = require_float(gates_x, "gates_x");
        const SequenceSizes size = sequence_of(gates_x, "gates_x", 3);
        const int64_t L = size.L, N = size.N, H = size.H;
        const auto w_hh = required_like<Device>(w_hh_obj, "w_hh", false, gates_x, "gates_x", {3 * H, H});
        const auto bias_hh = optional_like<Device>(bias_hh_obj, "bias_hh", false, gates_x, "gates_x", {3 * H});
        auto states = required_like<Device>(states_obj, "states", true, gates_x, "gates_x", {L + 1, N, H});
        auto act = required_like<Device>(act_obj, "act", true, gates_x, "gates_x", {L, N, 4 * H});
        auto scratch = required_like<Device>(scratch_obj, "scratch", true, gates_x, "gates_x", {N, 3 * H});
        require_disjoint_arrays<Device::Value>(
            {{get(states), "states"}, {get(act), "act"}, {get(scratch), "scratch"}},
            {{&gates_x, "gates_x"}, {get(w_hh), "w_hh"}, {get(bias_hh), "bias_hh"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *gx = cptr<T>(gates_x), *w = cptr_or_null<T>(w_hh), *b = cptr_or_null<T>(bias_hh);
          T *st = ptr_or_null<T>(states), *a = ptr_or_null<T>(act), *sc = ptr_or_null<T>(scratch);
          Device::launch(gates_x, [&] { dev::gru_sequence_forward(gx, w, b, L, N, H, reverse, st, a, sc); });
        });
      },
      py::arg("gates_x"), py::arg("w_hh"), py::arg("bias_hh"), py::arg("states"), py::arg("act"),
      py::arg("scratch"), py::arg("reverse"),
      "Every step of one GRU layer and direction: gates_x (L, N, 3H) the input projections with b_ih, w_hh (3H, H), "
      "bias_hh (3H) or None, states (L + 1, N, H) with h0 in its row (forward 0, reverse L), scratch (N, 3H) for a "
      "step's h_prev @ w_hh^T. r, z = sigmoid, n = tanh(x_n + r * (h_n + b_hn)), h = (1 - z) * n + z * h_prev; "
      "writes every step's h into states and act (L, N, 4H): r, z, n and h_n + b_hn.");
  m.def(
      "gru_sequence_backward",
      [](py::handle grad_states_obj, py::handle states_obj, py::handle act_obj, py::handle w_hh_obj,
         py::handle grad_gates_x_obj, py::handle grad_gates_h_obj, py::handle grad_h_obj, bool reverse) {
        Array grad_states = Device::input(grad_states_obj, "grad_states");
        const Float dtype = require_float(grad_states, "grad_states");
        const int64_t L = steps_of_states(grad_states, "grad_states", false);
        const int64_t N = extent(grad_states, 1), H = extent(grad_states, 2);
        require_blas_int<Device>(3 * H, "grad_states");
        require_blas_int<Device>(N, "grad_states");
        const auto states = required_like<Device>(states_obj, "states", false, grad_states, "grad_states",
                                                  {L + 1, N, H});
        const auto act = required_like<Device>(act_obj, "act", false, grad_states, "grad_states", {L, N, 4 * H});
        const auto w_hh = required_like<Device>(w_hh_obj, "w_hh", false, grad_states, "grad_states", {3 * H, H});
        auto grad_gates_x = required_like<Device>(grad_gates_x_obj, "grad_gates_x", true, grad_states,
                                                  "grad_states", {L, N, 3 * H});
        auto grad_gates_h = required_like<Device>(grad_gates_h_obj, "grad_gates_h", true, grad_states,
                                                  "grad_states", {L, N, 3 * H});
        auto grad_h = required_like<Device>(grad_h_obj, "grad_h", true, grad_states, "grad_states", {N, H});
        require_disjoint_arrays<Device::Value>(
            {{get(grad_gates_x), "grad_gates_x"}, {get(grad_gates_h), "grad_gates_h"}, {get(grad_h), "grad_h"}},
            {{&grad_states, "grad_states"}, {get(states), "states"}, {get(act), "act"}, {get(w_hh), "w_hh"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *gs = cptr<T>(grad_states), *st = cptr_or_null<T>(states), *a = cptr_or_null<T>(act);
          const T* w = cptr_or_null<T>(w_hh);
          T *ggx = ptr_or_null<T>(grad_gates_x), *ggh = ptr_or_null<T>(grad_gates_h), *gh = ptr_or_null<T>(grad_h);
          Device::launch(grad_states,
                         [&] { dev::gru_sequence_backward(gs, a, st, w, L, N, H, reverse, ggx, ggh, gh); });
        });
      },
      py::arg("grad_states"), py::arg("states"), py::arg("act"), py::arg("w_hh"), py::arg("grad_gates_x"),
      py::arg("grad_gates_h"), py::arg("grad_h"), py::arg("reverse"),
      "BPTT through gru_sequence_forward, last step first: grad_states (L + 1, N, H) the gradient of states (h0's "
      "row ignored), act (L, N, 4H). Writes grad_gates_x and grad_gates_h (L, N, 3H), the pre-activation gradients "
      "of the input and recurrent projections; grad_h (N, H) comes in as the gradient reaching h_n from beyond the "
      "sequence and leaves as h0's.");
  m.def(
      "rnn_sequence_forward",
      [](py::handle gates_obj, py::handle w_hh_obj, py::handle states_obj, py::handle nonlinearity_obj,
         bool reverse) {
        Array gates = Device::output(gates_obj, "gates");
        const Float dtype = require_float(gates, "gates");
        const SequenceSizes size = sequence_of(gates, "gates", 1);
        const int64_t L = size.L, N = size.N, H = size.H;
        const auto w_hh = required_like<Device>(w_hh_obj, "w_hh", false, gates, "gates", {H, H});
        auto states = required_like<Device>(states_obj, "states", true, gates, "gates", {L + 1, N, H});
        require_disjoint_arrays<Device::Value>({{&gates, "gates"}, {get(states), "states"}}, {{get(w_hh), "w_hh"}});
        const RnnNonlinearity kind = parse_nonlinearity(nonlinearity_obj);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* w = cptr_or_null<T>(w_hh);
          T *g = ptr<T>(gates), *st = ptr_or_null<T>(states);
          Device::launch(gates, [&] { dev::rnn_sequence_forward(w, L, N, H, reverse, kind, g, st); });
        });
      },
      py::arg("gates"), py::arg("w_hh"), py::arg("states"), py::arg("nonlinearity"), py::arg("reverse"),
      "Every step of one Elman RNN layer and direction: gates (L, N, H) the input projections with both biases, "
      "w_hh (H, H), states (L + 1, N, H) with h0 in its row (forward 0, reverse L). Each step adds h_prev @ w_hh^T "
      "to its gates and writes h = tanh or relu of the sum into states.");
  m.def(
      "rnn_sequence_backward",
      [](py::handle grad_states_obj, py::handle states_obj, py::handle w_hh_obj, py::handle grad_gates_obj,
         py::handle grad_h_obj, py::handle nonlinearity_obj, bool reverse) {
        Array grad_states = Device::input(grad_states_obj, "grad_states");
        const Float dtype = require_float(grad_states, "grad_states");
        const int64_t L = steps_of_states(grad_states, "grad_states", false);
        const int64_t N = extent(grad_states, 1), H = extent(grad_states, 2);
        require_blas_int<Device>(H, "grad_states");
        require_blas_int<Device>(N, "grad_states");
        const auto states = required_like<Device>(states_obj, "states", false, grad_states, "grad_states",
                                                  {L + 1, N, H});
        const auto w_hh = required_like<Device>(w_hh_obj, "w_hh", false, grad_states, "grad_states", {H, H});
        auto grad_gates =
            required_like<Device>(grad_gates_obj, "grad_gates", true, grad_states, "grad_states", {L, N, H});
        auto grad_h = required_like<Device>(grad_h_obj, "grad_h", true, grad_states, "grad_states", {N, H});
        require_disjoint_arrays<Device::Value>(
            {{get(grad_gates), "grad_gates"}, {get(grad_h), "grad_h"}},
            {{&grad_states, "grad_states"}, {get(states), "states"}, {get(w_hh), "w_hh"}});
        const RnnNonlinearity kind = parse_nonlinearity(nonlinearity_obj);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *gs = cptr<T>(grad_states), *st = cptr_or_null<T>(states), *w = cptr_or_null<T>(w_hh);
          T *gg = ptr_or_null<T>(grad_gates), *gh = ptr_or_null<T>(grad_h);
          Device::launch(grad_states,
                         [&] { dev::rnn_sequence_backward(gs, st, w, L, N, H, reverse, kind, gg, gh); });
        });
      },
      py::arg("grad_states"), py::arg("states"), py::arg("w_hh"), py::arg("grad_gates"), py::arg("grad_h"),
      py::arg("nonlinearity"), py::arg("reverse"),
      "BPTT through rnn_sequence_forward, last step first: grad_states (L + 1, N, H) the gradient of states (h0's "
      "row ignored). Writes grad_gates (L, N, H), the pre-activation gradients; grad_h (N, H) comes in as the "
      "gradient reaching h_n from beyond the sequence and leaves as h0's.");
}

}  // namespace nnx::bind
