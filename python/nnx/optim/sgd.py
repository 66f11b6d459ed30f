"""SGD with momentum, dampening, Nesterov and weight decay: one fused native call per parameter group."""
from __future__ import annotations

from .. import _C
from .optimizer import Optimizer, ParamsT
from .stepping import native_steps, subset
from .validation import flag, fraction, non_negative

_MOMENTUM = ("momentum_buffer",)


class SGD(Optimizer):
    """torch.optim.SGD. The momentum buffer starts as the first gradient (PyTorch's first-step rule)."""

    _hyper_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, fused: bool | None = None):
        # foreach/fused are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _pack_hyper(self, values):
        """(lr, momentum, dampening, weight_decay, nesterov, maximize), checked."""
        lr, momentum, dampening, weight_decay, nesterov, maximize = values
        momentum, dampening = non_negative(momentum, "momentum"), fraction(dampening, "dampening")
        nesterov = flag(nesterov, "nesterov")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        return (non_negative(lr, "lr"), momentum, dampening, non_negative(weight_decay, "weight_decay"), nesterov,
                flag(maximize, "maximize"))

    def _plan_group(self, group, check):
        hyper = self._check_hyper(group)
        momentum = hyper[1]
        gathered = self._gather(group, _MOMENTUM if momentum != 0 else (), check)
        if gathered is None:
            return None
        param_arrays, grad_arrays, bundle = gathered
        sgd_step = native_steps(_C, param_arrays[0]).sgd_step
        if momentum != 0 and bundle.fresh:
            if not check and len(bundle.fresh) != len(param_arrays):  # two native calls: checked before the first
                bundle.check(param_arrays, grad_arrays)
            return lambda: self._first_momentum_step(sgd_step, param_arrays, grad_arrays, bundle, hyper)
        buffers = bundle.buffers["momentum_buffer"] if momentum != 0 else None

        def update():
            # Positional arguments: lr, momentum, dampening, weight_decay, nesterov, maximize (then first_step).
            sgd_step(param_arrays, grad_arrays, buffers, *hyper, False)
            bundle.commit()  # only now: a refused call leaves new buffers unrecorded and still "fresh"
        return update

    @staticmethod
    def _first_momentum_step(sgd_step, param_arrays, grad_arrays, bundle, hyper):
        """New buffers take b = g (first_step); the others b = momentum b + (1 - dampening) g."""
        buffers, fresh = bundle.buffers["momentum_buffer"], set(bundle.fresh)
        continuing = [i for i in range(len(param_arrays)) if i not in fresh]
        for indices, first_step in ((continuing, False), (sorted(fresh), True)):
            if indices:
                members = None if len(indices) == len(param_arrays) else indices
                sgd_step(subset(param_arrays, members), subset(grad_arrays, members), subset(buffers, members),
                         *hyper, first_step)
        bundle.commit()  # only now: a refused call leaves new buffers unrecorded and still "fresh"
