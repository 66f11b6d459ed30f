"""RMSprop (optionally centered, with momentum): one fused native call per parameter group."""
from .. import _C
from .optimizer import Optimizer, advance_steps, check_non_negative


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
        momentum, centered = float(group["momentum"]), bool(group["centered"])
        names = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) + (("grad_avg",) if centered else ())
        gathered = self._gather(group, names)
        if gathered is None:
            return
        param_arrays, grad_arrays, bundle = gathered
        advance_steps(bundle.states)  # kept for PyTorch's state format; the update does not use it
        buffers = bundle.buffers
        # Positional arguments: lr, alpha, eps, weight_decay, momentum, centered, maximize.
        _C.rmsprop_step(param_arrays, grad_arrays, buffers["square_avg"], buffers.get("grad_avg"),
                        buffers.get("momentum_buffer"), float(group["lr"]), float(group["alpha"]),
                        float(group["eps"]), float(group["weight_decay"]), momentum, centered,
                        bool(group["maximize"]))
