"""Adadelta: one fused native call (the parameters' backend's adadelta_step) updates a whole parameter group."""
from __future__ import annotations

from .. import _C
from .optimizer import Optimizer, ParamsT
from .stepping import native_steps
from .validation import check_not_differentiable, flag, fraction, non_negative

_BUFFERS = ("square_avg", "acc_delta")


class Adadelta(Optimizer):
    """torch.optim.Adadelta: v = rho v + (1 - rho) g^2; delta = sqrt(u + eps) / sqrt(v + eps) g;
    u = rho u + (1 - rho) delta^2; theta -= lr delta. L2 weight decay added to the gradient."""

    _hyper_names = ("lr", "rho", "eps", "weight_decay", "maximize")

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        # foreach/capturable are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _pack_hyper(self, values):
        """(lr, rho, eps, weight_decay, maximize), checked; rho in [0, 1] as PyTorch."""
        lr, rho, eps, weight_decay, maximize = values
        return (non_negative(lr, "lr"), fraction(rho, "rho"), non_negative(eps, "eps"),
                non_negative(weight_decay, "weight_decay"), flag(maximize, "maximize"))

    def _plan_group(self, group, check):
        hyper = self._check_hyper(group)
        gathered = self._gather(group, _BUFFERS, check)
        if gathered is None:
            return None
        param_arrays, grad_arrays, bundle = gathered
        steps = bundle.next_steps()  # kept for PyTorch's state format; the update does not use it
        square_avgs, acc_deltas = bundle.buffers["square_avg"], bundle.buffers["acc_delta"]
        adadelta_step = native_steps(_C, param_arrays[0]).adadelta_step

        def update():
            adadelta_step(param_arrays, grad_arrays, square_avgs, acc_deltas, *hyper)
            bundle.commit(steps)  # only now: a refused call leaves the step counts and the new buffers unrecorded
        return update
