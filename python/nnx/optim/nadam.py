"""NAdam: one fused native call (the parameters' backend's nadam_step) updates a whole parameter group."""
from __future__ import annotations

from .. import _C
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT
from .state import set_entry
from .stepping import native_steps, stepped_update
from .validation import check_betas, check_not_differentiable, flag, frozen_betas, non_negative

_MOMENTS = ("exp_avg", "exp_avg_sq")


class NAdam(Optimizer):
    """torch.optim.NAdam (Adam with Nesterov momentum): momentum coefficients
    mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), their running product kept per parameter as
    state['mu_product'] (a float; PyTorch keeps a 0-d tensor); weight decay L2 or, with
    decoupled_weight_decay=True, AdamW's."""

    _hyper_names = ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize")

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        # foreach/capturable are accepted for drop-in compatibility: nnx always runs one fused kernel per group.
        check_not_differentiable(differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _pack_hyper(self, values):
        """(lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize), checked."""
        lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize = values
        beta1, beta2 = check_betas(betas)
        return (non_negative(lr, "lr"), beta1, beta2, non_negative(eps, "eps"),
                non_negative(weight_decay, "weight_decay"), non_negative(momentum_decay, "momentum_decay"),
                flag(decoupled_weight_decay, "decoupled_weight_decay"), flag(maximize, "maximize"))

    def _frozen_hyper(self, values):
        return frozen_betas(values)

    def _plan_group(self, group, check):
        lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize = self._check_hyper(group)
        gathered = self._gather(group, _MOMENTS, check)
        if gathered is None:
            return None
        param_arrays, grad_arrays, bundle = gathered
        nadam_step = native_steps(_C, param_arrays[0]).nadam_step
        products = []  # each parameter's mu_product after this step, committed by after()

        def keys(steps):
            # One native call per distinct (step, mu_product): the usual group has one.
            products[:] = [_number(state.get("mu_product", 1.0)) * momentum_coefficient(beta1, step, momentum_decay)
                           for state, step in zip(bundle.states, steps)]
            return list(zip(steps, products))

        def call(params, grads, exp_avgs, exp_avg_sqs, key):
            step, mu_product = key
            nadam_step(params, grads, exp_avgs, exp_avg_sqs, step, mu_product, lr, beta1, beta2, eps, weight_decay,
                       momentum_decay, decoupled, maximize)

        def after(steps):
            for state, product in zip(bundle.states, products):
                set_entry(state, "mu_product", product)  # read again each step: no edit of the layout
        lists = [bundle.buffers["exp_avg"], bundle.buffers["exp_avg_sq"]]
        return stepped_update(bundle, param_arrays, grad_arrays, lists, check, call, keys=keys, after=after)


def momentum_coefficient(beta1: float, step: float, momentum_decay: float) -> float:
    """NAdam's mu_t, computed as torch.optim computes it."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


def _number(value):
    """A state's mu_product as a float (a Tensor or array a user or a checkpoint put in, too)."""
    if isinstance(value, Tensor):
        return float(value.item())
    return float(value)
