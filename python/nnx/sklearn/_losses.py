"""scikit-learn's MLP losses on nnx tensors: one objective per output activation whose gradient is exactly the
one scikit-learn's _backprop computes (delta = output - y, weighted, divided by the batch's weight sum), and the
conversion to the loss value scikit-learn reports (loss_, loss_curve_)."""
import numpy as np
from scipy.special import expit, log_softmax, xlogy

from nnx.nn import functional as F

from ._network import as_tensor


class Objective:
    """The training loss for one output activation: 'softmax' (multiclass), 'logistic' (binary and multilabel),
    'identity' (squared error) or 'exp' (Poisson). Scores are the last Linear layer's outputs."""

    def __init__(self, out_activation, n_outputs, dtype=np.float32):
        self.out_activation = out_activation
        self.n_outputs = n_outputs
        self.dtype = np.dtype(dtype)  # the network's: targets and weights are handed over in it

    # --- targets ----------------------------------------------------------------------------------
    def targets(self, Y):
        """Y (n, n_outputs) as the loss wants it: class indices (int64) for softmax, the network's dtype otherwise."""
        if self.out_activation == "softmax":
            return np.ascontiguousarray(np.argmax(Y, axis=1), dtype=np.int64)
        return np.ascontiguousarray(Y, dtype=self.dtype)

    def sample_constants(self, targets):
        """Per-sample terms of the reported Poisson deviance that do not depend on the weights (else None)."""
        if self.out_activation != "exp":
            return None
        return (xlogy(targets, targets) - targets).sum(axis=1, dtype=np.float64)

    # --- the loss that is differentiated ------------------------------------------------------------
    def weight_tensor(self, sample_weight, weight_sum):
        """sample_weight / weight_sum as the Tensor batch_objective takes: (n,) for softmax, (n, 1) else."""
        normalized = (sample_weight / weight_sum).astype(self.dtype)
        shape = (-1,) if self.out_activation == "softmax" else (-1, 1)
        return as_tensor(np.ascontiguousarray(normalized.reshape(shape)))

    def batch_objective(self, scores, targets, weights=None):
        """A scalar tensor. weights: None (all ones) or a Tensor of the batch's sample weights divided by their
        sum, shape (n,) for softmax and (n, 1) otherwise."""
        kind = self.out_activation
        if kind == "softmax":
            if weights is None:
                return F.cross_entropy(scores, targets)
            return (F.cross_entropy(scores, targets, reduction="none") * weights).sum()
        if kind == "logistic":  # sklearn sums the binary log-loss over the outputs, averages over samples
            if weights is None:
                loss = F.binary_cross_entropy_with_logits(scores, targets)
                return loss if self.n_outputs == 1 else loss * float(self.n_outputs)
            return (F.binary_cross_entropy_with_logits(scores, targets, reduction="none") * weights).sum()
        if kind == "identity":  # sklearn's gradient is (output - y) summed over outputs: 0.5 * the summed MSE
            if weights is None:
                return F.mse_loss(scores, targets) * (0.5 * self.n_outputs)
            return (F.mse_loss(scores, targets, reduction="none") * (weights * 0.5)).sum()
        # exp (Poisson with log link): d/ds (exp(s) - y s) = exp(s) - y
        deviance = scores.exp() - targets * scores
        if weights is None:
            return deviance.sum() * (1.0 / scores.shape[0])
        return (deviance * weights).sum()

    def reported(self, objective_value, batch_constant=0.0):
        """scikit-learn's loss value (without the L2 term) from batch_objective's value."""
        if self.out_activation == "identity":
            return objective_value / self.n_outputs  # sklearn reports the mean over outputs
        return objective_value + batch_constant

    # --- NumPy versions (validation loss curve, prediction) ---------------------------------------
    def numpy_loss(self, scores, targets, sample_weight=None):
        """scikit-learn's loss (without the L2 term) of raw scores, in float64."""
        scores = np.asarray(scores, dtype=np.float64)
        kind = self.out_activation
        if kind == "softmax":
            per_sample = -log_softmax(scores, axis=1)[np.arange(len(targets)), targets]
        elif kind == "logistic":
            per_sample = (np.logaddexp(0.0, scores) - targets * scores).sum(axis=1)
        elif kind == "identity":
            per_sample = 0.5 * ((scores - targets) ** 2).mean(axis=1)
        else:
            per_sample = (xlogy(targets, targets) - targets * scores - targets + np.exp(scores)).sum(axis=1)
        return float(np.average(per_sample, weights=sample_weight))

    def activate(self, scores, dtype=np.float64):
        """The output activation of raw scores, computed in float64 and returned in dtype."""
        scores = np.asarray(scores, dtype=np.float64)
        kind = self.out_activation
        if kind == "softmax":
            scores = np.exp(log_softmax(scores, axis=1))
        elif kind == "logistic":
            scores = expit(scores)
        elif kind == "exp":
            scores = np.exp(scores)
        return scores.astype(dtype, copy=False)
