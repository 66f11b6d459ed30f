// CUDA bindings for the fused optimizer steps: the checks of cpu_optim.cpp on lists of DeviceArrays (same
// lengths, dtypes and shapes, one device, no aliasing), then one launcher call for the whole group.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "bind/cuda_checks.h"
#include "bind/cuda_registry.h"
#include "cuda/optim.h"

namespace nnx::bind::cuda {

namespace {

// One list argument (params, grads, exp_avgs, ...): its arrays, kept alive while the launcher runs.
struct ArrayList {
  std::string name;
  std::vector<py::object> owners;     // the Python objects, so the arrays outlive the call
  std::vector<DeviceArray*> arrays;
  bool written;  // the kernel writes into these (params, optimizer state); grads are only read

  std::string entry(size_t i) const { return name + "[" + std::to_string(i) + "]"; }

  template <class T>
  std::vector<T*> pointers() const {
    std::vector<T*> out;
    for (const DeviceArray* a : arrays) out.push_back(static_cast<T*>(a->data()));
    return out;
  }
};

std::string number(double value) { return py::repr(py::float_(value)).cast<std::string>(); }

// An entry of a list: a C-contiguous DeviceArray.
DeviceArray& require_entry(py::handle item, const std::string& name) {
  DeviceArray& a = require_device_array(item, name.c_str());
  require_contiguous(a, name.c_str());
  return a;
}

void require_sequence(py::handle obj, const char* name) {
  if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
    throw py::type_error(std::string(name) + " must be a list or tuple of nnx._cuda.DeviceArray, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
}

// The params list: float32 or float64 DeviceArrays of one dtype on one device, each C-contiguous.
ArrayList require_params(py::handle obj) {
  require_sequence(obj, "params");
  ArrayList params{"params", {}, {}, true};
  for (py::handle item : obj) {
    const std::string name = params.entry(params.arrays.size());
    DeviceArray& a = require_entry(item, name);
    if (params.arrays.empty()) {
      require_float(a, name.c_str());
    } else {
      require_dtype_like(a, name.c_str(), *params.arrays[0], "params[0]");
      require_same_device(a, name.c_str(), *params.arrays[0], "params[0]");
    }
    params.owners.push_back(py::reinterpret_borrow<py::object>(item));
    params.arrays.push_back(&a);
  }
  return params;
}

// A list that pairs with params: one array per parameter with that parameter's dtype, shape and device.
ArrayList require_matching_list(py::handle obj, const char* name, const ArrayList& params, bool written) {
  require_sequence(obj, name);
  const size_t count = py::len(obj);
  if (count != params.arrays.size())
    throw py::value_error(std::string(name) + " must hold one array per parameter (" +
                          std::to_string(params.arrays.size()) + "), got " + std::to_string(count));
  ArrayList list{name, {}, {}, written};
  for (py::handle item : obj) {
    const size_t i = list.arrays.size();
    const std::string entry = list.entry(i), param = params.entry(i);
    DeviceArray& a = require_entry(item, entry);
    require_dtype_like(a, entry.c_str(), *params.arrays[i], param.c_str());
    require_same_shape(a, entry.c_str(), *params.arrays[i], param.c_str());
    require_same_device(a, entry.c_str(), *params.arrays[i], param.c_str());
    list.owners.push_back(py::reinterpret_borrow<py::object>(item));
    list.arrays.push_back(&a);
  }
  return list;
}

// An optional state list: required when `needed` (the reason names the option that needs it).
std::optional<ArrayList> optional_state(py::handle obj, const char* name, const ArrayList& params, bool needed,
                                        const char* reason) {
  if (obj.is_none()) {
    if (needed) throw py::value_error(std::string(name) + " is required when " + reason + ", got None");
    return std::nullopt;
  }
  return require_matching_list(obj, name, params, true);
}

// No array the kernel writes may share memory with any other array of the call (that would update a
// value twice or read it half-updated). Grads may share memory with each other: both sides only read.
// Every array is contiguous, so its bytes are [data, data + nbytes).
void require_disjoint(const std::vector<const ArrayList*>& lists) {
  struct Span {
    uintptr_t begin;
    uintptr_t end;
    const ArrayList* list;
    size_t index;
  };
  std::vector<Span> spans;
  for (const ArrayList* list : lists)
    for (size_t i = 0; i < list->arrays.size(); ++i) {
      const DeviceArray& a = *list->arrays[i];
      if (a.nbytes() == 0) continue;
      const auto begin = reinterpret_cast<uintptr_t>(a.data());
      spans.push_back({begin, begin + static_cast<uintptr_t>(a.nbytes()), list, i});
    }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::vector<Span> open;  // spans that may still overlap the next one (one, unless grads overlap)
  for (const Span& span : spans) {
    open.erase(std::remove_if(open.begin(), open.end(), [&](const Span& o) { return o.end <= span.begin; }),
               open.end());
    for (const Span& other : open) {
      if (!span.list->written && !other.list->written) continue;
      const Span& out = span.list->written ? span : other;
      const Span& in = span.list->written ? other : span;
      throw py::value_error(out.list->entry(out.index) + " must not share memory with " + in.list->entry(in.index));
    }
    open.push_back(span);
  }
}

void require_finite(double value, const char* name) {
  if (!std::isfinite(value)) throw py::value_error(std::string(name) + " must be finite, got " + number(value));
}

void require_finite_nonnegative(double value, const char* name) {
  if (!(value >= 0.0) || value == std::numeric_limits<double>::infinity())
    throw py::value_error(std::string(name) + " must be a finite number >= 0, got " + std::to_string(value));
}

// low <= value < high, or <= high when high_inclusive.
void require_in_range(double value, const char* name, double low, double high, bool high_inclusive) {
  const bool ok = value >= low && (high_inclusive ? value <= high : value < high);
  if (!ok)
    throw py::value_error(std::string(name) + " must be in [" + number(low) + ", " + number(high) +
                          (high_inclusive ? "]" : ")") + ", got " + number(value));
}

template <class T>
T* const* data_or_null(const std::vector<T*>& pointers, bool present) {
  return present ? pointers.data() : nullptr;
}

std::vector<int64_t> sizes_of(const ArrayList& params) {
  std::vector<int64_t> sizes;
  for (const DeviceArray* a : params.arrays) sizes.push_back(a->size());
  return sizes;
}

bool is_f32(const ArrayList& params) { return params.arrays[0]->dtype == DType::Float32; }
int device_of(const ArrayList& params) { return params.arrays[0]->device(); }

// ---- sgd_step ----------------------------------------------------------------------------------

template <class T>
void run_sgd(const ArrayList& params, const ArrayList& grads, const std::optional<ArrayList>& buffers,
             const nnx::cuda::SgdOptions& options) {
  const std::vector<T*> p = params.pointers<T>(), g = grads.pointers<T>();
  const std::vector<T*> b = buffers ? buffers->pointers<T>() : std::vector<T*>();
  const std::vector<int64_t> sizes = sizes_of(params);
  launch_on(device_of(params), [&] {
    nnx::cuda::sgd_step<T>(p.data(), g.data(), data_or_null(b, buffers.has_value()), sizes.data(),
                           static_cast<int64_t>(sizes.size()), options);
  });
}

void sgd_step(py::handle params_obj, py::handle grads_obj, py::handle buffers_obj, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
  require_finite_nonnegative(lr, "lr");
  require_finite_nonnegative(momentum, "momentum");
  require_finite(dampening, "dampening");
  require_finite_nonnegative(weight_decay, "weight_decay");
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw py::value_error("nesterov requires momentum > 0 and dampening == 0, got momentum=" + number(momentum) +
                          ", dampening=" + number(dampening));
  const ArrayList params = require_params(params_obj);
  const ArrayList grads = require_matching_list(grads_obj, "grads", params, false);
  const auto buffers = optional_state(buffers_obj, "momentum_buffers", params, momentum != 0.0, "momentum != 0");
  std::vector<const ArrayList*> all{&params, &grads};
  if (buffers) all.push_back(&*buffers);
  require_disjoint(all);
  if (params.arrays.empty()) return;

  const nnx::cuda::SgdOptions options{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
  if (is_f32(params))
    run_sgd<float>(params, grads, buffers, options);
  else
    run_sgd<double>(params, grads, buffers, options);
}

// ---- adam_step ---------------------------------------------------------------------------------

template <class T>
void run_adam(const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
              const ArrayList& exp_avg_sqs, const std::optional<ArrayList>& max_exp_avg_sqs,
              const nnx::cuda::AdamOptions& options) {
  const std::vector<T*> p = params.pointers<T>(), g = grads.pointers<T>();
  const std::vector<T*> m = exp_avgs.pointers<T>(), v = exp_avg_sqs.pointers<T>();
  const std::vector<T*> v_max = max_exp_avg_sqs ? max_exp_avg_sqs->pointers<T>() : std::vector<T*>();
  const std::vector<int64_t> sizes = sizes_of(params);
  launch_on(device_of(params), [&] {
    nnx::cuda::adam_step<T>(p.data(), g.data(), m.data(), v.data(),
                            data_or_null(v_max, max_exp_avg_sqs.has_value()), sizes.data(),
                            static_cast<int64_t>(sizes.size()), options);
  });
}

void adam_step(py::handle params_obj, py::handle grads_obj, py::handle exp_avgs_obj, py::handle exp_avg_sqs_obj,
               py::handle max_exp_avg_sqs_obj, int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool amsgrad, bool maximize) {
  if (step < 1)
    throw py::value_error("step must be >= 1 (it counts from 1 and includes this update), got " +
                          std::to_string(step));
  require_finite_nonnegative(lr, "lr");
  require_in_range(beta1, "beta1", 0.0, 1.0, false);
  require_in_range(beta2, "beta2", 0.0, 1.0, false);
  require_finite_nonnegative(eps, "eps");
  require_finite_nonnegative(weight_decay, "weight_decay");
  const ArrayList params = require_params(params_obj);
  const ArrayList grads = require_matching_list(grads_obj, "grads", params, false);
  const ArrayList exp_avgs = require_matching_list(exp_avgs_obj, "exp_avgs", params, true);
  const ArrayList exp_avg_sqs = require_matching_list(exp_avg_sqs_obj, "exp_avg_sqs", params, true);
  const auto max_exp_avg_sqs = optional_state(max_exp_avg_sqs_obj, "max_exp_avg_sqs", params, amsgrad, "amsgrad=True");
  std::vector<const ArrayList*> all{&params, &grads, &exp_avgs, &exp_avg_sqs};
  if (max_exp_avg_sqs) all.push_back(&*max_exp_avg_sqs);
  require_disjoint(all);
  if (params.arrays.empty()) return;

  const nnx::cuda::AdamOptions options{step, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad,
                                       maximize};
  if (is_f32(params))
    run_adam<float>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, options);
  else
    run_adam<double>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, options);
}

// ---- rmsprop_step ------------------------------------------------------------------------------

template <class T>
void run_rmsprop(const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
                 const std::optional<ArrayList>& grad_avgs, const std::optional<ArrayList>& buffers,
                 const nnx::cuda::RmspropOptions& options) {
  const std::vector<T*> p = params.pointers<T>(), g = grads.pointers<T>(), sq = square_avgs.pointers<T>();
  const std::vector<T*> ga = grad_avgs ? grad_avgs->pointers<T>() : std::vector<T*>();
  const std::vector<T*> b = buffers ? buffers->pointers<T>() : std::vector<T*>();
  const std::vector<int64_t> sizes = sizes_of(params);
  launch_on(device_of(params), [&] {
    nnx::cuda::rmsprop_step<T>(p.data(), g.data(), sq.data(), data_or_null(ga, grad_avgs.has_value()),
                               data_or_null(b, buffers.has_value()), sizes.data(),
                               static_cast<int64_t>(sizes.size()), options);
  });
}

void rmsprop_step(py::handle params_obj, py::handle grads_obj, py::handle square_avgs_obj, py::handle grad_avgs_obj,
                  py::handle buffers_obj, double lr, double alpha, double eps, double weight_decay, double momentum,
                  bool centered, bool maximize) {
  require_finite_nonnegative(lr, "lr");
  require_in_range(alpha, "alpha", 0.0, 1.0, true);
  require_finite_nonnegative(eps, "eps");
  require_finite_nonnegative(weight_decay, "weight_decay");
  require_finite_nonnegative(momentum, "momentum");
  const ArrayList params = require_params(params_obj);
  const ArrayList grads = require_matching_list(grads_obj, "grads", params, false);
  const ArrayList square_avgs = require_matching_list(square_avgs_obj, "square_avgs", params, true);
  const auto grad_avgs = optional_state(grad_avgs_obj, "grad_avgs", params, centered, "centered=True");
  const auto buffers = optional_state(buffers_obj, "momentum_buffers", params, momentum != 0.0, "momentum != 0");
  std::vector<const ArrayList*> all{&params, &grads, &square_avgs};
  if (grad_avgs) all.push_back(&*grad_avgs);
  if (buffers) all.push_back(&*buffers);
  require_disjoint(all);
  if (params.arrays.empty()) return;

  const nnx::cuda::RmspropOptions options{lr, alpha, eps, weight_decay, momentum, centered, maximize};
  if (is_f32(params))
    run_rmsprop<float>(params, grads, square_avgs, grad_avgs, buffers, options);
  else
    run_rmsprop<double>(params, grads, square_avgs, grad_avgs, buffers, options);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step", &sgd_step, py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("maximize") = false, py::arg("first_step") = false,
        "PyTorch SGD over a whole parameter group (lists of DeviceArrays, updated in place) in one multi-tensor "
        "launch per 64 tensors. first_step=True sets the momentum buffer to the gradient, PyTorch's first-step rule.");
  m.def("adam_step", &adam_step, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
        py::arg("max_exp_avg_sqs"), py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
        py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("decoupled_weight_decay") = false,
        py::arg("amsgrad") = false, py::arg("maximize") = false,
        "PyTorch Adam (or AdamW with decoupled_weight_decay=True) over a whole parameter group, multi-tensor. "
        "step counts from 1 and includes this update; max_exp_avg_sqs is required when amsgrad.");
  m.def("rmsprop_step", &rmsprop_step, py::arg("params"), py::arg("grads"), py::arg("square_avgs"),
        py::arg("grad_avgs"), py::arg("momentum_buffers"), py::arg("lr"), py::arg("alpha") = 0.99,
        py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0, py::arg("centered") = false,
        py::arg("maximize") = false,
        "PyTorch RMSprop over a whole parameter group, multi-tensor. grad_avgs is required when centered, "
        "momentum_buffers when momentum != 0.");
}

}  // namespace nnx::bind::cuda
