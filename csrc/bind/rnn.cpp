// Bindings of the recurrent cells (csrc/core/rnn.h): every array checked by name (dtype, shape, device, aliasing),
// then the kernel with the GIL released. Compiled once per device (csrc/bind/device.h). The in-place pairs the
// kernels allow (act = gates for the LSTM forward, grad_c_prev = grad_c, grad_h_prev = grad_h, h = gates for the
// RNN forward) must be the same array exactly; any other overlap is refused.
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

// `out` may be exactly `in` (in place) but must not overlap it partially.
template <class A>
void require_same_or_disjoint(const A& out, const char* out_name, const A& in, const char* in_name) {
  if (address(out) == address(in)) return;  // shape and dtype are checked by the caller
  require_no_overlap(out, out_name, in, in_name);
}

// (N, H) from an (N, k * H) array's shape.
inline int64_t hidden_of(int64_t width, int64_t k, const char* name) {
  if (width % k != 0)
    throw py::value_error(std::string(name) + " must have a last dimension divisible by " + std::to_string(k) +
                          " (the gates), got " + std::to_string(width));
  return width / k;
}

}  // namespace

void bind_rnn(py::module_& m) {
  using Array = Device::Array;
  m.def(
      "lstm_cell_forward",
      [](py::handle gates_obj, py::handle c_prev_obj, py::handle h_obj, py::handle c_obj, py::handle act_obj) {
        Array gates = Device::input(gates_obj, "gates");
        const Float dtype = require_float(gates, "gates");
        require_ndim(gates, "gates", 2);
        const int64_t N = extent(gates, 0), H = hidden_of(extent(gates, 1), 4, "gates");
        const auto c_prev = required_like<Device>(c_prev_obj, "c_prev", false, gates, "gates", {N, H});
        auto h = required_like<Device>(h_obj, "h", true, gates, "gates", {N, H});
        auto c = required_like<Device>(c_obj, "c", true, gates, "gates", {N, H});
        auto act = required_like<Device>(act_obj, "act", true, gates, "gates", {N, 4 * H});
        require_disjoint_arrays<Device::Value>({{get(h), "h"}, {get(c), "c"}}, {{&gates, "gates"}, {get(c_prev), "c_prev"}});
        require_disjoint_arrays<Device::Value>({{get(act), "act"}}, {{get(c_prev), "c_prev"}, {get(h), "h"}, {get(c), "c"}});
        require_same_or_disjoint(*get(act), "act", gates, "gates");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *g = cptr<T>(gates), *cp = cptr_or_null<T>(c_prev);
          T *ho = ptr_or_null<T>(h), *co = ptr_or_null<T>(c), *a = ptr_or_null<T>(act);
          Device::launch(gates, [&] { dev::lstm_cell_forward(g, cp, N, H, ho, co, a); });
        });
      },
      py::arg("gates"), py::arg("c_prev"), py::arg("h"), py::arg("c"), py::arg("act"),
      "One LSTM step: gates (N, 4H) the summed pre-activations (i, f, g, o), c_prev (N, H); writes c = f * c_prev + "
      "i * g, h = o * tanh(c) and act (N, 4H) the activated gates (act may be gates itself).");
  m.def(
      "lstm_cell_backward",
      [](py::handle grad_out_obj, py::handle grad_h_obj, py::handle grad_c_obj, py::handle act_obj,
         py::handle c_prev_obj, py::handle c_obj, py::handle grad_gates_obj, py::handle grad_c_prev_obj) {
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        require_ndim(grad_out, "grad_out", 2);
        const int64_t N = extent(grad_out, 0), H = extent(grad_out, 1);
        const auto grad_h = required_like<Device>(grad_h_obj, "grad_h", false, grad_out, "grad_out", {N, H});
        const auto grad_c = required_like<Device>(grad_c_obj, "grad_c", false, grad_out, "grad_out", {N, H});
        const auto act = required_like<Device>(act_obj, "act", false, grad_out, "grad_out", {N, 4 * H});
        const auto c_prev = required_like<Device>(c_prev_obj, "c_prev", false, grad_out, "grad_out", {N, H});
        const auto c = required_like<Device>(c_obj, "c", false, grad_out, "grad_out", {N, H});
        auto grad_gates = required_like<Device>(grad_gates_obj, "grad_gates", true, grad_out, "grad_out", {N, 4 * H});
        auto grad_c_prev = required_like<Device>(grad_c_prev_obj, "grad_c_prev", true, grad_out, "grad_out", {N, H});
        const std::vector<Named> inputs = {{&grad_out, "grad_out"}, {get(grad_h), "grad_h"}, {get(grad_c), "grad_c"},
                                           {get(act), "act"}, {get(c_prev), "c_prev"}, {get(c), "c"}};
        require_disjoint_arrays<Device::Value>({{get(grad_gates), "grad_gates"}}, inputs);
        require_disjoint_arrays<Device::Value>(
            {{get(grad_c_prev), "grad_c_prev"}},
            {{&grad_out, "grad_out"}, {get(grad_h), "grad_h"}, {get(act), "act"}, {get(c_prev), "c_prev"},
             {get(c), "c"}, {get(grad_gates), "grad_gates"}});
        require_same_or_disjoint(*get(grad_c_prev), "grad_c_prev", *get(grad_c), "grad_c");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *go = cptr<T>(grad_out), *gh = cptr_or_null<T>(grad_h), *gc = cptr_or_null<T>(grad_c);
          const T *a = cptr_or_null<T>(act), *cp = cptr_or_null<T>(c_prev), *cc = cptr_or_null<T>(c);
          T *gg = ptr_or_null<T>(grad_gates), *gcp = ptr_or_null<T>(grad_c_prev);
          Device::launch(grad_out, [&] { dev::lstm_cell_backward(go, gh, gc, a, cp, cc, N, H, gg, gcp); });
        });
      },
      py::arg("grad_out"), py::arg("grad_h"), py::arg("grad_c"), py::arg("act"), py::arg("c_prev"), py::arg("c"),
      py::arg("grad_gates"), py::arg("grad_c_prev"),
      "One LSTM step backward: dh = grad_out + grad_h, dc = grad_c + dh * o * tanh'(c); writes grad_gates (N, 4H), "
      "the pre-activation gradients, and grad_c_prev = dc * f (which may be grad_c itself).");
  m.def(
      "gru_cell_forward",
      [](py::handle gates_x_obj, py::handle gates_h_obj, py::handle bias_hh_obj, py::handle h_prev_obj,
         py::handle h_obj, py::handle act_obj) {
        Array gates_x = Device::input(gates_x_obj, "gates_x");
        const Float dtype = require_float(gates_x, "gates_x");
        require_ndim(gates_x, "gates_x", 2);
        const int64_t N = extent(gates_x, 0), H = hidden_of(extent(gates_x, 1), 3, "gates_x");
        const auto gates_h = required_like<Device>(gates_h_obj, "gates_h", false, gates_x, "gates_x", {N, 3 * H});
        const auto bias_hh = optional_like<Device>(bias_hh_obj, "bias_hh", false, gates_x, "gates_x", {3 * H});
        const auto h_prev = required_like<Device>(h_prev_obj, "h_prev", false, gates_x, "gates_x", {N, H});
        auto h = required_like<Device>(h_obj, "h", true, gates_x, "gates_x", {N, H});
        auto act = required_like<Device>(act_obj, "act", true, gates_x, "gates_x", {N, 4 * H});
        require_disjoint_arrays<Device::Value>(
            {{get(h), "h"}, {get(act), "act"}},
            {{&gates_x, "gates_x"}, {get(gates_h), "gates_h"}, {get(bias_hh), "bias_hh"}, {get(h_prev), "h_prev"}});
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *gx = cptr<T>(gates_x), *gh = cptr_or_null<T>(gates_h), *b = cptr_or_null<T>(bias_hh);
          const T* hp = cptr_or_null<T>(h_prev);
          T *ho = ptr_or_null<T>(h), *a = ptr_or_null<T>(act);
          Device::launch(gates_x, [&] { dev::gru_cell_forward(gx, gh, b, hp, N, H, ho, a); });
        });
      },
      py::arg("gates_x"), py::arg("gates_h"), py::arg("bias_hh"), py::arg("h_prev"), py::arg("h"), py::arg("act"),
      "One GRU step: gates_x (N, 3H) = x @ W_ih^T + b_ih, gates_h (N, 3H) = h_prev @ W_hh^T, bias_hh (3H) or None; "
      "r, z = sigmoid, n = tanh(x_n + r * (h_n + b_hn)), h = (1 - z) * n + z * h_prev; act (N, 4H) gets r, z, n "
      "and h_n + b_hn.");
  m.def(
      "gru_cell_backward",
      [](py::handle grad_out_obj, py::handle grad_h_obj, py::handle act_obj, py::handle h_prev_obj,
         py::handle grad_gates_x_obj, py::handle grad_gates_h_obj, py::handle grad_h_prev_obj) {
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        require_ndim(grad_out, "grad_out", 2);
        const int64_t N = extent(grad_out, 0), H = extent(grad_out, 1);
        const auto grad_h = required_like<Device>(grad_h_obj, "grad_h", false, grad_out, "grad_out", {N, H});
        const auto act = required_like<Device>(act_obj, "act", false, grad_out, "grad_out", {N, 4 * H});
        const auto h_prev = required_like<Device>(h_prev_obj, "h_prev", false, grad_out, "grad_out", {N, H});
        auto grad_gates_x =
            required_like<Device>(grad_gates_x_obj, "grad_gates_x", true, grad_out, "grad_out", {N, 3 * H});
        auto grad_gates_h =
            required_like<Device>(grad_gates_h_obj, "grad_gates_h", true, grad_out, "grad_out", {N, 3 * H});
        auto grad_h_prev = required_like<Device>(grad_h_prev_obj, "grad_h_prev", true, grad_out, "grad_out", {N, H});
        require_disjoint_arrays<Device::Value>(
            {{get(grad_gates_x), "grad_gates_x"}, {get(grad_gates_h), "grad_gates_h"}},
            {{&grad_out, "grad_out"}, {get(grad_h), "grad_h"}, {get(act), "act"}, {get(h_prev), "h_prev"},
             {get(grad_h_prev), "grad_h_prev"}});
        require_disjoint_arrays<Device::Value>(
            {{get(grad_h_prev), "grad_h_prev"}},
            {{&grad_out, "grad_out"}, {get(act), "act"}, {get(h_prev), "h_prev"}});
        require_same_or_disjoint(*get(grad_h_prev), "grad_h_prev", *get(grad_h), "grad_h");
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *go = cptr<T>(grad_out), *gh = cptr_or_null<T>(grad_h), *a = cptr_or_null<T>(act);
          const T* hp = cptr_or_null<T>(h_prev);
          T *ggx = ptr_or_null<T>(grad_gates_x), *ggh = ptr_or_null<T>(grad_gates_h);
          T* ghp = ptr_or_null<T>(grad_h_prev);
          Device::launch(grad_out, [&] { dev::gru_cell_backward(go, gh, a, hp, N, H, ggx, ggh, ghp); });
        });
      },
      py::arg("grad_out"), py::arg("grad_h"), py::arg("act"), py::arg("h_prev"), py::arg("grad_gates_x"),
      py::arg("grad_gates_h"), py::arg("grad_h_prev"),
      "One GRU step backward from dh = grad_out + grad_h: grad_gates_x, grad_gates_h (N, 3H) the pre-activation "
      "gradients of the two projections, grad_h_prev = dh * z (may be grad_h itself; the caller adds grad_gates_h @ "
      "W_hh).");
  m.def(
      "rnn_cell_forward",
      [](py::handle gates_obj, py::handle h_obj, py::handle nonlinearity_obj) {
        Array gates = Device::input(gates_obj, "gates");
        const Float dtype = require_float(gates, "gates");
        require_ndim(gates, "gates", 2);
        const int64_t N = extent(gates, 0), H = extent(gates, 1);
        auto h = required_like<Device>(h_obj, "h", true, gates, "gates", {N, H});
        require_same_or_disjoint(*get(h), "h", gates, "gates");
        const RnnNonlinearity kind = parse_nonlinearity(nonlinearity_obj);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* g = cptr<T>(gates);
          T* ho = ptr_or_null<T>(h);
          Device::launch(gates, [&] { dev::rnn_cell_forward(g, N * H, kind, ho); });
        });
      },
      py::arg("gates"), py::arg("h"), py::arg("nonlinearity"),
      "One Elman RNN step: h = tanh(gates) or relu(gates), gates (N, H) the summed pre-activations (h may be gates).");
  m.def(
      "rnn_cell_backward",
      [](py::handle grad_out_obj, py::handle grad_h_obj, py::handle h_obj, py::handle grad_gates_obj,
         py::handle nonlinearity_obj) {
        Array grad_out = Device::input(grad_out_obj, "grad_out");
        const Float dtype = require_float(grad_out, "grad_out");
        require_ndim(grad_out, "grad_out", 2);
        const int64_t N = extent(grad_out, 0), H = extent(grad_out, 1);
        const auto grad_h = required_like<Device>(grad_h_obj, "grad_h", false, grad_out, "grad_out", {N, H});
        const auto h = required_like<Device>(h_obj, "h", false, grad_out, "grad_out", {N, H});
        auto grad_gates = required_like<Device>(grad_gates_obj, "grad_gates", true, grad_out, "grad_out", {N, H});
        require_disjoint_arrays<Device::Value>({{get(grad_gates), "grad_gates"}},
                                               {{&grad_out, "grad_out"}, {get(grad_h), "grad_h"}, {get(h), "h"}});
        const RnnNonlinearity kind = parse_nonlinearity(nonlinearity_obj);
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T *go = cptr<T>(grad_out), *gh = cptr_or_null<T>(grad_h), *ho = cptr_or_null<T>(h);
          T* gg = ptr_or_null<T>(grad_gates);
          Device::launch(grad_out, [&] { dev::rnn_cell_backward(go, gh, ho, N * H, kind, gg); });
        });
      },
      py::arg("grad_out"), py::arg("grad_h"), py::arg("h"), py::arg("grad_gates"), py::arg("nonlinearity"),
      "One Elman RNN step backward: grad_gates = (grad_out + grad_h) * act'(gates), read from h (the forward's "
      "output).");
}

}  // namespace nnx::bind
