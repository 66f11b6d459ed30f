// Bindings of the loss kernels (csrc/core/losses.h): fused softmax cross-entropy, mse, l1 and
// bce-with-logits. Validation (dtypes, shapes, aliasing, reduction names, class-index ranges), then the kernel with
// the GIL released. Compiled once per device (csrc/bind/device.h). The cross-entropy kernels check every target
// they read as well. One difference, forced by the device: on a GPU the class indices live in device memory, so
// only the kernel checks their range and an out-of-range target raises IndexError at the next synchronisation.
#include <string>

#include "bind/device.h"
#include "core/losses.h"

namespace nnx::bind {

namespace {

Reduction parse_reduction(const std::string& name) {
  require_choice(name, "reduction", {"mean", "sum", "none"});
  if (name == "mean") return Reduction::mean;
  return name == "sum" ? Reduction::sum : Reduction::none;
}

void require_label_smoothing(double value) {
  if (!(value >= 0.0 && value <= 1.0))
    throw py::value_error("label_smoothing must be in [0, 1], got " + std::to_string(value));
}

// loss / grad_loss: shape () for mean and sum, `per_element`'s for none.
template <class A>
void require_loss_shape(const A& a, const char* name, bool none, const A& per_element, const char* per_element_name) {
  if (none)
    require_same_shape(a, name, per_element, per_element_name);
  else
    require_shape(a, name, {});
}

std::string bad_target_message(int64_t C, int64_t ignore_index, BadIndex bad) {
  return "target must hold class indices in [0, " + std::to_string(C) + ") or ignore_index (" +
         std::to_string(ignore_index) + "), got " + std::to_string(bad.value) + " at position " +
         std::to_string(bad.position);
}

#ifndef NNX_BIND_CUDA
// Every target must be a class index in [0, C) or ignore_index. Host arrays only: the values are read
// here, before the kernel, so that a bad target leaves the outputs untouched.
void require_class_indices(const py::array& target, int64_t C, int64_t ignore_index) {
  const int64_t* t = cptr<int64_t>(target);
  for (py::ssize_t i = 0; i < target.size(); ++i)
    if (t[i] != ignore_index && (t[i] < 0 || t[i] >= C))
      throw py::index_error(bad_target_message(C, ignore_index, BadIndex{i, t[i]}));
}
#endif

// The check above cannot stop another Python thread from changing the targets once the GIL is released:
// the CPU kernels check every target they read and return the first bad one, raised here after the
// kernel (the outputs are then partly written). A CUDA kernel reports through the device's flag instead
// (IndexError at the next synchronisation) and returns no BadIndex.
void raise_if_kernel_found_bad(BadIndex bad, int64_t C, int64_t ignore_index) {
  if (bad) throw py::index_error(bad_target_message(C, ignore_index, bad) + kChangedDuringCall);
}

// Shared checks of logits(N,C) and target(N,) int64; returns the float dtype.
template <class A>
Float check_logits_and_target(const A& logits, const A& target, int64_t ignore_index, double label_smoothing) {
  const Float dtype = require_float(logits, "logits");
  require_ndim(logits, "logits", 2);
  const int64_t N = extent(logits, 0), C = extent(logits, 1);
  if (C < 1 && N > 0) throw py::value_error("logits must have at least one class, got shape " + shape_string(logits));
  require_int64(target, "target");
  require_shape(target, "target", {N});
  require_label_smoothing(label_smoothing);
  require_same_device(target, "target", logits, "logits");
#ifndef NNX_BIND_CUDA
  require_class_indices(target, C, ignore_index);
#endif
  return dtype;
}

// Checks input/target/pos_weight; returns the float dtype. pos_weight's dtype and shape are checked once
// the input is known to have a last axis.
template <class A, class Optional>
Float check_elementwise_inputs(const A& input, const A& target, const Optional& pos_weight) {
  const Float dtype = require_float(input, "input");
  require_dtype_like(target, "target", input, "input");
  require_same_shape(target, "target", input, "input");
  require_same_device(target, "target", input, "input");
  if (pos_weight) {
    require_dtype_like(*pos_weight, "pos_weight", input, "input");
    if (ndim_of(input) < 1)
      throw py::value_error("pos_weight needs an input with a last axis to broadcast over, got input of shape ()");
    require_shape(*pos_weight, "pos_weight", {extent(input, ndim_of(input) - 1)});
    require_same_device(*pos_weight, "pos_weight", input, "input");
  }
  return dtype;
}

template <class A>
int64_t last_axis(const A& input) { return ndim_of(input) ? extent(input, ndim_of(input) - 1) : 1; }

enum class Elementwise { mse, l1, bce };

}  // namespace

void bind_losses(py::module_& m) {
  using Array = Device::Array;
  using Named = NamedArray<Device::Value>;

  static const std::string cross_entropy_doc =
      std::string(
          "Softmax + cross-entropy in one pass per row; logsumexp(N,) saved for the backward; grad_logits(N,C), "
          "when given, receives dloss/dlogits for an upstream gradient of 1.") +
      (Device::cuda ? " A target outside [0, C) other than ignore_index raises IndexError at the next "
                      "synchronisation."
                    : "");
  m.def(
      "cross_entropy_forward",
      [](py::handle logits_obj, py::handle target_obj, py::handle loss_obj, py::handle logsumexp_obj,
         py::object grad_logits_obj, const std::string& reduction_name, int64_t ignore_index, double label_smoothing) {
        Array logits = Device::input(logits_obj, "logits");
        Array target = Device::input(target_obj, "target");
        Array loss = Device::output(loss_obj, "loss");
        Array logsumexp = Device::output(logsumexp_obj, "logsumexp");
        const Reduction reduction = parse_reduction(reduction_name);
        const Float dtype = check_logits_and_target(logits, target, ignore_index, label_smoothing);
        const int64_t N = extent(logits, 0), C = extent(logits, 1);
        require_dtype_like(loss, "loss", logits, "logits");
        require_dtype_like(logsumexp, "logsumexp", logits, "logits");
        require_loss_shape(loss, "loss", reduction == Reduction::none, target, "target");
        require_shape(logsumexp, "logsumexp", {N});
        Device::Optional grad_logits = Device::optional_output(grad_logits_obj, "grad_logits");
        if (grad_logits) {
          require_dtype_like(*grad_logits, "grad_logits", logits, "logits");
          require_shape(*grad_logits, "grad_logits", {N, C});
          require_same_device(*grad_logits, "grad_logits", logits, "logits");
        }
        require_same_device(loss, "loss", logits, "logits");
        require_same_device(logsumexp, "logsumexp", logits, "logits");
        // Outputs listed so that each clash is reported as before, e.g. "logsumexp must not share memory with loss".
        require_disjoint_arrays<Device::Value>(
            {Named{get(grad_logits), "grad_logits"}, Named{&logsumexp, "logsumexp"}, Named{&loss, "loss"}},
            {Named{&logits, "logits"}, Named{&target, "target"}});
        const int64_t* t = cptr<int64_t>(target);
        BadIndex bad;
        with_float(dtype, [&](auto zero) {
          using T = decltype(zero);
          const T* x = cptr<T>(logits);
          T *out = ptr<T>(loss), *lse = ptr<T>(logsumexp), *grad = ptr_or_null<T>(grad_logits);
          bad = launch_reading_indices(logits, [&] {
            return dev::cross_entropy_forward(x, t, N, C, out, lse, grad, reduction, ignore_index, label_smoothing);
          });
        });
        raise_if_kernel_found_bad(bad, C, ignore_index);
      },
      py::arg("logits"), py::arg("target"), py::arg("loss"), py::arg("logsumexp"), py::arg("grad_logits") = py::none(),
      py::arg("reduction") = "mean", py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
      cross_entropy_doc.c_str());

  // ---- mse / l1 / bce_with_logits: input and target of one shape ----------------------------------
  static const auto elementwise_forward = [](Elementwise kind, py::handle input_obj, py::handle target_obj,
                                             py::handle loss_obj, const std::string& reduction_name,
                                             py::handle pos_weight_obj) {
    Array input = Device::input(input_obj, "input");
    Array target = Device::input(target_obj, "target");
    Array loss = Device::output(loss_obj, "loss");
    const Device::Optional pos_weight = Device::optional_input(pos_weight_obj, "pos_weight");
    const Reduction reduction = parse_reduction(reduction_name);
    const Float dtype = check_elementwise_inputs(input, target, pos_weight);
    require_dtype_like(loss, "loss", input, "input");
    require_loss_shape(loss, "loss", reduction == Reduction::none, input, "input");
    require_same_device(loss, "loss", input, "input");
    require_no_overlap(loss, "loss", input, "input");
    require_no_overlap(loss, "loss", target, "target");
    if (pos_weight) require_no_overlap(loss, "loss", *pos_weight, "pos_weight");
    const int64_t n = size_of(input), C = last_axis(input);
    with_float(dtype, [&](auto zero) {
      using T = decltype(zero);
      const T *x = cptr<T>(input), *t = cptr<T>(target), *pw = cptr_or_null<T>(pos_weight);
      T* out = ptr<T>(loss);
      Device::launch(input, [&] {
        if (kind == Elementwise::mse) dev::mse_loss_forward(x, t, n, out, reduction);
        if (kind == Elementwise::l1) dev::l1_loss_forward(x, t, n, out, reduction);
        if (kind == Elementwise::bce) dev::bce_with_logits_forward(x, t, pw, n, C, out, reduction);
      });
    });
  };
  static const auto elementwise_backward = [](Elementwise kind, py::handle grad_loss_obj, py::handle input_obj,
                                              py::handle target_obj, py::handle grad_input_obj,
                                              const std::string& reduction_name, py::handle pos_weight_obj) {
    Array grad_loss = Device::input(grad_loss_obj, "grad_loss");
    Array input = Device::input(input_obj, "input");
    Array target = Device::input(target_obj, "target");
    Array grad_input = Device::output(grad_input_obj, "grad_input");
    const Device::Optional pos_weight = Device::optional_input(pos_weight_obj, "pos_weight");
    const Reduction reduction = parse_reduction(reduction_name);
    const Float dtype = check_elementwise_inputs(input, target, pos_weight);
    require_dtype_like(grad_loss, "grad_loss", input, "input");
    require_dtype_like(grad_input, "grad_input", input, "input");
    require_loss_shape(grad_loss, "grad_loss", reduction == Reduction::none, input, "input");
    require_same_shape(grad_input, "grad_input", input, "input");
    require_same_device(grad_loss, "grad_loss", input, "input");
    require_same_device(grad_input, "grad_input", input, "input");
    require_no_overlap(grad_input, "grad_input", grad_loss, "grad_loss");
    require_no_overlap(grad_input, "grad_input", input, "input");
    require_no_overlap(grad_input, "grad_input", target, "target");
    if (pos_weight) require_no_overlap(grad_input, "grad_input", *pos_weight, "pos_weight");
    const int64_t n = size_of(input), C = last_axis(input);
    with_float(dtype, [&](auto zero) {
      using T = decltype(zero);
      const T *g = cptr<T>(grad_loss), *x = cptr<T>(input), *t = cptr<T>(target), *pw = cptr_or_null<T>(pos_weight);
      T* out = ptr<T>(grad_input);
      Device::launch(input, [&] {
        if (kind == Elementwise::mse) dev::mse_loss_backward(g, x, t, n, out, reduction);
        if (kind == Elementwise::l1) dev::l1_loss_backward(g, x, t, n, out, reduction);
        if (kind == Elementwise::bce) dev::bce_with_logits_backward(g, x, t, pw, n, C, out, reduction);
      });
    });
  };
  const auto forward = [&m](const char* name, Elementwise kind, const char* doc) {
    m.def(
        name,
        [kind](py::handle input, py::handle target, py::handle loss, const std::string& reduction) {
          elementwise_forward(kind, input, target, loss, reduction, py::none());
        },
        py::arg("input"), py::arg("target"), py::arg("loss"), py::arg("reduction") = "mean", doc);
  };
  const auto backward = [&m](const char* name, Elementwise kind, const char* doc) {
    m.def(
        name,
        [kind](py::handle grad_loss, py::handle input, py::handle target, py::handle grad_input,
               const std::string& reduction) {
          elementwise_backward(kind, grad_loss, input, target, grad_input, reduction, py::none());
        },
        py::arg("grad_loss"), py::arg("input"), py::arg("target"), py::arg("grad_input"),
        py::arg("reduction") = "mean", doc);
  };
  forward("mse_loss_forward", Elementwise::mse, "loss = mean/sum/none of (input - target)^2.");
  backward("mse_loss_backward", Elementwise::mse, "grad_input = 2 (input - target) * grad_loss (/ n for mean).");
  forward("l1_loss_forward", Elementwise::l1, "loss = mean/sum/none of |input - target|.");
  backward("l1_loss_backward", Elementwise::l1, "grad_input = sign(input - target) * grad_loss (/ n for mean).");
  m.def(
      "bce_with_logits_forward",
      [](py::handle input, py::handle target, py::handle loss, const std::string& reduction, py::object pos_weight) {
        elementwise_forward(Elementwise::bce, input, target, loss, reduction, pos_weight);
      },
      py::arg("input"), py::arg("target"), py::arg("loss"), py::arg("reduction") = "mean",
      py::arg("pos_weight") = py::none(),
      "Numerically stable binary cross-entropy on logits; pos_weight(C,) broadcasts over the last axis.");
  m.def(
      "bce_with_logits_backward",
      [](py::handle grad_loss, py::handle input, py::handle target, py::handle grad_input,
         const std::string& reduction, py::object pos_weight) {
        elementwise_backward(Elementwise::bce, grad_loss, input, target, grad_input, reduction, pos_weight);
      },
      py::arg("grad_loss"), py::arg("input"), py::arg("target"), py::arg("grad_input"),
      py::arg("reduction") = "mean", py::arg("pos_weight") = py::none(),
      "grad_input = ((1 + (pos_weight - 1) target) sigmoid(input) - pos_weight target) * grad_loss (/ n for mean).");
}

}  // namespace nnx::bind
