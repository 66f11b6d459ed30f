"""SGD with momentum, dampening, Nesterov and weight decay: one fused native call per parameter group."""
from .. import _C
from .optimizer import Optimizer, check_non_negative, gather_grads, subset


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
        params, param_arrays, grad_arrays = gather_grads(group)
        if not params:
            return
        momentum = float(group["momentum"])
        hyper = dict(lr=float(group["lr"]), momentum=momentum, dampening=float(group["dampening"]),
                     weight_decay=float(group["weight_decay"]), nesterov=bool(group["nesterov"]),
                     maximize=bool(group["maximize"]))
        if momentum == 0:
            _C.sgd_step(param_arrays, grad_arrays, None, **hyper)
            return
        buffers, fresh, continuing = [], [], []
        for i, (p, array) in enumerate(zip(params, param_arrays)):
            state = self.state[p]
            (continuing if state.get("momentum_buffer") is not None else fresh).append(i)
            buffers.append(self._buffer(state, "momentum_buffer", array))
        # Parameters whose buffer is new take b = g (first_step); the others b = momentum b + (1 - dampening) g.
        for indices, first_step in ((continuing, False), (fresh, True)):
            if indices:
                members = None if len(indices) == len(params) else indices
                _C.sgd_step(subset(param_arrays, members), subset(grad_arrays, members), subset(buffers, members),
                            first_step=first_step, **hyper)
