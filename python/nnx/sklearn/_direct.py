"""The stochastic solvers' training step straight over the network's NumPy arrays, for the usual case (host
memory, Linear + activation layers only, no sample weights, a softmax, logistic or squared-error loss).

It calls the native kernels autograd and nnx.optim call for the same step (the fused linear forward and backward,
the loss kernel that also writes dloss/dscores, the fused adam/sgd step), in the same order with the same
arguments, so it trains the same model bit for bit; what it leaves out is the per-batch bookkeeping around them
(building and walking a graph, wrapping Tensors, fresh output and gradient arrays, planning the optimizer's step),
which on small batches (digits: 200 x 64) cost as much as the arithmetic. Activations and gradients go into
arrays allocated once per fit. The optimizer's state stays in the nnx optimizer's state table (its moment buffers,
its step counts), so pickling, partial_fit and warm starts see what the generic path would have left there.

Anything else (batch norm, dropout, a GPU, sample weights, the Poisson loss) trains through the generic path in
_training.py."""
import numpy as np

from nnx import _C, nn
from nnx.optim.state import set_entry
from nnx.tensor import Tensor

from ._network import dense_rows

# The activations Sequential fuses into its Linear (the names the fused linear kernels take).
_ACTIVATION_NAMES = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
_NEGATIVE_SLOPE = 0.01  # (unused by these activations; the kernels' default, as fused_linear passes it)


def _layer_activations(network):
    """[(linear, activation name)] when the network is Linear layers each followed by nothing or one fusable
    activation (what build_network makes without batch norm and dropout), else None."""
    modules, layers, i = list(network), [], 0
    while i < len(modules):
        linear = modules[i]
        if type(linear) is not nn.Linear or linear.bias is None:
            return None
        following = modules[i + 1] if i + 1 < len(modules) else None
        name = _ACTIVATION_NAMES.get(type(following))
        layers.append((linear, name or "none"))
        i += 2 if name else 1
    return layers


def direct_step_for(est, data, solver, max_rows):
    """A DirectStep for this fit, or None when the generic path must train it."""
    if data.device is not None or data.sample_weight is not None or est._objective.out_activation == "exp":
        return None
    network = est._network
    layers = _layer_activations(network)
    if layers is None or any(type(p._data) is not np.ndarray or not p._data.flags.c_contiguous
                             for p in network.parameters()):
        return None
    if est.solver not in ("adam", "sgd") or not (hasattr(data.X, "toarray") or data.X.flags.c_contiguous):
        return None
    return DirectStep(est._objective, layers, solver, max_rows)


class DirectStep:
    """One fit's training step: step(X_batch, targets) trains on one batch and returns the value of the objective
    (what the generic path's loss.item() returns), the weights updated by the solver."""

    def __init__(self, objective, layers, solver, max_rows):
        self.objective, self.solver = objective, solver
        self.layers = [(linear.weight._data, linear.bias._data, name) for linear, name in layers]
        weights = [weight for weight, _, _ in self.layers]
        dtype = weights[0].dtype
        # Each layer's output (its activation's, which is what the backward reads), the gradient flowing into
        # each layer's input except the first (X needs none) and into the scores; rows [:n] serve n rows.
        self._outputs = [np.empty((max_rows, w.shape[0]), dtype) for w in weights]
        self._input_grads = [np.empty((max_rows, w.shape[1]), dtype) for w in weights[1:]]
        self._score_grads = np.empty((max_rows, weights[-1].shape[0]), dtype)
        self._logsumexp = np.empty((max_rows,), dtype)
        self._X_rows = np.empty((max_rows, weights[0].shape[1]), dtype)
        self._plans = {}  # batch rows -> views of the buffers (two sizes per fit: the batch size and the last one)
        self.weight_grads = [np.empty_like(w) for w in weights]
        self.bias_grads = [np.empty_like(b) for _, b, _ in self.layers]
        self.loss = np.empty((), dtype)
        self.loss_scale = _loss_scale(objective)
        self.grad_loss = np.full((), self.loss_scale, dtype)  # the upstream gradient of a scaled pointwise loss
        self.update = _SolverUpdate(solver, [linear.weight for linear, _ in layers],
                                    [linear.bias for linear, _ in layers], self.weight_grads, self.bias_grads)

    def rows(self, X, rows):
        """X[rows] as the step takes it: a view for a slice of dense X, else gathered into an array of this fit
        (a fresh array per batch costs page faults once it is large: 128 x 784 float32 is 400 kB)."""
        if isinstance(rows, slice) or hasattr(X, "toarray"):
            return dense_rows(X, rows)
        out = self._X_rows[:len(rows)]
        X.take(rows, axis=0, out=out, mode="clip")  # (valid positions; "clip" writes out directly, unbuffered)
        return out

    def _plan(self, n):
        """(forward [(weight, bias, activation, out)], backward [(weight, activation, out, grad_in, weight grad,
        bias grad)] from the last layer, score gradient, logsumexp) over the buffers' first n rows."""
        plan = self._plans.get(n)
        if plan is None:
            outs = [out[:n] for out in self._outputs]
            grads_in = [None] + [grad[:n] for grad in self._input_grads]
            forward = [(w, b, act, out) for (w, b, act), out in zip(self.layers, outs)]
            backward = [(w, act, out, grad_in, gw, gb) for (w, _, act), out, grad_in, gw, gb
                        in zip(self.layers, outs, grads_in, self.weight_grads, self.bias_grads)][::-1]
            plan = self._plans[n] = (forward, backward, self._score_grads[:n], self._logsumexp[:n])
        return plan

    def step(self, X_batch, targets, batch_weight_sum, cycle_position):
        forward, backward, grad, logsumexp = self._plan(X_batch.shape[0])
        linear_forward, linear_backward = _C.linear_forward, _C.linear_backward
        x = X_batch
        for weight, bias, activation, out in forward:
            linear_forward(x, weight, bias, out, activation, _NEGATIVE_SLOPE, None)
            x = out
        value = self._loss(x, targets, grad, logsumexp)
        # (the reported loss's L2 term reads the weights before the update: the caller computed it already)
        for i, (weight, activation, out, grad_x, weight_grad, bias_grad) in enumerate(backward):
            x = X_batch if grad_x is None else backward[i + 1][2]  # the layer's input: the previous one's output
            # grad_preact is grad itself (the kernel's allowed exact alias): the gradient buffers are ours to reuse
            linear_backward(grad, x, weight, out, grad, grad_x, weight_grad, bias_grad, activation, _NEGATIVE_SLOPE,
                            False)
            grad = grad_x
        self.update(batch_weight_sum, cycle_position)
        return value

    def _loss(self, scores, targets, grad_scores, logsumexp):
        """The objective's value, dloss/dscores written into grad_scores: the kernels (and scale) batch_objective
        differentiates, without sample weights."""
        kind = self.objective.out_activation
        if kind == "softmax":
            _C.cross_entropy_forward(scores, targets, self.loss, logsumexp, grad_scores, "mean", -100, 0.0)
            return self.loss.item()
        name = "bce_with_logits" if kind == "logistic" else "mse_loss"
        getattr(_C, name + "_forward")(scores, targets, self.loss, "mean")
        getattr(_C, name + "_backward")(self.grad_loss, scores, targets, grad_scores, "mean")
        if self.loss_scale == 1.0:
            return self.loss.item()
        return np.multiply(self.loss, self.loss_scale).item()


def _loss_scale(objective):
    """The constant batch_objective multiplies the mean pointwise loss by (scikit-learn sums the binary log-loss
    over the outputs; its squared error is half the sum over outputs)."""
    if objective.out_activation == "identity":
        return 0.5 * objective.n_outputs
    if objective.out_activation == "logistic" and objective.n_outputs > 1:
        return float(objective.n_outputs)
    return 1.0


class _SolverUpdate:
    """The solver's step with given gradient arrays: StochasticSolver.prepare_step sets the groups' hyperparameters
    exactly as for optimizer.step(), then one fused native call per group (weights, biases) updates the arrays with
    the optimizer's own state buffers, and the state's step counts advance as the optimizer's would."""

    def __init__(self, solver, weights, biases, weight_grads, bias_grads):
        self.solver = solver
        optimizer = solver.optimizer
        self.adam = solver.solver == "adam"
        # (SGD without momentum keeps no buffer, as nnx's SGD; one-cycle never sets a momentum of 0)
        buffer_names = ("exp_avg", "exp_avg_sq") if self.adam else ("momentum_buffer",) if solver.momentum else ()
        self.groups = []
        for group, params, grads in ((solver.weight_group, weights, weight_grads),
                                     (solver.other_group, biases, bias_grads)):
            states = [optimizer.state[p] for p in params]  # (created empty if new: a StateTable edit)
            fresh = not self.adam and any(state.get("momentum_buffer") is None for state in states)
            buffers = [[_state_buffer(state, name, p) for state, p in zip(states, params)] for name in buffer_names]
            self.groups.append((group, [p._data for p in params], grads, buffers, states, fresh))

    def __call__(self, batch_weight_sum, cycle_position):
        self.solver.prepare_step(batch_weight_sum, cycle_position)
        for index, (group, params, grads, buffers, states, fresh) in enumerate(self.groups):
            step = states[0].get("step", 0) + 1
            if self.adam:
                beta1, beta2 = group["betas"]
                _C.adam_step(params, grads, buffers[0], buffers[1], None, step, group["lr"], beta1, beta2, group["eps"],
                             group["weight_decay"], False, False, False)
                for state in states:
                    set_entry(state, "step", step)
                continue
            momentum = group["momentum"]
            if momentum == 0:
                _C.sgd_step(params, grads, None, group["lr"], 0.0, group["dampening"], group["weight_decay"],
                            False, False, False)
                continue
            _C.sgd_step(params, grads, buffers[0], group["lr"], momentum, group["dampening"], group["weight_decay"],
                        group["nesterov"], False, fresh)
            if fresh:  # PyTorch's first-step rule ran (buffer = gradient): later steps use the momentum
                self.groups[index] = (group, params, grads, buffers, states, False)


def _state_buffer(state, name, param):
    """The parameter's state buffer `name` (a zero-filled one put into its state if it has none)."""
    buffer = state.get(name)
    if buffer is None:
        buffer = state[name] = Tensor._wrap(np.zeros_like(param._data))
    return buffer._data if isinstance(buffer, Tensor) else buffer
