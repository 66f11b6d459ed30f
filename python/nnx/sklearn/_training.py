"""The estimators' training loop for the stochastic solvers: scikit-learn's _fit_stochastic (same epochs,
batches, shuffling stream, loss bookkeeping, tol / n_iter_no_change stopping, early stopping with the best
weights restored) over an nnx network, lean enough that Python is a small part of each step. The step itself goes
straight to the native kernels in the usual case (_direct.py), through autograd and nnx.optim otherwise."""
import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches

from nnx.deferred import DeviceScalars
from nnx.tensor import move_array

from . import _warnings
from ._direct import direct_step_for
from ._network import (
    as_tensor,
    dense_rows,
    host_state,
    load_network_state,
    network_state,
    raw_outputs,
    squared_weight_norm,
    squared_weight_norms,
)
from ._progress import Progress
from ._solvers import StochasticSolver


class TrainingData:
    """The rows one fit trains on: X (float32, dense or sparse), the loss targets, the sample weights (or None)
    and, for Poisson, per-sample constants of the reported loss. `rows` maps positions to rows of X.

    With a device, batches of X and the targets come on that device: dense X and the targets are copied there
    once and each batch is gathered there (sparse X: each batch is densified on the host and uploaded);
    weights and constants stay on the host, where the reported loss is computed."""

    def __init__(self, X, targets, sample_weight, constants, rows=None, device=None):
        self.X, self.targets, self.sample_weight, self.constants, self.rows = X, targets, sample_weight, constants, rows
        self.device = device
        if device is not None:
            self._device_X = None if hasattr(X, "toarray") else move_array(np.ascontiguousarray(X), device)
            self._device_targets = move_array(targets, device)

    def __len__(self):
        return self.X.shape[0] if self.rows is None else len(self.rows)

    def rows_of(self, positions):
        """The rows of X at the given positions (a slice or an index array)."""
        return positions if self.rows is None else self.rows[positions]

    def batch(self, positions):
        """(X, targets, weights, constants) of the given positions (a slice or an index array)."""
        rows = self.rows_of(positions)
        weights = None if self.sample_weight is None else self.sample_weight[rows]
        constants = None if self.constants is None else self.constants[rows]
        if self.device is None:
            return dense_rows(self.X, rows), self.targets[rows], weights, constants
        device_rows = rows if isinstance(rows, slice) else move_array(np.asarray(rows, dtype=np.int64), self.device)
        if self._device_X is None:
            X_rows = move_array(dense_rows(self.X, rows), self.device)
        else:
            X_rows = self._device_X[device_rows]
        return X_rows, self._device_targets[device_rows], weights, constants


class _UnreadBatchLosses:
    """An epoch's batch losses and squared weight norms still on the device, with each batch's host numbers."""

    def __init__(self):
        self.batches, self.values = [], DeviceScalars()

    def append(self, host_numbers, loss, norms):
        self.batches.append(host_numbers)
        self.values.append(loss)
        for norm in norms:
            self.values.append(norm)

    def read(self):
        """(host numbers, loss, [norms]) per batch, in order, the device values read in one transfer."""
        values = iter(self.values.read().tolist())
        for host_numbers in self.batches:
            loss = next(values)
            yield host_numbers, loss, [next(values) for _ in range(host_numbers[2])]


def _sum_from_zero(values):
    """sum(values) added left to right from 0.0, as squared_weight_norm adds its floats."""
    total = 0.0
    for value in values:
        total += value
    return total


def split_for_early_stopping(estimator, Y, n_samples):
    """Train and validation row indices, drawn like scikit-learn's train_test_split of (X, y) with the same
    random stream; stratified by class for single-label classification (not multi-label, not regression)."""
    stratify = None
    if estimator._objective.out_activation == "softmax":
        stratify = np.argmax(Y, axis=1)
    elif estimator._is_classifier and Y.shape[1] == 1:
        stratify = Y[:, 0]
    train_rows, val_rows = train_test_split(np.arange(n_samples), random_state=estimator._random_state,
                                            test_size=estimator.validation_fraction, stratify=stratify)
    if len(val_rows) < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
    return train_rows, val_rows


def reshuffle(order, random_state):
    """sklearn.utils.shuffle(order, random_state=random_state) without its input validation (a measurable
    cost per epoch on small data): the same draws from the same RandomState, so the same batches."""
    permutation = np.arange(len(order))
    random_state.shuffle(permutation)
    return order[permutation]


def batch_slices(n_samples, batch_size, avoid_single_sample):
    """scikit-learn's gen_batches; with batch norm a trailing batch of one sample joins the previous batch
    (batch statistics of one sample are undefined)."""
    slices = list(gen_batches(n_samples, batch_size))
    if avoid_single_sample and len(slices) > 1 and slices[-1].stop - slices[-1].start == 1:
        slices[-2:] = [slice(slices[-2].start, slices[-1].stop)]
    return slices


def resolve_batch_size(estimator, n_samples):
    if estimator.batch_size == "auto":
        return min(200, n_samples)
    if estimator.batch_size > n_samples:
        _warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    return int(np.clip(estimator.batch_size, 1, n_samples))


def fit_stochastic(est, X, Y, sample_weight, incremental, device=None):
    """Train est._network (on `device` when given: the network is already there) with est's solver; sets
    loss_, loss_curve_, n_iter_, t_ and the early-stopping attributes exactly where scikit-learn sets them."""
    if not incremental or getattr(est, "_solver", None) is None:
        est._solver = StochasticSolver(est._network, est)
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    _prepare_stopping_state(est)
    targets = est._objective.targets(Y)
    data = TrainingData(X, targets, sample_weight, est._objective.sample_constants(targets), device=device)
    validation = None
    if est.early_stopping:
        train_rows, val_rows = split_for_early_stopping(est, Y, X.shape[0])
        data.rows = train_rows  # (batch() reads rows at each call: setting it here is enough)
        validation = _Validation(est, data, val_rows, Y)
    epoch_loop = _EpochLoop(est, data, validation)
    est._network.train()
    try:
        with np.errstate(over="ignore"):  # diverging weights overflow the L2 term; the loop reports non-finite loss
            epoch_loop.run(incremental)
    except KeyboardInterrupt:
        _warnings.warn("Training interrupted by user.")
    finally:
        est._network.eval()
    if validation is not None:  # restore the best weights (and batch-norm statistics)
        load_network_state(est._network, est._best_state)
        est._best_state = host_state(est._best_state)


def _prepare_stopping_state(est):
    """A warm start may switch early_stopping on or off: start the bookkeeping the new mode needs."""
    if est.early_stopping and getattr(est, "validation_scores_", None) is None:
        est.validation_scores_, est.validation_loss_curve_ = [], []
        est.best_validation_score_, est.best_loss_ = -np.inf, None
        est._best_state = network_state(est._network)
    elif not est.early_stopping and est.best_loss_ is None:
        est.best_loss_ = np.inf
        est.validation_scores_ = est.validation_loss_curve_ = est.best_validation_score_ = None


class _Validation:
    """The held-out split of early stopping: its score (accuracy or R^2) and loss after every epoch."""

    def __init__(self, est, data, rows, Y):
        self.est = est
        self.X = dense_rows(data.X, rows)
        self.targets = data.targets[rows]
        self.sample_weight = None if data.sample_weight is None else data.sample_weight[rows]
        self.Y = Y[rows]

    def evaluate(self):
        """(score, loss) of the current network on the validation rows, in eval mode."""
        network = self.est._network
        network.eval()
        try:
            scores = raw_outputs(network, self.X)
        finally:
            network.train()
        score = self.est._score_from_raw(scores, self.Y, self.sample_weight)
        loss = self.est._objective.numpy_loss(scores, self.targets, self.sample_weight)
        return score, loss


class _EpochLoop:
    """scikit-learn's epoch loop; one instance per fit / partial_fit call."""

    def __init__(self, est, data, validation):
        self.est, self.data, self.validation = est, data, validation
        self.solver = est._solver
        self.n_samples = len(data)
        self.batch_size = resolve_batch_size(est, self.n_samples)
        self.slices = batch_slices(self.n_samples, self.batch_size, bool(est.batch_norm))
        self.sample_order = np.arange(self.n_samples, dtype=int)
        self.alpha = float(est.alpha)
        self.cycle_steps = est.max_iter * len(self.slices)
        self.progress = Progress(est.verbose, len(self.slices))
        max_rows = max(batch.stop - batch.start for batch in self.slices)
        self.direct = direct_step_for(est, data, self.solver, max_rows)

    def run(self, incremental):
        est = self.est
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            started = time.perf_counter()
            if est.shuffle:
                self.sample_order = reshuffle(self.sample_order, est._random_state)
            est.loss_ = self._train_one_epoch() / self.n_samples
            est.n_iter_ += 1
            est.t_ += self.n_samples
            est.loss_curve_.append(est.loss_)
            self._check_finite()
            self._update_no_improvement_count()
            self.progress.epoch_end(est, time.perf_counter() - started)
            self.solver.iteration_ends(est.t_)
            if self._should_stop():
                break
            if incremental:
                break
            if est.n_iter_ == est.max_iter and est.lr_schedule != "one_cycle":
                _warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                              "hasn't converged yet." % est.max_iter, ConvergenceWarning)

    def _train_one_epoch(self):
        """Sum over batches of (batch loss x batch size), scikit-learn's accumulated_loss. On a GPU the batches'
        losses and weight norms stay on the device until the epoch ends, then are read in one transfer (the host
        would otherwise wait for the GPU at every batch); the sum is the same arithmetic."""
        accumulated = 0.0
        unread = _UnreadBatchLosses() if self.data.device is not None else None
        for batch_slice in self.slices:
            positions = self.sample_order[batch_slice] if self.est.shuffle else batch_slice
            batch_loss = self._train_one_batch(positions, unread)
            if batch_loss is not None:
                accumulated += batch_loss * (batch_slice.stop - batch_slice.start)
            self.progress.batch_end()
        if unread is not None:
            for (constant, weight_sum, _n_norms, n_batch), loss, norms in unread.read():
                penalty = 0.5 * self.alpha * _sum_from_zero(norms) / weight_sum if self.alpha else 0.0
                accumulated += (self.est._objective.reported(loss, constant) + penalty) * n_batch
        return accumulated

    def _train_one_batch(self, positions, unread=None):
        """The batch's reported loss (L2 term included), or None when it went to `unread` (on a GPU)."""
        est, solver = self.est, self.solver
        if self.direct is not None:  # (no sample weights, no per-sample constants, host memory)
            rows = self.data.rows_of(positions)
            X_batch, targets = self.direct.rows(self.data.X, rows), self.data.targets[rows]
            n_batch = X_batch.shape[0]
            penalty = 0.5 * self.alpha * squared_weight_norm(solver.weight_arrays) / n_batch if self.alpha else 0.0
            value = self.direct.step(X_batch, targets, float(n_batch), solver.steps / self.cycle_steps)
            return est._objective.reported(value) + penalty
        X_batch, targets, weights, constants = self.data.batch(positions)
        n_batch = X_batch.shape[0]
        weight_sum, weight_tensor = float(n_batch), None
        if weights is not None:
            weight_sum = float(weights.sum())
            if weight_sum == 0:  # the weighted mean's gradient is undefined; these samples contribute nothing
                return 0.0
            weight_tensor = est._objective.weight_tensor(weights, weight_sum)
            if self.data.device is not None:
                weight_tensor = weight_tensor.to(self.data.device)
        scores = est._network(as_tensor(X_batch))
        loss = est._objective.batch_objective(scores, as_tensor(targets), weight_tensor)
        # sklearn's reported loss uses the weights before this step's update
        if unread is None:
            penalty = 0.5 * self.alpha * squared_weight_norm(solver.weight_arrays) / weight_sum if self.alpha else 0.0
        else:
            norms = squared_weight_norms(solver.weight_arrays) if self.alpha else []
        solver.zero_grad()
        loss.backward()
        solver.step(weight_sum, cycle_position=solver.steps / self.cycle_steps)
        constant = 0.0 if constants is None else float(np.average(constants, weights=weights))
        if unread is not None:
            unread.append((constant, weight_sum, len(norms), n_batch), loss._data, norms)
            return None
        return est._objective.reported(loss.item(), constant) + penalty

    def _check_finite(self):
        if np.isfinite(self.est.loss_) or self.validation is not None:
            return  # with early stopping the best (finite) weights are restored, as in scikit-learn
        raise ValueError(f"The training loss became non-finite ({self.est.loss_}) at iteration {self.est.n_iter_}. "
                         "The input data may contain large values and need to be preprocessed (e.g. "
                         "StandardScaler), or learning_rate_init may be too large.")

    def _update_no_improvement_count(self):
        est = self.est
        if self.validation is not None:
            score, loss = self.validation.evaluate()
            est.validation_scores_.append(score)
            est.validation_loss_curve_.append(loss)
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_state = network_state(est._network, on_device=True)
            return
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]

    def _should_stop(self):
        """scikit-learn's n_iter_no_change test (which one-cycle, a fixed-length schedule, does not use with
        the training loss)."""
        est = self.est
        if est._no_improvement_count <= est.n_iter_no_change:
            return False
        if est.lr_schedule == "one_cycle" and self.validation is None:
            return False
        if self.validation is not None:
            message = ("Validation score did not improve more than tol=%f for %d consecutive epochs."
                       % (est.tol, est.n_iter_no_change))
        else:
            message = ("Training loss did not improve more than tol=%f for %d consecutive epochs."
                       % (est.tol, est.n_iter_no_change))
        if self.solver.trigger_stopping(message, est.verbose):
            return True
        est._no_improvement_count = 0
        return False
