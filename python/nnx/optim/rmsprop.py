"""RMSprop (optionally centered, with momentum): one fused native call per parameter group."""
from __future__ import annotations

from .. import _C
from .optimizer import Optimizer, ParamsT
from .stepping import native_steps
from .validation import flag, fraction, non_negative


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = alpha v + (1 - alpha) g^2; step g / (sqrt(v) + eps), centered subtracts
    the squared running mean of g; momentum accumulates the scaled step."""

    _hyper_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None):
        # foreach is accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _pack_hyper(self, values):
        """(lr, alpha, eps, weight_decay, momentum, centered, maximize), checked; alpha above 1 would make
        the squared average negative."""
        lr, alpha, eps, weight_decay, momentum, centered, maximize = values
        return (non_negative(lr, "lr"), fraction(alpha, "alpha"), non_negative(eps, "eps"),
                non_negative(weight_decay, "weight_decay"), non_negative(momentum, "momentum"),
                flag(centered, "centered"), flag(maximize, "maximize"))

    def _plan_group(self, group, check):
        hyper = self._check_hyper(group)
        momentum, centered = hyper[4], hyper[5]
        names = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) + (("grad_avg",) if centered else ())
        gathered = self._gather(group, names, check)
        if gathered is None:
            return None
        param_arrays, grad_arrays, bundle = gathered
        steps = bundle.next_steps()  # kept for PyTorch's state format; the update does not use it
        buffers = bundle.buffers
        rmsprop_step = native_steps(_C, param_arrays[0]).rmsprop_step

        def update():
            # Positional arguments: lr, alpha, eps, weight_decay, momentum, centered, maximize.
            rmsprop_step(param_arrays, grad_arrays, buffers["square_avg"], buffers.get("grad_avg"),
                         buffers.get("momentum_buffer"), *hyper)
            bundle.commit(steps)  # only now: a refused call leaves the step counts and the new buffers unrecorded
        return update
