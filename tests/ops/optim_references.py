"""The float64 update rules of the optimizer-step family, one function per rule, written once: one step of SGD, Adam
(AdamW), RMSprop (DESIGN.md, "Exact update rules"), Adagrad, Adadelta, Adamax, NAdam and RAdam (torch.optim's
documented algorithms), elementwise on float64 arrays. Each returns the new parameter and state as a dict (a state the
options leave unused comes back as it went in, usually None). The call specs (ops/optim.py), the optimizer classes
there and the trajectory references (tests/optim/more_optimizer_rules.py) all call these.

Not an op family (no SPECS): tests/ops/__init__.py takes only the modules csrc/families.txt names, or with SPECS."""
import numpy as np


def _grad(p, g, weight_decay, maximize):
    """The gradient the rule sees: negated when maximizing, plus the L2 term when weight_decay != 0."""
    g = -g if maximize else g
    return g + weight_decay * p if weight_decay else g


def sgd_reference(p, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                  first_step=False):
    g = _grad(p, g, weight_decay, maximize)
    if momentum:
        buf = g if first_step else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return dict(param=p - lr * g, momentum_buffer=buf)


def adam_reference(p, g, m, v, v_max, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                   decoupled_weight_decay=False, amsgrad=False, maximize=False):
    if decoupled_weight_decay and weight_decay:  # (a zero decay leaves an inf parameter inf)
        p = p - lr * weight_decay * p
    g = _grad(p, g, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    second_moment = v
    if amsgrad:
        v_max = np.maximum(v_max, v)
        second_moment = v_max
    m_hat = m / (1 - beta1**step)
    v_hat = second_moment / (1 - beta2**step)
    return dict(param=p - lr * m_hat / (np.sqrt(v_hat) + eps), exp_avg=m, exp_avg_sq=v, max_exp_avg_sq=v_max)


def rmsprop_reference(p, g, square_avg, grad_avg, buf, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False):
    g = _grad(p, g, weight_decay, maximize)
    square_avg = alpha * square_avg + (1 - alpha) * g * g
    variance = square_avg
    if centered:
        grad_avg = alpha * grad_avg + (1 - alpha) * g
        variance = variance - grad_avg**2
    if momentum:
        buf = momentum * buf + g / (np.sqrt(variance) + eps)
        p = p - lr * buf
    else:
        p = p - lr * g / (np.sqrt(variance) + eps)
    return dict(param=p, square_avg=square_avg, grad_avg=grad_avg, momentum_buffer=buf)


def adagrad_reference(p, g, state_sum, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    g = _grad(p, g, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum = state_sum + g * g
    return dict(param=p - clr * g / (np.sqrt(state_sum) + eps), state_sum=state_sum)


def adadelta_reference(p, g, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    g = _grad(p, g, weight_decay, maximize)
    square_avg = rho * square_avg + (1 - rho) * g * g
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta = rho * acc_delta + (1 - rho) * delta * delta
    return dict(param=p - lr * delta, square_avg=square_avg, acc_delta=acc_delta)


def adamax_reference(p, g, exp_avg, exp_inf, step, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                     maximize=False):
    g = _grad(p, g, weight_decay, maximize)
    exp_avg = beta1 * exp_avg + (1 - beta1) * g
    exp_inf = np.maximum(beta2 * exp_inf, np.abs(g) + eps)  # NaN in either propagates, as torch.maximum
    return dict(param=p - lr / (1 - beta1**step) * exp_avg / exp_inf, exp_avg=exp_avg, exp_inf=exp_inf)


def nadam_mu(step, beta1=0.9, momentum_decay=4e-3):
    """NAdam's momentum coefficient mu_t; the kernels take the product mu_1 ... mu_step (`mu_product`)."""
    return beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))


def nadam_reference(p, g, exp_avg, exp_avg_sq, step, mu_product, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                    weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    if decoupled_weight_decay and weight_decay:  # (a zero decay leaves an inf parameter inf)
        p = p - lr * weight_decay * p
    g = _grad(p, g, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    mu, mu_next = nadam_mu(step, beta1, momentum_decay), nadam_mu(step + 1, beta1, momentum_decay)
    exp_avg = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
    denom = np.sqrt(exp_avg_sq / (1 - beta2**step)) + eps
    p = p - lr * (1 - mu) / (1 - mu_product) * g / denom
    p = p - lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
    return dict(param=p, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)


def radam_rectified(step, beta2=0.999):
    """Whether RAdam's step `step` takes the variance-rectified update (rho_t > 5) rather than plain momentum."""
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * step * beta2**step / (1 - beta2**step) > 5


def radam_reference(p, g, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                    decoupled_weight_decay=False, maximize=False):
    if decoupled_weight_decay and weight_decay:  # (a zero decay leaves an inf parameter inf)
        p = p - lr * weight_decay * p
    g = _grad(p, g, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    exp_avg = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
    m_hat = exp_avg / (1 - beta1**step)
    if not radam_rectified(step, beta2):
        return dict(param=p - lr * m_hat, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2**step / (1 - beta2**step)
    rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    adaptive = np.sqrt(1 - beta2**step) / (np.sqrt(exp_avg_sq) + eps)
    return dict(param=p - lr * m_hat * adaptive * rect, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
