"""Adam and AdamW: one fused native call (nnx._C.adam_step) updates a whole parameter group."""
from .. import _C
from .optimizer import Optimizer, advance_steps, check_non_negative, subset

_MOMENTS = ("exp_avg", "exp_avg_sq")
_MOMENTS_AMSGRAD = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")


class Adam(Optimizer):
    """torch.optim.Adam: m, v moment estimates with bias correction; L2 weight decay added to the gradient
    (or decoupled, AdamW's way, with decoupled_weight_decay=True)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False, foreach=None, fused=None):
        # foreach/fused are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate_group(self, group):
        check_non_negative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta} (expected 0 <= beta < 1)")

    def _step_group(self, group):
        amsgrad = bool(group["amsgrad"])
        gathered = self._gather(group, _MOMENTS_AMSGRAD if amsgrad else _MOMENTS)
        if gathered is None:
            return
        param_arrays, grad_arrays, bundle = gathered
        exp_avgs, exp_avg_sqs = bundle.buffers["exp_avg"], bundle.buffers["exp_avg_sq"]
        max_exp_avg_sqs = bundle.buffers.get("max_exp_avg_sq")
        beta1, beta2 = group["betas"]
        hyper = (float(group["lr"]), float(beta1), float(beta2), float(group["eps"]), float(group["weight_decay"]),
                 bool(group["decoupled_weight_decay"]), amsgrad, bool(group["maximize"]))
        for step, members in advance_steps(bundle.states):
            # Positional arguments: pybind11 parses keywords several microseconds slower.
            _C.adam_step(subset(param_arrays, members), subset(grad_arrays, members), subset(exp_avgs, members),
                         subset(exp_avg_sqs, members), subset(max_exp_avg_sqs, members), step, *hyper)


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (theta -= lr * weight_decay * theta first)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
