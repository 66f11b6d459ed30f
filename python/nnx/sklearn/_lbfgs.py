"""solver='lbfgs': scipy's L-BFGS-B over the whole training set, with the loss and its gradient from one nnx
forward and backward pass per evaluation (the L2 term added in NumPy, as scikit-learn adds it)."""

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

import nnx
from nnx.tensor import move_array, write_host_values

from . import _warnings
from ._network import (
    as_tensor,
    dense_rows,
    host_array,
    network_device,
    parameter_array,
    squared_weight_norm,
    weight_parameters,
)


class _FullBatchLoss:
    """f(packed parameters) -> (loss, gradient), both float64, for scipy.optimize.minimize(jac=True).

    On a GPU the forward and backward run there; parameters and gradients cross to the host once per
    evaluation, since scipy's L-BFGS-B works on host arrays."""

    def __init__(self, est, X, targets, sample_weight, constants):
        self.est, self.network, self.objective = est, est._network, est._objective
        self.alpha = float(est.alpha)
        self.parameters = list(self.network.parameters())
        self.arrays = [parameter_array(p) for p in self.parameters]
        weights, _ = weight_parameters(self.network)
        weight_ids = {id(w) for w in weights}
        self.is_weight = [id(p) in weight_ids for p in self.parameters]
        self.weight_arrays = [a for a, w in zip(self.arrays, self.is_weight) if w]  # what alpha penalises
        device = network_device(self.network)
        on_device = (lambda array: array) if device is None else (lambda array: move_array(array, device))
        self.X = as_tensor(on_device(np.ascontiguousarray(dense_rows(X, slice(None)))))
        self.targets = as_tensor(on_device(targets))
        self.weight_sum = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        self.weight_tensor = None
        if sample_weight is not None:
            self.weight_tensor = self.objective.weight_tensor(sample_weight, self.weight_sum)
            if device is not None:
                self.weight_tensor = self.weight_tensor.to(device)
        self.constant = 0.0 if constants is None else float(np.average(constants, weights=sample_weight))

    def pack(self):
        return np.concatenate([host_array(array).reshape(-1) for array in self.arrays]).astype(np.float64)

    def unpack(self, packed):
        start = 0
        for array in self.arrays:
            write_host_values(array, packed[start:start + array.size].reshape(array.shape))
            start += array.size

    def __call__(self, packed):
        self.unpack(packed)
        for parameter in self.parameters:
            parameter.grad = None
        loss = self.objective.batch_objective(self.network(self.X), self.targets, self.weight_tensor)
        loss.backward()
        penalty_scale = self.alpha / self.weight_sum
        value = loss.item() + 0.5 * penalty_scale * squared_weight_norm(self.weight_arrays)
        gradients = []
        for parameter, array, is_weight in zip(self.parameters, self.arrays, self.is_weight):
            gradient = np.asarray(host_array(parameter_array(parameter.grad)), dtype=np.float64).reshape(-1)
            if is_weight and penalty_scale:
                gradient = gradient + penalty_scale * host_array(array).reshape(-1)
            gradients.append(gradient)
        return value, np.concatenate(gradients)

    def reported_loss(self):
        """scikit-learn's loss_ at the current parameters (the mean over outputs for squared error)."""
        with nnx.no_grad():
            value = self.objective.batch_objective(self.network(self.X), self.targets, self.weight_tensor).item()
        penalty = 0.5 * self.alpha * squared_weight_norm(self.weight_arrays)
        return self.objective.reported(value, self.constant) + penalty / self.weight_sum


def fit_lbfgs(est, X, Y, sample_weight):
    """Minimise the full-batch loss; sets n_iter_ and loss_ like scikit-learn (ConvergenceWarning included)."""
    targets = est._objective.targets(Y)
    function = _FullBatchLoss(est, X, targets, sample_weight, est._objective.sample_constants(targets))
    est._network.train()
    try:
        result = scipy.optimize.minimize(function, function.pack(), method="L-BFGS-B", jac=True,
                                         options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
    finally:
        est._network.eval()
    function.unpack(result.x)
    if result.status != 0:
        _warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}):\n"
                      f"{result.message}.\n\nIncrease the number of iterations to improve the convergence "
                      f"(max_iter={est.max_iter}).\nYou might also want to scale the data.", ConvergenceWarning)
    est.n_iter_ = min(int(result.nit), est.max_iter)
    est.loss_ = function.reported_loss()
    if est.verbose:
        print(f"L-BFGS-B: {result.message} after {result.nit} iterations, loss = {est.loss_:.8f}")
