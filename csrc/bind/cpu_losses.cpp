// Bindings for the loss kernels: argument validation (dtypes, shapes, aliasing, reduction names,
// class-index ranges), then the kernel with the GIL released.
#include <optional>
#include <string>

#include "bind/checks.h"
#include "bind/registry.h"
#include "cpu/losses.h"

namespace nnx::bind {

namespace {

cpu::Reduction parse_reduction(const std::string& name) {
  require_choice(name, "reduction", {"mean", "sum", "none"});
  if (name == "mean") return cpu::Reduction::mean;
  return name == "sum" ? cpu::Reduction::sum : cpu::Reduction::none;
}

void require_label_smoothing(double value) {
  if (!(value >= 0.0 && value <= 1.0))
    throw py::value_error("label_smoothing must be in [0, 1], got " + std::to_string(value));
}

// loss / grad_loss: shape () for mean and sum, `per_element` for none.
void require_loss_shape(const py::array& a, const char* name, cpu::Reduction reduction, const py::array& per_element,
                        const char* per_element_name) {
  if (reduction == cpu::Reduction::none)
    require_same_shape(a, name, per_element, per_element_name);
  else
    require_shape(a, name, {});
}

// Every target must be a class index in [0, C) or ignore_index; the kernel indexes rows with it.
void require_class_indices(const py::array& target, int64_t C, int64_t ignore_index) {
  const int64_t* t = cptr<int64_t>(target);
  for (py::ssize_t i = 0; i < target.size(); ++i) {
    if (t[i] == ignore_index || (t[i] >= 0 && t[i] < C)) continue;
    throw py::index_error("target must hold class indices in [0, " + std::to_string(C) + ") or ignore_index (" +
                          std::to_string(ignore_index) + "), got " + std::to_string(t[i]) + " at position " +
                          std::to_string(i));
  }
}

// Shared checks of logits(N,C) and target(N,) int64; returns the float dtype.
Float check_logits_and_target(const py::array& logits, const py::array& target, int64_t ignore_index,
                              double label_smoothing) {
  const Float dtype = require_float(logits, "logits");
  require_ndim(logits, "logits", 2);
  const int64_t N = logits.shape(0), C = logits.shape(1);
  if (C < 1 && N > 0) throw py::value_error("logits must have at least one class, got shape " + shape_string(logits));
  require_int64(target, "target");
  require_shape(target, "target", {N});
  require_label_smoothing(label_smoothing);
  require_class_indices(target, C, ignore_index);
  return dtype;
}

// An optional input (pos_weight): absent when None, otherwise checked like any other array. Its dtype and
// shape are checked later, once the input they follow is known to have a last axis.
std::optional<py::array> optional_input(const py::object& obj, const char* name) {
  if (obj.is_none()) return std::nullopt;
  return require_array(obj, name);
}

template <class T>
const T* optional_cptr(const std::optional<py::array>& array) {
  return array ? cptr<T>(*array) : nullptr;
}

void cross_entropy_forward(py::handle logits_obj, py::handle target_obj, py::handle loss_obj,
                           py::handle logsumexp_obj, py::object grad_logits_obj, const std::string& reduction_name,
                           int64_t ignore_index, double label_smoothing) {
  py::array logits = require_array(logits_obj, "logits");
  py::array target = require_array(target_obj, "target");
  py::array loss = require_output(loss_obj, "loss");
  py::array logsumexp = require_output(logsumexp_obj, "logsumexp");
  const cpu::Reduction reduction = parse_reduction(reduction_name);
  const Float dtype = check_logits_and_target(logits, target, ignore_index, label_smoothing);
  const int64_t N = logits.shape(0), C = logits.shape(1);
  require_dtype_like(loss, "loss", logits, "logits");
  require_dtype_like(logsumexp, "logsumexp", logits, "logits");
  require_loss_shape(loss, "loss", reduction, target, "target");
  require_shape(logsumexp, "logsumexp", {N});
  const py::object grad_logits = optional_array(grad_logits_obj, "grad_logits", true, logits, "logits", {N, C});
  // Outputs listed so that each clash is reported as before, e.g. "logsumexp must not share memory with loss".
  require_disjoint({{grad_logits, "grad_logits"}, {logsumexp, "logsumexp"}, {loss, "loss"}},
                   {{logits, "logits"}, {target, "target"}});
  const int64_t* t = cptr<int64_t>(target);
  if (dtype == Float::f32) {
    const float* x = cptr<float>(logits);
    float *out = ptr<float>(loss), *lse = ptr<float>(logsumexp), *grad = output_or_null<float>(grad_logits);
    py::gil_scoped_release release;
    cpu::cross_entropy_forward(x, t, N, C, out, lse, grad, reduction, ignore_index, label_smoothing);
  } else {
    const double* x = cptr<double>(logits);
    double *out = ptr<double>(loss), *lse = ptr<double>(logsumexp), *grad = output_or_null<double>(grad_logits);
    py::gil_scoped_release release;
    cpu::cross_entropy_forward(x, t, N, C, out, lse, grad, reduction, ignore_index, label_smoothing);
  }
}

void cross_entropy_backward(py::handle grad_loss_obj, py::handle logits_obj, py::handle target_obj,
                            py::handle logsumexp_obj, py::handle grad_logits_obj, const std::string& reduction_name,
                            int64_t ignore_index, double label_smoothing) {
  py::array grad_loss = require_array(grad_loss_obj, "grad_loss");
  py::array logits = require_array(logits_obj, "logits");
  py::array target = require_array(target_obj, "target");
  py::array logsumexp = require_array(logsumexp_obj, "logsumexp");
  py::array grad_logits = require_output(grad_logits_obj, "grad_logits");
  const cpu::Reduction reduction = parse_reduction(reduction_name);
  const Float dtype = check_logits_and_target(logits, target, ignore_index, label_smoothing);
  const int64_t N = logits.shape(0), C = logits.shape(1);
  require_dtype_like(grad_loss, "grad_loss", logits, "logits");
  require_dtype_like(logsumexp, "logsumexp", logits, "logits");
  require_dtype_like(grad_logits, "grad_logits", logits, "logits");
  require_loss_shape(grad_loss, "grad_loss", reduction, target, "target");
  require_shape(logsumexp, "logsumexp", {N});
  require_shape(grad_logits, "grad_logits", {N, C});
  require_no_overlap(grad_logits, "grad_logits", grad_loss, "grad_loss");
  require_no_overlap(grad_logits, "grad_logits", logits, "logits");
  require_no_overlap(grad_logits, "grad_logits", target, "target");
  require_no_overlap(grad_logits, "grad_logits", logsumexp, "logsumexp");
  const int64_t* t = cptr<int64_t>(target);
  if (dtype == Float::f32) {
    const float *g = cptr<float>(grad_loss), *x = cptr<float>(logits), *lse = cptr<float>(logsumexp);
    float* grad = ptr<float>(grad_logits);
    py::gil_scoped_release release;
    cpu::cross_entropy_backward(g, x, t, lse, N, C, grad, reduction, ignore_index, label_smoothing);
  } else {
    const double *g = cptr<double>(grad_loss), *x = cptr<double>(logits), *lse = cptr<double>(logsumexp);
    double* grad = ptr<double>(grad_logits);
    py::gil_scoped_release release;
    cpu::cross_entropy_backward(g, x, t, lse, N, C, grad, reduction, ignore_index, label_smoothing);
  }
}

// ---- mse / l1 / bce_with_logits: input and target of one shape ------------------------------------

enum class Elementwise { mse, l1, bce };

// Checks input/target/pos_weight; returns the float dtype.
Float check_elementwise_inputs(const py::array& input, const py::array& target,
                               const std::optional<py::array>& pos_weight) {
  const Float dtype = require_float(input, "input");
  require_dtype_like(target, "target", input, "input");
  require_same_shape(target, "target", input, "input");
  if (pos_weight) {
    require_dtype_like(*pos_weight, "pos_weight", input, "input");
    if (input.ndim() < 1)
      throw py::value_error("pos_weight needs an input with a last axis to broadcast over, got input of shape ()");
    require_shape(*pos_weight, "pos_weight", {input.shape(input.ndim() - 1)});
  }
  return dtype;
}

int64_t last_axis(const py::array& input) { return input.ndim() ? input.shape(input.ndim() - 1) : 1; }

template <class T>
void run_elementwise_forward(Elementwise kind, const py::array& input, const py::array& target,
                             const std::optional<py::array>& pos_weight, py::array& loss, cpu::Reduction reduction) {
  const T *x = cptr<T>(input), *t = cptr<T>(target);
  const T* pw = optional_cptr<T>(pos_weight);
  T* out = ptr<T>(loss);
  const int64_t n = input.size(), C = last_axis(input);
  py::gil_scoped_release release;
  if (kind == Elementwise::mse) cpu::mse_loss_forward(x, t, n, out, reduction);
  if (kind == Elementwise::l1) cpu::l1_loss_forward(x, t, n, out, reduction);
  if (kind == Elementwise::bce) cpu::bce_with_logits_forward(x, t, pw, n, C, out, reduction);
}

template <class T>
void run_elementwise_backward(Elementwise kind, const py::array& grad_loss, const py::array& input,
                              const py::array& target, const std::optional<py::array>& pos_weight, py::array& grad_input,
                              cpu::Reduction reduction) {
  const T *g = cptr<T>(grad_loss), *x = cptr<T>(input), *t = cptr<T>(target);
  const T* pw = optional_cptr<T>(pos_weight);
  T* out = ptr<T>(grad_input);
  const int64_t n = input.size(), C = last_axis(input);
  py::gil_scoped_release release;
  if (kind == Elementwise::mse) cpu::mse_loss_backward(g, x, t, n, out, reduction);
  if (kind == Elementwise::l1) cpu::l1_loss_backward(g, x, t, n, out, reduction);
  if (kind == Elementwise::bce) cpu::bce_with_logits_backward(g, x, t, pw, n, C, out, reduction);
}

void elementwise_forward(Elementwise kind, py::handle input_obj, py::handle target_obj, py::handle loss_obj,
                         const std::string& reduction_name, py::object pos_weight_obj) {
  py::array input = require_array(input_obj, "input");
  py::array target = require_array(target_obj, "target");
  py::array loss = require_output(loss_obj, "loss");
  const std::optional<py::array> pos_weight = optional_input(pos_weight_obj, "pos_weight");
  const cpu::Reduction reduction = parse_reduction(reduction_name);
  const Float dtype = check_elementwise_inputs(input, target, pos_weight);
  require_dtype_like(loss, "loss", input, "input");
  require_loss_shape(loss, "loss", reduction, input, "input");
  require_no_overlap(loss, "loss", input, "input");
  require_no_overlap(loss, "loss", target, "target");
  if (pos_weight) require_no_overlap(loss, "loss", *pos_weight, "pos_weight");
  if (dtype == Float::f32)
    run_elementwise_forward<float>(kind, input, target, pos_weight, loss, reduction);
  else
    run_elementwise_forward<double>(kind, input, target, pos_weight, loss, reduction);
}

void elementwise_backward(Elementwise kind, py::handle grad_loss_obj, py::handle input_obj, py::handle target_obj,
                          py::handle grad_input_obj, const std::string& reduction_name, py::object pos_weight_obj) {
  py::array grad_loss = require_array(grad_loss_obj, "grad_loss");
  py::array input = require_array(input_obj, "input");
  py::array target = require_array(target_obj, "target");
  py::array grad_input = require_output(grad_input_obj, "grad_input");
  const std::optional<py::array> pos_weight = optional_input(pos_weight_obj, "pos_weight");
  const cpu::Reduction reduction = parse_reduction(reduction_name);
  const Float dtype = check_elementwise_inputs(input, target, pos_weight);
  require_dtype_like(grad_loss, "grad_loss", input, "input");
  require_dtype_like(grad_input, "grad_input", input, "input");
  require_loss_shape(grad_loss, "grad_loss", reduction, input, "input");
  require_same_shape(grad_input, "grad_input", input, "input");
  require_no_overlap(grad_input, "grad_input", grad_loss, "grad_loss");
  require_no_overlap(grad_input, "grad_input", input, "input");
  require_no_overlap(grad_input, "grad_input", target, "target");
  if (pos_weight) require_no_overlap(grad_input, "grad_input", *pos_weight, "pos_weight");
  if (dtype == Float::f32)
    run_elementwise_backward<float>(kind, grad_loss, input, target, pos_weight, grad_input, reduction);
  else
    run_elementwise_backward<double>(kind, grad_loss, input, target, pos_weight, grad_input, reduction);
}

}  // namespace

void bind_losses(py::module_& m) {
  m.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("target"), py::arg("loss"),
        py::arg("logsumexp"), py::arg("grad_logits") = py::none(), py::arg("reduction") = "mean",
        py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
        "Softmax + cross-entropy in one pass per row; logsumexp(N,) saved for the backward; grad_logits(N,C), "
        "when given, receives dloss/dlogits for an upstream gradient of 1.");
  m.def("cross_entropy_backward", &cross_entropy_backward, py::arg("grad_loss"), py::arg("logits"),
        py::arg("target"), py::arg("logsumexp"), py::arg("grad_logits"), py::arg("reduction") = "mean",
        py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
        "grad_logits(N,C) = (softmax(logits) - smoothed one-hot) * grad_loss; ignored rows get 0.");
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
