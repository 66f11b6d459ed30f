"""RAdam: one fused native call (the parameters' backend's radam_step) updates a whole parameter group."""
from __future__ import annotations

from .optimizer import Optimizer, ParamsT
from .stepping import plan_stepped
from .validation import check_betas, check_not_differentiable, flag, frozen_betas, non_negative

_MOMENTS = ("exp_avg", "exp_avg_sq")


class RAdam(Optimizer):
    """torch.optim.RAdam (rectified Adam): Adam's moments; while the variance estimate is unreliable
    (rho_t <= 5, the first few steps) theta -= lr m / (1 - beta1^t), after that the rectified adaptive step.
    Weight decay is L2 (added to the gradient) or, with decoupled_weight_decay=True, AdamW's."""

    _hyper_names = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize")

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        # foreach/capturable are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _pack_hyper(self, values):
        """(lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize), checked."""
        lr, betas, eps, weight_decay, decoupled_weight_decay, maximize = values
        beta1, beta2 = check_betas(betas)
        return (non_negative(lr, "lr"), beta1, beta2, non_negative(eps, "eps"),
                non_negative(weight_decay, "weight_decay"), flag(decoupled_weight_decay, "decoupled_weight_decay"),
                flag(maximize, "maximize"))

    def _frozen_hyper(self, values):
        return frozen_betas(values)

    def _plan_group(self, group, check):
        return plan_stepped(self, group, check, "radam_step", _MOMENTS, self._check_hyper(group))
