// Bindings of the fused optimizer steps (csrc/core/optim.h): validate a whole parameter group
// (lists of arrays and the hyperparameters), collect raw pointers, then one kernel call for the whole group (on
// CUDA a multi-tensor launch). Compiled once per device (csrc/bind/device.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bind/device.h"
#include "core/optim.h"

namespace nnx::bind {

namespace {

// One list argument (params, grads, exp_avgs, ...): its arrays, kept alive while the kernel runs.
struct ArrayList {
  std::string name;
  std::vector<py::object> owners;  // the Python objects, so the arrays outlive the call
  std::vector<Device::Optional> arrays;  // never empty Optionals
  bool written;  // the kernel writes into these (params, optimizer state); grads are only read

  std::string entry(size_t i) const { return name + "[" + std::to_string(i) + "]"; }

  template <class T>
  std::vector<T*> pointers() const {
    std::vector<T*> out;
    for (const auto& a : arrays) out.push_back(static_cast<T*>(const_cast<void*>(address(*a))));
    return out;
  }
};

inline std::string number(double value) { return py::repr(py::float_(value)).cast<std::string>(); }

void require_sequence(py::handle obj, const char* name) {
  if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
    throw py::type_error(std::string(name) + " must be a list or tuple of " + Device::array_type + ", got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
}

// The params list: float32 or float64 arrays of one dtype (and device), each C-contiguous and writeable.
ArrayList require_params(py::handle obj) {
  require_sequence(obj, "params");
  ArrayList params{"params", {}, {}, true};
  for (py::handle item : obj) {
    const std::string name = params.entry(params.arrays.size());
    Device::Array a = Device::output(item, name.c_str());
    if (params.arrays.empty()) {
      require_float(a, name.c_str());
    } else {
      require_dtype_like(a, name.c_str(), *params.arrays[0], "params[0]");
      require_same_device(a, name.c_str(), *params.arrays[0], "params[0]");
    }
    params.owners.push_back(py::reinterpret_borrow<py::object>(item));
    params.arrays.push_back(Device::hold(a));
  }
  return params;
}

// A list that pairs with params: one array per parameter with that parameter's dtype, shape and device.
ArrayList require_matching_list(py::handle obj, const char* name, const ArrayList& params,
                                bool written) {
  require_sequence(obj, name);
  const size_t count = py::len(obj);
  if (count != params.arrays.size())
    throw py::value_error(std::string(name) + " must hold one array per parameter (" +
                          std::to_string(params.arrays.size()) + "), got " + std::to_string(count));
  ArrayList list{name, {}, {}, written};
  for (py::handle item : obj) {
    const size_t i = list.arrays.size();
    const std::string entry = list.entry(i), param = params.entry(i);
    Device::Array a = written ? Device::output(item, entry.c_str()) : Device::input(item, entry.c_str());
    require_dtype_like(a, entry.c_str(), *params.arrays[i], param.c_str());
    require_same_shape(a, entry.c_str(), *params.arrays[i], param.c_str());
    require_same_device(a, entry.c_str(), *params.arrays[i], param.c_str());
    list.owners.push_back(py::reinterpret_borrow<py::object>(item));
    list.arrays.push_back(Device::hold(a));
  }
  return list;
}

// An optional state list: required when `needed` (the reason names the option that needs it).
std::optional<ArrayList> optional_state(py::handle obj, const char* name, const ArrayList& params,
                                        bool needed, const char* reason) {
  if (obj.is_none()) {
    if (needed) throw py::value_error(std::string(name) + " is required when " + reason + ", got None");
    return std::nullopt;
  }
  return require_matching_list(obj, name, params, true);
}

// No array the kernel writes may share memory with any other array of the call (that would update a
// value twice or read it half-updated). Grads may share memory with each other: both sides only read.
// Every array is contiguous, so its bytes are [data, data + nbytes).
void require_disjoint_lists(const std::vector<const ArrayList*>& lists) {
  struct Span {
    uintptr_t begin;
    uintptr_t end;
    const ArrayList* list;
    size_t index;
  };
  std::vector<Span> spans;
  for (const ArrayList* list : lists)
    for (size_t i = 0; i < list->arrays.size(); ++i) {
      const auto& a = *list->arrays[i];
      if (nbytes_of(a) == 0) continue;
      const auto begin = reinterpret_cast<uintptr_t>(address(a));
      spans.push_back({begin, begin + static_cast<uintptr_t>(nbytes_of(a)), list, i});
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

inline void require_finite(double value, const char* name) {
  if (!std::isfinite(value)) throw py::value_error(std::string(name) + " must be finite, got " + number(value));
}

// low <= value < high, or <= high when high_inclusive.
inline void require_in_range(double value, const char* name, double low, double high, bool high_inclusive) {
  const bool ok = value >= low && (high_inclusive ? value <= high : value < high);
  if (!ok)
    throw py::value_error(std::string(name) + " must be in [" + number(low) + ", " + number(high) +
                          (high_inclusive ? "]" : ")") + ", got " + number(value));
}

template <class T>
T* const* data_or_null(const std::vector<T*>& pointers, bool present) {
  return present ? pointers.data() : nullptr;
}

// The pointers of an optional list (empty when absent).
template <class T>
std::vector<T*> pointers_or_empty(const std::optional<ArrayList>& list) {
  return list ? list->template pointers<T>() : std::vector<T*>();
}

std::vector<int64_t> sizes_of(const ArrayList& params) {
  std::vector<int64_t> sizes;
  for (const auto& a : params.arrays) sizes.push_back(size_of(*a));
  return sizes;
}

// The newer steps' common part: params, grads and `states` (required state lists, in the kernel's order)
// checked, then run(zero, p, g, state pointers, sizes, count) inside the device's launch, where zero is a T
// (float or double) and state pointers a std::array of the states' pointer vectors.
template <size_t N, class Run>
void run_group(py::handle params_obj, py::handle grads_obj, const std::array<py::handle, N>& state_objs,
               const std::array<const char*, N>& state_names, Run&& run) {
  using List = ArrayList;
  const List params = require_params(params_obj);
  const List grads = require_matching_list(grads_obj, "grads", params, false);
  std::vector<List> states;
  states.reserve(N);
  for (size_t i = 0; i < N; ++i) states.push_back(require_matching_list(state_objs[i], state_names[i], params, true));
  std::vector<const List*> all{&params, &grads};
  for (const List& list : states) all.push_back(&list);
  require_disjoint_lists(all);
  if (params.arrays.empty()) return;
  with_float(require_float(*params.arrays[0], "params[0]"), [&](auto zero) {
    using T = decltype(zero);
    const std::vector<T*> p = params.template pointers<T>(), g = grads.template pointers<T>();
    std::array<std::vector<T*>, N> state_pointers;
    for (size_t i = 0; i < N; ++i) state_pointers[i] = states[i].template pointers<T>();
    const std::vector<int64_t> sizes = sizes_of(params);
    Device::launch(*params.arrays[0], [&] {
      run(zero, p.data(), const_cast<const T* const*>(g.data()), state_pointers, sizes.data(),
          static_cast<int64_t>(sizes.size()));
    });
  });
}

inline void require_step(int64_t step) {
  if (step < 1)
    throw py::value_error("step must be >= 1 (it counts from 1 and includes this update), got " + std::to_string(step));
}

}  // namespace

void bind_optim(py::module_& m) {
  using List = ArrayList;
  m.def(
      "sgd_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle buffers_obj, double lr, double momentum,
         double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
        require_finite_nonnegative(lr, "lr");
        require_finite_nonnegative(momentum, "momentum");
        require_finite(dampening, "dampening");
        require_finite_nonnegative(weight_decay, "weight_decay");
        if (nesterov && (momentum <= 0.0 || dampening != 0.0))
          throw py::value_error("nesterov requires momentum > 0 and dampening == 0, got momentum=" + number(momentum) +
                                ", dampening=" + number(dampening));
        const List params = require_params(params_obj);
        const List grads = require_matching_list(grads_obj, "grads", params, false);
        const auto buffers = optional_state(buffers_obj, "momentum_buffers", params, momentum != 0.0, "momentum != 0");
        std::vector<const List*> all{&params, &grads};
        if (buffers) all.push_back(&*buffers);
        require_disjoint_lists(all);
        if (params.arrays.empty()) return;

        const dev::SgdOptions options{lr,       momentum, dampening, weight_decay, nesterov,
                                                   maximize, first_step};
        with_float(require_float(*params.arrays[0], "params[0]"), [&](auto zero) {
          using T = decltype(zero);
          const std::vector<T*> p = params.template pointers<T>(), g = grads.template pointers<T>();
          const std::vector<T*> b = pointers_or_empty<T>(buffers);
          const std::vector<int64_t> sizes = sizes_of(params);
          Device::launch(*params.arrays[0], [&] {
            dev::sgd_step<T>(p.data(), g.data(), data_or_null(b, buffers.has_value()), sizes.data(),
                                     static_cast<int64_t>(sizes.size()), options);
          });
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("lr"), py::arg("momentum") = 0.0,
      py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0, py::arg("nesterov") = false,
      py::arg("maximize") = false, py::arg("first_step") = false,
      Device::cuda ? "PyTorch SGD over a whole parameter group (lists of DeviceArrays, updated in place) in one "
                     "multi-tensor launch per 64 tensors. first_step=True sets the momentum buffer to the gradient, "
                     "PyTorch's first-step rule."
                   : "PyTorch SGD over a whole parameter group in one call (lists of arrays, updated in place). "
                     "first_step=True sets the momentum buffer to the gradient, PyTorch's first-step rule.");
  m.def(
      "adam_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle exp_avgs_obj, py::handle exp_avg_sqs_obj,
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
        const List params = require_params(params_obj);
        const List grads = require_matching_list(grads_obj, "grads", params, false);
        const List exp_avgs = require_matching_list(exp_avgs_obj, "exp_avgs", params, true);
        const List exp_avg_sqs = require_matching_list(exp_avg_sqs_obj, "exp_avg_sqs", params, true);
        const auto max_exp_avg_sqs =
            optional_state(max_exp_avg_sqs_obj, "max_exp_avg_sqs", params, amsgrad, "amsgrad=True");
        std::vector<const List*> all{&params, &grads, &exp_avgs, &exp_avg_sqs};
        if (max_exp_avg_sqs) all.push_back(&*max_exp_avg_sqs);
        require_disjoint_lists(all);
        if (params.arrays.empty()) return;

        const dev::AdamOptions options{step,         lr, beta1, beta2, eps, weight_decay,
                                                    decoupled_weight_decay, amsgrad, maximize};
        with_float(require_float(*params.arrays[0], "params[0]"), [&](auto zero) {
          using T = decltype(zero);
          const std::vector<T*> p = params.template pointers<T>(), g = grads.template pointers<T>();
          const std::vector<T*> m = exp_avgs.template pointers<T>(), v = exp_avg_sqs.template pointers<T>();
          const std::vector<T*> v_max = pointers_or_empty<T>(max_exp_avg_sqs);
          const std::vector<int64_t> sizes = sizes_of(params);
          Device::launch(*params.arrays[0], [&] {
            dev::adam_step<T>(p.data(), g.data(), m.data(), v.data(),
                                      data_or_null(v_max, max_exp_avg_sqs.has_value()), sizes.data(),
                                      static_cast<int64_t>(sizes.size()), options);
          });
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"),
      py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
      py::arg("weight_decay") = 0.0, py::arg("decoupled_weight_decay") = false, py::arg("amsgrad") = false,
      py::arg("maximize") = false,
      Device::cuda ? "PyTorch Adam (or AdamW with decoupled_weight_decay=True) over a whole parameter group, "
                     "multi-tensor. step counts from 1 and includes this update; max_exp_avg_sqs is required when "
                     "amsgrad."
                   : "PyTorch Adam (or AdamW with decoupled_weight_decay=True) over a whole parameter group in one "
                     "call. step counts from 1 and includes this update; max_exp_avg_sqs is required when amsgrad.");
  m.def(
      "rmsprop_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle square_avgs_obj, py::handle grad_avgs_obj,
         py::handle buffers_obj, double lr, double alpha, double eps, double weight_decay, double momentum,
         bool centered, bool maximize) {
        require_finite_nonnegative(lr, "lr");
        require_in_range(alpha, "alpha", 0.0, 1.0, true);
        require_finite_nonnegative(eps, "eps");
        require_finite_nonnegative(weight_decay, "weight_decay");
        require_finite_nonnegative(momentum, "momentum");
        const List params = require_params(params_obj);
        const List grads = require_matching_list(grads_obj, "grads", params, false);
        const List square_avgs = require_matching_list(square_avgs_obj, "square_avgs", params, true);
        const auto grad_avgs = optional_state(grad_avgs_obj, "grad_avgs", params, centered, "centered=True");
        const auto buffers = optional_state(buffers_obj, "momentum_buffers", params, momentum != 0.0, "momentum != 0");
        std::vector<const List*> all{&params, &grads, &square_avgs};
        if (grad_avgs) all.push_back(&*grad_avgs);
        if (buffers) all.push_back(&*buffers);
        require_disjoint_lists(all);
        if (params.arrays.empty()) return;

        const dev::RmspropOptions options{lr, alpha, eps, weight_decay, momentum, centered, maximize};
        with_float(require_float(*params.arrays[0], "params[0]"), [&](auto zero) {
          using T = decltype(zero);
          const std::vector<T*> p = params.template pointers<T>(), g = grads.template pointers<T>();
          const std::vector<T*> sq = square_avgs.template pointers<T>();
          const std::vector<T*> ga = pointers_or_empty<T>(grad_avgs), b = pointers_or_empty<T>(buffers);
          const std::vector<int64_t> sizes = sizes_of(params);
          Device::launch(*params.arrays[0], [&] {
            dev::rmsprop_step<T>(p.data(), g.data(), sq.data(), data_or_null(ga, grad_avgs.has_value()),
                                         data_or_null(b, buffers.has_value()), sizes.data(),
                                         static_cast<int64_t>(sizes.size()), options);
          });
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("grad_avgs"), py::arg("momentum_buffers"),
      py::arg("lr"), py::arg("alpha") = 0.99, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0,
      py::arg("momentum") = 0.0, py::arg("centered") = false, py::arg("maximize") = false,
      Device::cuda ? "PyTorch RMSprop over a whole parameter group, multi-tensor. grad_avgs is required when "
                     "centered, momentum_buffers when momentum != 0."
                   : "PyTorch RMSprop over a whole parameter group in one call. grad_avgs is required when centered, "
                     "momentum_buffers when momentum != 0.");
  const char* group = Device::cuda ? " over a whole parameter group (lists of DeviceArrays, updated in place), "
                                     "multi-tensor."
                                   : " over a whole parameter group in one call (lists of arrays, updated in place).";
  m.def(
      "adagrad_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle state_sums_obj, int64_t step, double lr,
         double lr_decay, double weight_decay, double eps, bool maximize) {
        require_step(step);
        require_finite_nonnegative(lr, "lr");
        require_finite_nonnegative(lr_decay, "lr_decay");
        require_finite_nonnegative(weight_decay, "weight_decay");
        require_finite_nonnegative(eps, "eps");
        const dev::AdagradOptions options{step, lr, lr_decay, weight_decay, eps, maximize};
        run_group<1>(params_obj, grads_obj, {state_sums_obj}, {"state_sums"},
                             [&](auto zero, auto* p, auto* g, auto& s, const int64_t* sizes, int64_t count) {
                               using T = decltype(zero);
                               dev::adagrad_step<T>(p, g, s[0].data(), sizes, count, options);
                             });
      },
      py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("step"), py::arg("lr") = 1e-2,
      py::arg("lr_decay") = 0.0, py::arg("weight_decay") = 0.0, py::arg("eps") = 1e-10, py::arg("maximize") = false,
      (std::string("PyTorch Adagrad") + group + " step counts from 1 and includes this update.").c_str());
  m.def(
      "adadelta_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle square_avgs_obj, py::handle acc_deltas_obj,
         double lr, double rho, double eps, double weight_decay, bool maximize) {
        require_finite_nonnegative(lr, "lr");
        require_in_range(rho, "rho", 0.0, 1.0, true);
        require_finite_nonnegative(eps, "eps");
        require_finite_nonnegative(weight_decay, "weight_decay");
        const dev::AdadeltaOptions options{lr, rho, eps, weight_decay, maximize};
        run_group<2>(params_obj, grads_obj, {square_avgs_obj, acc_deltas_obj}, {"square_avgs", "acc_deltas"},
                             [&](auto zero, auto* p, auto* g, auto& s, const int64_t* sizes, int64_t count) {
                               using T = decltype(zero);
                               dev::adadelta_step<T>(p, g, s[0].data(), s[1].data(), sizes, count, options);
                             });
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("acc_deltas"), py::arg("lr") = 1.0,
      py::arg("rho") = 0.9, py::arg("eps") = 1e-6, py::arg("weight_decay") = 0.0, py::arg("maximize") = false,
      (std::string("PyTorch Adadelta") + group).c_str());
  m.def(
      "adamax_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle exp_avgs_obj, py::handle exp_infs_obj, int64_t step,
         double lr, double beta1, double beta2, double eps, double weight_decay, bool maximize) {
        require_step(step);
        require_finite_nonnegative(lr, "lr");
        require_in_range(beta1, "beta1", 0.0, 1.0, false);
        require_in_range(beta2, "beta2", 0.0, 1.0, false);
        require_finite_nonnegative(eps, "eps");
        require_finite_nonnegative(weight_decay, "weight_decay");
        const dev::AdamaxOptions options{step, lr, beta1, beta2, eps, weight_decay, maximize};
        run_group<2>(params_obj, grads_obj, {exp_avgs_obj, exp_infs_obj}, {"exp_avgs", "exp_infs"},
                             [&](auto zero, auto* p, auto* g, auto& s, const int64_t* sizes, int64_t count) {
                               using T = decltype(zero);
                               dev::adamax_step<T>(p, g, s[0].data(), s[1].data(), sizes, count, options);
                             });
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_infs"), py::arg("step"),
      py::arg("lr") = 2e-3, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
      py::arg("weight_decay") = 0.0, py::arg("maximize") = false,
      (std::string("PyTorch Adamax") + group + " step counts from 1 and includes this update.").c_str());
  m.def(
      "nadam_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle exp_avgs_obj, py::handle exp_avg_sqs_obj,
         int64_t step, double mu_product, double lr, double beta1, double beta2, double eps, double weight_decay,
         double momentum_decay, bool decoupled_weight_decay, bool maximize) {
        require_step(step);
        require_finite(mu_product, "mu_product");
        require_finite_nonnegative(lr, "lr");
        require_in_range(beta1, "beta1", 0.0, 1.0, false);
        require_in_range(beta2, "beta2", 0.0, 1.0, false);
        require_finite_nonnegative(eps, "eps");
        require_finite_nonnegative(weight_decay, "weight_decay");
        require_finite_nonnegative(momentum_decay, "momentum_decay");
        const dev::NadamOptions options{step,         mu_product,     lr,
                                                     beta1,        beta2,          eps,
                                                     weight_decay, momentum_decay, decoupled_weight_decay,
                                                     maximize};
        run_group<2>(params_obj, grads_obj, {exp_avgs_obj, exp_avg_sqs_obj}, {"exp_avgs", "exp_avg_sqs"},
                             [&](auto zero, auto* p, auto* g, auto& s, const int64_t* sizes, int64_t count) {
                               using T = decltype(zero);
                               dev::nadam_step<T>(p, g, s[0].data(), s[1].data(), sizes, count, options);
                             });
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("step"),
      py::arg("mu_product"), py::arg("lr") = 2e-3, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
      py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("momentum_decay") = 4e-3,
      py::arg("decoupled_weight_decay") = false, py::arg("maximize") = false,
      (std::string("PyTorch NAdam") + group +
       " step counts from 1 and includes this update; mu_product is the product of the momentum coefficients "
       "mu_1 ... mu_step, this step's included (PyTorch's state['mu_product'] after the update).")
          .c_str());
  m.def(
      "radam_step",
      [](py::handle params_obj, py::handle grads_obj, py::handle exp_avgs_obj, py::handle exp_avg_sqs_obj,
         int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
         bool decoupled_weight_decay, bool maximize) {
        require_step(step);
        require_finite_nonnegative(lr, "lr");
        require_in_range(beta1, "beta1", 0.0, 1.0, false);
        require_in_range(beta2, "beta2", 0.0, 1.0, false);
        require_finite_nonnegative(eps, "eps");
        require_finite_nonnegative(weight_decay, "weight_decay");
        const dev::RadamOptions options{step,         lr, beta1, beta2, eps, weight_decay,
                                                     decoupled_weight_decay, maximize};
        run_group<2>(params_obj, grads_obj, {exp_avgs_obj, exp_avg_sqs_obj}, {"exp_avgs", "exp_avg_sqs"},
                             [&](auto zero, auto* p, auto* g, auto& s, const int64_t* sizes, int64_t count) {
                               using T = decltype(zero);
                               dev::radam_step<T>(p, g, s[0].data(), s[1].data(), sizes, count, options);
                             });
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("step"),
      py::arg("lr") = 1e-3, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
      py::arg("weight_decay") = 0.0, py::arg("decoupled_weight_decay") = false, py::arg("maximize") = false,
      (std::string("PyTorch RAdam") + group + " step counts from 1 and includes this update.").c_str());
}

}  // namespace nnx::bind
