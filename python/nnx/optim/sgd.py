"""SGD with momentum, dampening, Nesterov and weight decay: one fused native call per parameter group."""
from .. import _C
from .optimizer import Optimizer, check_non_negative, subset

_MOMENTUM = ("momentum_buffer",)


class SGD(Optimizer):
    """torch.optim.SGD. The momentum buffer starts as the first gradient (PyTorch's first-step rule)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, fused=None):
        # foreach/fused are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_non_negative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening "
                             f"(got momentum={group['momentum']}, dampening={group['dampening']})")

    def _step_group(self, group):
        momentum = float(group["momentum"])
        gathered = self._gather(group, _MOMENTUM if momentum != 0 else ())
        if gathered is None:
            return
        param_arrays, grad_arrays, bundle = gathered
        # Positional arguments: lr, momentum, dampening, weight_decay, nesterov, maximize (then first_step).
        hyper = (float(group["lr"]), momentum, float(group["dampening"]), float(group["weight_decay"]),
                 bool(group["nesterov"]), bool(group["maximize"]))
        if momentum == 0:
            _C.sgd_step(param_arrays, grad_arrays, None, *hyper, False)
            return
        buffers = bundle.buffers["momentum_buffer"]
        fresh = bundle.take_fresh()
        if not fresh:
            _C.sgd_step(param_arrays, grad_arrays, buffers, *hyper, False)
            return
        # New buffers take b = g (first_step); the others b = momentum b + (1 - dampening) g.
        continuing = [i for i in range(len(param_arrays)) if i not in set(fresh)]
        for indices, first_step in ((continuing, False), (fresh, True)):
            if indices:
                members = None if len(indices) == len(param_arrays) else indices
                _C.sgd_step(subset(param_arrays, members), subset(grad_arrays, members), subset(buffers, members),
                            *hyper, first_step)
