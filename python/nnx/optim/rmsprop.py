"""RMSprop (optionally centered, with momentum): one fused native call per parameter group."""
from .. import _C
from .optimizer import Optimizer, check_non_negative, gather_grads


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = alpha v + (1 - alpha) g^2; step g / (sqrt(v) + eps), centered subtracts
    the squared running mean of g; momentum accumulates the scaled step."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False, foreach=None):
        # foreach is accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_non_negative(group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _step_group(self, group):
        params, param_arrays, grad_arrays = gather_grads(group)
        if not params:
            return
        momentum, centered = float(group["momentum"]), bool(group["centered"])
        square_avgs = []
        grad_avgs = [] if centered else None
        momentum_buffers = [] if momentum > 0 else None
        for p, array in zip(params, param_arrays):
            state = self.state[p]
            state["step"] = state.get("step", 0) + 1
            square_avgs.append(self._buffer(state, "square_avg", array))
            if momentum > 0:
                momentum_buffers.append(self._buffer(state, "momentum_buffer", array))
            if centered:
                grad_avgs.append(self._buffer(state, "grad_avg", array))
        _C.rmsprop_step(param_arrays, grad_arrays, square_avgs, grad_avgs, momentum_buffers,
                        lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]), momentum=momentum, centered=centered,
                        maximize=bool(group["maximize"]))
