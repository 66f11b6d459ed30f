// CUDA bindings for the loss kernels: the checks of cpu_losses.cpp (same messages, same order) on
// DeviceArrays, then the launcher on the arrays' device with the GIL released. One difference, forced by
// the device: class indices live in device memory, so the kernel (not the binding) checks their range and
// an out-of-range target raises IndexError at the next synchronising call.
#include <initializer_list>
#include <string>
#include <vector>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/losses.h"

namespace nnx::bind::cuda {

namespace {

using nnx::cuda::Reduction;

// An op-family array argument: a C-contiguous DeviceArray.
DeviceArray& require_array(py::handle obj, const char* name) {
  DeviceArray& a = require_device_array(obj, name);
  require_contiguous(a, name);
  return a;
}

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  if (name == "none") return Reduction::none;
  throw py::value_error("reduction must be one of 'mean', 'sum', 'none', got '" + name + "'");
}

void require_label_smoothing(double value) {
  if (!(value >= 0.0 && value <= 1.0))
    throw py::value_error("label_smoothing must be in [0, 1], got " + std::to_string(value));
}

// loss / grad_loss: shape () for mean and sum, `per_element`'s for none.
void require_loss_shape(const DeviceArray& a, const char* name, Reduction reduction, const DeviceArray& per_element,
                        const char* per_element_name) {
  if (reduction == Reduction::none)
    require_same_shape(a, name, per_element, per_element_name);
  else
    require_shape(a, name, {});
}

// Shared checks of logits(N,C) and target(N,) int64 (their devices included).
void check_logits_and_target(const DeviceArray& logits, const DeviceArray& target, double label_smoothing) {
  require_float(logits, "logits");
  require_ndim(logits, "logits", 2);
  const int64_t N = logits.shape[0], C = logits.shape[1];
  if (C < 1 && N > 0)
    throw py::value_error("logits must have at least one class, got shape " + logits.shape_string());
  require_dtype(target, "target", DType::Int64);
  require_shape(target, "target", {N});
  require_label_smoothing(label_smoothing);
  require_same_device(target, "target", logits, "logits");
}

struct Named {
  const DeviceArray* array;  // null for an absent optional argument
  const char* name;
};

// No output may share memory with an input or with another output.
void require_disjoint(const std::vector<Named>& outputs, const std::vector<Named>& inputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (!outputs[o].array) continue;
    for (const Named& in : inputs)
      if (in.array) require_no_overlap(*outputs[o].array, outputs[o].name, *in.array, in.name);
    for (size_t other = o + 1; other < outputs.size(); ++other)
      if (outputs[other].array)
        require_no_overlap(*outputs[o].array, outputs[o].name, *outputs[other].array, outputs[other].name);
  }
}

void cross_entropy_forward(py::handle logits_obj, py::handle target_obj, py::handle loss_obj,
                           py::handle logsumexp_obj, py::handle grad_logits_obj, const std::string& reduction_name,
                           int64_t ignore_index, double label_smoothing) {
  DeviceArray& logits = require_array(logits_obj, "logits");
  DeviceArray& target = require_array(target_obj, "target");
  DeviceArray& loss = require_array(loss_obj, "loss");
  DeviceArray& logsumexp = require_array(logsumexp_obj, "logsumexp");
  const Reduction reduction = parse_reduction(reduction_name);
  check_logits_and_target(logits, target, label_smoothing);
  const int64_t N = logits.shape[0], C = logits.shape[1];
  require_dtype_like(loss, "loss", logits, "logits");
  require_dtype_like(logsumexp, "logsumexp", logits, "logits");
  require_loss_shape(loss, "loss", reduction, target, "target");
  require_shape(logsumexp, "logsumexp", {N});
  DeviceArray* grad_logits = optional_device_array(grad_logits_obj, "grad_logits");
  if (grad_logits) {
    require_contiguous(*grad_logits, "grad_logits");
    require_dtype_like(*grad_logits, "grad_logits", logits, "logits");
    require_shape(*grad_logits, "grad_logits", {N, C});
    require_same_device(*grad_logits, "grad_logits", logits, "logits");
  }
  require_same_device(loss, "loss", logits, "logits");
  require_same_device(logsumexp, "logsumexp", logits, "logits");
  // Outputs listed so that each clash is reported as by _C, e.g. "logsumexp must not share memory with loss".
  require_disjoint({{grad_logits, "grad_logits"}, {&logsumexp, "logsumexp"}, {&loss, "loss"}},
                   {{&logits, "logits"}, {&target, "target"}});
  launch_on(logits.device(), [&] {
    const int64_t* t = ptr<const int64_t>(target);
    if (logits.dtype == DType::Float32)
      nnx::cuda::cross_entropy_forward(ptr<const float>(logits), t, N, C, ptr<float>(loss), ptr<float>(logsumexp),
                                       ptr_or_null<float>(grad_logits), reduction, ignore_index, label_smoothing);
    else
      nnx::cuda::cross_entropy_forward(ptr<const double>(logits), t, N, C, ptr<double>(loss), ptr<double>(logsumexp),
                                       ptr_or_null<double>(grad_logits), reduction, ignore_index, label_smoothing);
  });
}

void cross_entropy_backward(py::handle grad_loss_obj, py::handle logits_obj, py::handle target_obj,
                            py::handle logsumexp_obj, py::handle grad_logits_obj, const std::string& reduction_name,
                            int64_t ignore_index, double label_smoothing) {
  DeviceArray& grad_loss = require_array(grad_loss_obj, "grad_loss");
  DeviceArray& logits = require_array(logits_obj, "logits");
  DeviceArray& target = require_array(target_obj, "target");
  DeviceArray& logsumexp = require_array(logsumexp_obj, "logsumexp");
  DeviceArray& grad_logits = require_array(grad_logits_obj, "grad_logits");
  const Reduction reduction = parse_reduction(reduction_name);
  check_logits_and_target(logits, target, label_smoothing);
  const int64_t N = logits.shape[0], C = logits.shape[1];
  require_dtype_like(grad_loss, "grad_loss", logits, "logits");
  require_dtype_like(logsumexp, "logsumexp", logits, "logits");
  require_dtype_like(grad_logits, "grad_logits", logits, "logits");
  require_loss_shape(grad_loss, "grad_loss", reduction, target, "target");
  require_shape(logsumexp, "logsumexp", {N});
  require_shape(grad_logits, "grad_logits", {N, C});
  require_same_device(grad_loss, "grad_loss", logits, "logits");
  require_same_device(logsumexp, "logsumexp", logits, "logits");
  require_same_device(grad_logits, "grad_logits", logits, "logits");
  require_no_overlap(grad_logits, "grad_logits", grad_loss, "grad_loss");
  require_no_overlap(grad_logits, "grad_logits", logits, "logits");
  require_no_overlap(grad_logits, "grad_logits", target, "target");
  require_no_overlap(grad_logits, "grad_logits", logsumexp, "logsumexp");
  launch_on(logits.device(), [&] {
    const int64_t* t = ptr<const int64_t>(target);
    if (logits.dtype == DType::Float32)
      nnx::cuda::cross_entropy_backward(ptr<const float>(grad_loss), ptr<const float>(logits), t,
                                        ptr<const float>(logsumexp), N, C, ptr<float>(grad_logits), reduction,
                                        ignore_index, label_smoothing);
    else
      nnx::cuda::cross_entropy_backward(ptr<const double>(grad_loss), ptr<const double>(logits), t,
                                        ptr<const double>(logsumexp), N, C, ptr<double>(grad_logits), reduction,
                                        ignore_index, label_smoothing);
  });
}

// ---- mse / l1 / bce_with_logits: input and target of one shape ------------------------------------

enum class Elementwise { mse, l1, bce };

// An optional input (pos_weight): null when None, otherwise checked like any other array. Its dtype and
// shape are checked later, once the input they follow is known to have a last axis.
const DeviceArray* optional_input(py::handle obj, const char* name) {
  return obj.is_none() ? nullptr : &require_array(obj, name);
}

// Checks input/target/pos_weight (devices included).
void check_elementwise_inputs(const DeviceArray& input, const DeviceArray& target, const DeviceArray* pos_weight) {
  require_float(input, "input");
  require_dtype_like(target, "target", input, "input");
  require_same_shape(target, "target", input, "input");
  require_same_device(target, "target", input, "input");
  if (pos_weight) {
    require_dtype_like(*pos_weight, "pos_weight", input, "input");
    if (input.ndim() < 1)
      throw py::value_error("pos_weight needs an input with a last axis to broadcast over, got input of shape ()");
    require_shape(*pos_weight, "pos_weight", {input.shape.back()});
    require_same_device(*pos_weight, "pos_weight", input, "input");
  }
}

int64_t last_axis(const DeviceArray& input) { return input.ndim() ? input.shape.back() : 1; }

template <class T>
void run_elementwise_forward(Elementwise kind, const DeviceArray& input, const DeviceArray& target,
                             const DeviceArray* pos_weight, DeviceArray& loss, Reduction reduction) {
  const T *x = ptr<const T>(input), *t = ptr<const T>(target), *pw = ptr_or_null<const T>(pos_weight);
  T* out = ptr<T>(loss);
  const int64_t n = input.size(), C = last_axis(input);
  if (kind == Elementwise::mse) nnx::cuda::mse_loss_forward(x, t, n, out, reduction);
  if (kind == Elementwise::l1) nnx::cuda::l1_loss_forward(x, t, n, out, reduction);
  if (kind == Elementwise::bce) nnx::cuda::bce_with_logits_forward(x, t, pw, n, C, out, reduction);
}

template <class T>
void run_elementwise_backward(Elementwise kind, const DeviceArray& grad_loss, const DeviceArray& input,
                              const DeviceArray& target, const DeviceArray* pos_weight, DeviceArray& grad_input,
                              Reduction reduction) {
  const T *g = ptr<const T>(grad_loss), *x = ptr<const T>(input), *t = ptr<const T>(target);
  const T* pw = ptr_or_null<const T>(pos_weight);
  T* out = ptr<T>(grad_input);
  const int64_t n = input.size(), C = last_axis(input);
  if (kind == Elementwise::mse) nnx::cuda::mse_loss_backward(g, x, t, n, out, reduction);
  if (kind == Elementwise::l1) nnx::cuda::l1_loss_backward(g, x, t, n, out, reduction);
  if (kind == Elementwise::bce) nnx::cuda::bce_with_logits_backward(g, x, t, pw, n, C, out, reduction);
}

void elementwise_forward(Elementwise kind, py::handle input_obj, py::handle target_obj, py::handle loss_obj,
                         const std::string& reduction_name, py::handle pos_weight_obj) {
  DeviceArray& input = require_array(input_obj, "input");
  DeviceArray& target = require_array(target_obj, "target");
  DeviceArray& loss = require_array(loss_obj, "loss");
  const DeviceArray* pos_weight = optional_input(pos_weight_obj, "pos_weight");
  const Reduction reduction = parse_reduction(reduction_name);
  check_elementwise_inputs(input, target, pos_weight);
  require_dtype_like(loss, "loss", input, "input");
  require_loss_shape(loss, "loss", reduction, input, "input");
  require_same_device(loss, "loss", input, "input");
  require_no_overlap(loss, "loss", input, "input");
  require_no_overlap(loss, "loss", target, "target");
  if (pos_weight) require_no_overlap(loss, "loss", *pos_weight, "pos_weight");
  launch_on(input.device(), [&] {
    if (input.dtype == DType::Float32)
      run_elementwise_forward<float>(kind, input, target, pos_weight, loss, reduction);
    else
      run_elementwise_forward<double>(kind, input, target, pos_weight, loss, reduction);
  });
}

void elementwise_backward(Elementwise kind, py::handle grad_loss_obj, py::handle input_obj, py::handle target_obj,
                          py::handle grad_input_obj, const std::string& reduction_name, py::handle pos_weight_obj) {
  DeviceArray& grad_loss = require_array(grad_loss_obj, "grad_loss");
  DeviceArray& input = require_array(input_obj, "input");
  DeviceArray& target = require_array(target_obj, "target");
  DeviceArray& grad_input = require_array(grad_input_obj, "grad_input");
  const DeviceArray* pos_weight = optional_input(pos_weight_obj, "pos_weight");
  const Reduction reduction = parse_reduction(reduction_name);
  check_elementwise_inputs(input, target, pos_weight);
  require_dtype_like(grad_loss, "grad_loss", input, "input");
  require_dtype_like(grad_input, "grad_input", input, "input");
  require_loss_shape(grad_loss, "grad_loss", reduction, input, "input");
  require_same_shape(grad_input, "grad_input", input, "input");
  require_same_device(grad_loss, "grad_loss", input, "input");
  require_same_device(grad_input, "grad_input", input, "input");
  require_no_overlap(grad_input, "grad_input", grad_loss, "grad_loss");
  require_no_overlap(grad_input, "grad_input", input, "input");
  require_no_overlap(grad_input, "grad_input", target, "target");
  if (pos_weight) require_no_overlap(grad_input, "grad_input", *pos_weight, "pos_weight");
  launch_on(input.device(), [&] {
    if (input.dtype == DType::Float32)
      run_elementwise_backward<float>(kind, grad_loss, input, target, pos_weight, grad_input, reduction);
    else
      run_elementwise_backward<double>(kind, grad_loss, input, target, pos_weight, grad_input, reduction);
  });
}

}  // namespace

void bind_losses(py::module_& m) {
  m.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("target"), py::arg("loss"),
        py::arg("logsumexp"), py::arg("grad_logits") = py::none(), py::arg("reduction") = "mean",
        py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
        "Softmax + cross-entropy in one pass per row; logsumexp(N,) saved for the backward; grad_logits(N,C), "
        "when given, receives dloss/dlogits for an upstream gradient of 1. A target outside [0, C) other than "
        "ignore_index raises IndexError at the next synchronisation.");
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
      [](py::handle input, py::handle target, py::handle loss, const std::string& reduction, py::handle pos_weight) {
        elementwise_forward(Elementwise::bce, input, target, loss, reduction, pos_weight);
      },
      py::arg("input"), py::arg("target"), py::arg("loss"), py::arg("reduction") = "mean",
      py::arg("pos_weight") = py::none(),
      "Numerically stable binary cross-entropy on logits; pos_weight(C,) broadcasts over the last axis.");
  m.def(
      "bce_with_logits_backward",
      [](py::handle grad_loss, py::handle input, py::handle target, py::handle grad_input,
         const std::string& reduction, py::handle pos_weight) {
        elementwise_backward(Elementwise::bce, grad_loss, input, target, grad_input, reduction, pos_weight);
      },
      py::arg("grad_loss"), py::arg("input"), py::arg("target"), py::arg("grad_input"),
      py::arg("reduction") = "mean", py::arg("pos_weight") = py::none(),
      "grad_input = ((1 + (pos_weight - 1) target) sigmoid(input) - pos_weight target) * grad_loss (/ n for mean).");
}

}  // namespace nnx::bind::cuda
