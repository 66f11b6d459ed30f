"""Adagrad: one fused native call (the parameters' backend's adagrad_step) updates a whole parameter group."""
from __future__ import annotations

from .optimizer import Optimizer, ParamsT
from .stepping import plan_stepped
from .validation import check_not_differentiable, flag, non_negative

_SUM = ("sum",)


class Adagrad(Optimizer):
    """torch.optim.Adagrad: sum += g^2; theta -= clr g / (sqrt(sum) + eps) with clr = lr / (1 + (t - 1) lr_decay);
    L2 weight decay added to the gradient. The sum starts at initial_accumulator_value (created on a parameter's
    first step: PyTorch creates it in the constructor, so its state_dict() has entries before any step)."""

    _hyper_names = ("lr", "lr_decay", "weight_decay", "eps", "maximize")

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None):
        # foreach/fused are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        check_not_differentiable(differentiable)
        non_negative(initial_accumulator_value, "initial_accumulator_value")
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _pack_hyper(self, values):
        """(lr, lr_decay, weight_decay, eps, maximize), checked."""
        lr, lr_decay, weight_decay, eps, maximize = values
        return (non_negative(lr, "lr"), non_negative(lr_decay, "lr_decay"), non_negative(weight_decay, "weight_decay"),
                non_negative(eps, "eps"), flag(maximize, "maximize"))

    def _plan_group(self, group, check):
        lr, lr_decay, weight_decay, eps, maximize = self._check_hyper(group)
        initial = non_negative(group.get("initial_accumulator_value", 0), "initial_accumulator_value")
        return plan_stepped(self, group, check, "adagrad_step", _SUM, (lr, lr_decay, weight_decay, eps, maximize),
                            fills={"sum": initial})
