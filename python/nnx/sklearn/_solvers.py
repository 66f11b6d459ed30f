"""scikit-learn's 'sgd' and 'adam' solvers expressed with nnx.optim's PyTorch optimizers, update for update.

scikit-learn's optimizers differ from PyTorch's in three places, each made exact here:
- L2 (alpha): sklearn adds alpha * W / batch_weight_sum to the weights' gradient; that is PyTorch's coupled
  weight_decay = alpha / batch_weight_sum on a parameter group holding only the weights, set every batch.
- Adam's epsilon: sklearn divides by sqrt(v) + eps with the bias correction folded into the step size;
  PyTorch divides by sqrt(v_hat) + eps. They agree when PyTorch's eps is eps / sqrt(1 - beta_2**t).
- SGD momentum: sklearn's velocity holds lr-scaled gradients, PyTorch's buffer raw ones. They agree while lr is
  constant; when a schedule changes lr (invscaling, adaptive), the buffers are rescaled by old_lr / new_lr.
"""
import math

import numpy as np

from nnx import optim
from nnx.learner.schedule import sched_cos

from ._network import as_tensor, host_array, parameter_array, weight_parameters

# fastai's fit_one_cycle defaults: lr from lr_max/div up to lr_max over the first pct_start of the batches,
# then down to lr_max/div_final; momentum (or beta_1) the other way through ONE_CYCLE_MOMS.
ONE_CYCLE_DIV, ONE_CYCLE_DIV_FINAL, ONE_CYCLE_PCT_START = 25.0, 1e5, 0.25
ONE_CYCLE_MOMS = (0.95, 0.85, 0.95)


def one_cycle_values(lr_max, position):
    """(lr, momentum) of fastai's fit_one_cycle at `position` in [0, 1] of all the batches."""
    mom_start, mom_mid, mom_end = ONE_CYCLE_MOMS
    if position < ONE_CYCLE_PCT_START:
        phase = position / ONE_CYCLE_PCT_START
        return sched_cos(lr_max / ONE_CYCLE_DIV, lr_max, phase), sched_cos(mom_start, mom_mid, phase)
    phase = (position - ONE_CYCLE_PCT_START) / (1 - ONE_CYCLE_PCT_START)
    return sched_cos(lr_max, lr_max / ONE_CYCLE_DIV_FINAL, phase), sched_cos(mom_mid, mom_end, phase)


class StochasticSolver:
    """One nnx optimizer over the network plus scikit-learn's learning-rate bookkeeping (learning_rate,
    iteration_ends, trigger_stopping keep the names of sklearn's optimizers)."""

    def __init__(self, network, estimator):
        self.solver = estimator.solver
        self.alpha = float(estimator.alpha)
        self.decoupled_weight_decay = float(estimator.weight_decay)
        self.lr_schedule = estimator.learning_rate if self.solver == "sgd" else "constant"
        self.one_cycle = estimator.lr_schedule == "one_cycle"
        self.learning_rate_init = float(estimator.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.power_t = float(estimator.power_t)
        self.momentum = float(estimator.momentum)
        self.beta_2 = float(estimator.beta_2)
        self.epsilon = float(estimator.epsilon)
        self.steps = 0
        self.optimizer = self._make_optimizer(network, estimator)
        self.rebind_arrays(network)

    def _make_optimizer(self, network, est):
        weights, others = weight_parameters(network)
        groups = [{"params": weights}, {"params": others}]
        if self.solver == "adam":
            return optim.Adam(groups, lr=self.learning_rate, betas=(float(est.beta_1), self.beta_2), eps=self.epsilon)
        nesterov = bool(est.nesterovs_momentum) and self.momentum > 0  # sklearn's Nesterov step is plain SGD at 0
        return optim.SGD(groups, lr=self.learning_rate, momentum=self.momentum, nesterov=nesterov)

    def rebind_arrays(self, network):
        """Take the network's current arrays (again after it moved between devices)."""
        weights, _ = weight_parameters(network)
        self.weight_arrays = [parameter_array(w) for w in weights]
        self.weight_group, self.other_group = self.optimizer.param_groups

    # --- one batch ----------------------------------------------------------------------------------
    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self, batch_weight_sum, cycle_position=None):
        """Apply the gradients of one batch whose sample weights sum to batch_weight_sum (its size unweighted)."""
        self.prepare_step(batch_weight_sum, cycle_position)
        self.optimizer.step()

    def prepare_step(self, batch_weight_sum, cycle_position=None):
        """Everything step does before the optimizer's update: count the step, set the groups' hyperparameters
        for it (learning rate, L2 term, Adam's epsilon, one-cycle's momentum) and apply the decoupled weight
        decay. The direct step (_direct.py) then runs the update's native calls itself."""
        self.steps += 1
        lr = self.learning_rate
        if self.one_cycle:
            lr, momentum = one_cycle_values(self.learning_rate_init, min(cycle_position, 1.0))
            self._set_momentum(momentum)
        for group in (self.weight_group, self.other_group):
            group["lr"] = lr
        self.weight_group["weight_decay"] = self.alpha / batch_weight_sum
        if self.solver == "adam":
            eps = self.epsilon / math.sqrt(1.0 - self.beta_2 ** self.steps)
            self.weight_group["eps"] = self.other_group["eps"] = eps
        if self.decoupled_weight_decay > 0:  # AdamW-style: shrink the weights before the gradient step
            for weight in self.weight_arrays:
                weight *= 1.0 - lr * self.decoupled_weight_decay

    def _set_momentum(self, momentum):
        for group in (self.weight_group, self.other_group):
            if self.solver == "adam":
                group["betas"] = (momentum, group["betas"][1])
            elif self.momentum > 0:
                group["momentum"] = momentum

    # --- scikit-learn's per-epoch learning-rate logic -------------------------------------------------
    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self._set_learning_rate(self.learning_rate_init / (time_step + 1) ** self.power_t)

    def trigger_stopping(self, message, verbose):
        """True when training should stop; 'adaptive' instead divides the learning rate by 5 (down to 1e-6)."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(message + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self._set_learning_rate(self.learning_rate / 5.0)
        if verbose:
            print(message + " Setting learning rate to %f" % self.learning_rate)
        return False

    def _set_learning_rate(self, new_rate):
        if self.solver == "sgd" and self.momentum > 0 and new_rate != self.learning_rate:
            scale = self.learning_rate / new_rate
            for state in self.optimizer.state.values():
                buffer = state.get("momentum_buffer")
                if buffer is not None:
                    parameter_array(buffer)[...] *= scale
        self.learning_rate = new_rate

    # --- pickling -----------------------------------------------------------------------------------
    def __getstate__(self):
        """Hyperparameters and the optimizer's state as NumPy arrays; the live tensors are rebound on load."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "weight_arrays", "weight_group", "other_group")}
        saved = self.optimizer.state_dict()
        state["optimizer_state"] = {
            "state": {index: {name: _to_numpy(value) for name, value in entry.items()}
                      for index, entry in saved["state"].items()},
            "param_groups": [dict(group) for group in saved["param_groups"]],
        }
        return state

    def rebind(self, network, estimator):
        """After unpickling: a fresh optimizer over `network` loaded with the saved state."""
        saved = self.__dict__.pop("optimizer_state")
        self.optimizer = self._make_optimizer(network, estimator)
        saved["state"] = {index: {name: _to_tensor(value) for name, value in entry.items()}
                          for index, entry in saved["state"].items()}
        self.optimizer.load_state_dict(saved)
        self.rebind_arrays(network)


def _to_tensor(value):
    return as_tensor(np.array(value, copy=True)) if isinstance(value, np.ndarray) else value


def _to_numpy(value):
    if hasattr(value, "numpy"):
        return np.array(host_array(parameter_array(value)), copy=True)
    return value
