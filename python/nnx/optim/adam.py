"""Adam and AdamW: one fused native call (the parameters' backend's adam_step) updates a whole parameter group."""
from __future__ import annotations

from .. import _C
from .optimizer import Optimizer, ParamsT
from .stepping import group_by_step, native_steps, subset
from .validation import check_betas, flag, non_negative

_MOMENTS = ("exp_avg", "exp_avg_sq")
_MOMENTS_AMSGRAD = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")


class Adam(Optimizer):
    """torch.optim.Adam: m, v moment estimates with bias correction; L2 weight decay added to the gradient
    (or decoupled, AdamW's way, with decoupled_weight_decay=True)."""

    _hyper_names = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "amsgrad", "maximize")

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, foreach: bool | None = None, fused: bool | None = None):
        # foreach/fused are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _pack_hyper(self, values):
        """(lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize), checked."""
        lr, betas, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize = values
        beta1, beta2 = check_betas(betas)
        return (non_negative(lr, "lr"), beta1, beta2, non_negative(eps, "eps"),
                non_negative(weight_decay, "weight_decay"), flag(decoupled_weight_decay, "decoupled_weight_decay"),
                flag(amsgrad, "amsgrad"), flag(maximize, "maximize"))

    def _frozen_hyper(self, values):
        """betas given as a list is kept as a tuple: it never equals the live list again, so an in-place
        edit of it (group['betas'][0] = ...) is re-validated and used, not missed."""
        if type(values[1]) is list:
            return values[:1] + (tuple(values[1]),) + values[2:]
        return values

    def _plan_group(self, group, check):
        hyper = self._check_hyper(group)
        amsgrad = hyper[6]
        gathered = self._gather(group, _MOMENTS_AMSGRAD if amsgrad else _MOMENTS, check)
        if gathered is None:
            return None
        param_arrays, grad_arrays, bundle = gathered
        exp_avgs, exp_avg_sqs = bundle.buffers["exp_avg"], bundle.buffers["exp_avg_sq"]
        max_exp_avg_sqs = bundle.buffers.get("max_exp_avg_sq")
        steps = bundle.next_steps()
        calls = group_by_step(steps)
        if not check and len(calls) > 1:  # several native calls: every array checked before the first
            bundle.check(param_arrays, grad_arrays)
        adam_step = native_steps(_C, param_arrays[0]).adam_step

        def update():
            for step, members in calls:
                # Positional arguments: pybind11 parses keywords several microseconds slower.
                adam_step(subset(param_arrays, members), subset(grad_arrays, members), subset(exp_avgs, members),
                          subset(exp_avg_sqs, members), subset(max_exp_avg_sqs, members), step, *hyper)
            bundle.commit(steps)  # only now: a refused call leaves the step counts and the new buffers unrecorded
        return update


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (theta -= lr * weight_decay * theta first)."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
