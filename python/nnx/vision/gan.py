"""Generative adversarial networks, fastai's way (fastai/vision/gan.py): GANModule (a generator and a critic, one of
them active), GANLoss, the GANTrainer callback that alternates which network trains, the switchers and GANLearner
(with .wgan and .from_learners). The noise data is gan_data.py, the architectures gan_models.py (both re-exported).

How a batch runs (fastai's): the loaders yield (noise, real images). In generator mode the model is the generator,
pred = generator(noise), and the loss is gen_loss_func(critic(pred), pred, real). In critic mode GANTrainer swaps the
batch, so pred = critic(real) and the loss is crit_loss_func(critic(real), critic(generator(noise))). The network
not training has requires_grad off, so it gets no gradient and the one optimizer (built over both networks, as
fastai's) steps only the other one; nnx's optimizers skip parameters without a gradient and leave their state
untouched.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..learner import Callback, Learner
from ..learner.hypers import set_hyper
from ..metrics import Metric, to_numpy
from ..tensor import Tensor
from .gan_data import NoiseDataLoader, gan_dataloaders, generate_noise
from .gan_models import AddChannels, DenseResBlock, Dropout2d, basic_critic, basic_generator, gan_critic, spectral_norm

__all__ = ["GANModule", "basic_critic", "AddChannels", "basic_generator", "DenseResBlock", "gan_critic", "GANLoss",
           "AdaptiveLoss", "accuracy_thresh_expand", "set_freeze_model", "GANTrainer", "FixedGANSwitcher",
           "AdaptiveGANSwitcher", "GANDiscriminativeLR", "generate_noise", "gan_loss_from_func", "GANLearner",
           "NoiseDataLoader", "gan_dataloaders", "Dropout2d", "spectral_norm"]


class GANModule(nn.Module):
    """fastai's GANModule: holds `generator` and `critic` (state-dict keys generator.* and critic.*) and runs the
    generator when gen_mode, the critic otherwise."""

    def __init__(self, generator: nn.Module | None = None, critic: nn.Module | None = None,
                 gen_mode: bool = False) -> None:
        super().__init__()
        if generator is not None:
            self.generator = generator
        if critic is not None:
            self.critic = critic
        self.gen_mode = bool(gen_mode)

    def forward(self, *args: Any) -> Any:
        return self.generator(*args) if self.gen_mode else self.critic(*args)

    def switch(self, gen_mode: bool | None = None) -> None:
        """Generator mode if gen_mode, critic mode if False; None flips the mode."""
        self.gen_mode = (not self.gen_mode) if gen_mode is None else bool(gen_mode)


class GANLoss(GANModule):
    """fastai's GANLoss: in generator mode gen_loss_func(critic(output), output, target); in critic mode
    crit_loss_func(real_pred, critic(generator(input))), the fakes made without gradient. The last values are kept
    as .gen_loss and .crit_loss."""

    def __init__(self, gen_loss_func: Callable[..., Tensor], crit_loss_func: Callable[..., Tensor],
                 gan_model: GANModule) -> None:
        super().__init__()
        for name, func in (("gen_loss_func", gen_loss_func), ("crit_loss_func", crit_loss_func)):
            if not callable(func):
                raise TypeError(f"{name} must be callable, got {func!r}")
        if not isinstance(gan_model, GANModule):
            raise TypeError(f"gan_model must be a GANModule, got {type(gan_model).__name__}")
        self.gen_loss_func, self.crit_loss_func, self.gan_model = gen_loss_func, crit_loss_func, gan_model

    def generator(self, output: Tensor, target: Tensor) -> Tensor:
        """The generator's loss: the critic's verdict on `output` (and `output` against the real `target`)."""
        fake_pred = self.gan_model.critic(output)
        self.gen_loss = self.gen_loss_func(fake_pred, output, target)
        return self.gen_loss

    def critic(self, real_pred: Tensor, input: Tensor) -> Tensor:
        """The critic's loss: `real_pred` against the critic's predictions on fakes made from the noise `input`.
        The fakes are made under no_grad (fastai's requires_grad_(False)): the generator is not trained here."""
        with no_grad():
            fake = self.gan_model.generator(input)
        fake_pred = self.gan_model.critic(fake)
        self.crit_loss = self.crit_loss_func(real_pred, fake_pred)
        return self.crit_loss


class AdaptiveLoss(nn.Module):
    """fastai's AdaptiveLoss: `crit(output, target)` with the (N,) target expanded to the output's shape as floats,
    so that a critic's (N, 1) logits meet BCEWithLogitsLoss."""

    def __init__(self, crit: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self.crit = crit

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        target = Tensor(np.broadcast_to(to_numpy(target).reshape((-1,) + (1,) * (output.ndim - 1)),
                                        output.shape).astype(output.dtype))
        return self.crit(output, target)


def accuracy_thresh_expand(y_pred: Any, y_true: Any, thresh: float = 0.5, sigmoid: bool = True) -> float:
    """fastai's accuracy_thresh_expand: accuracy of (sigmoid(y_pred) > thresh) against y_true expanded to y_pred's
    shape (a critic's real/fake accuracy)."""
    pred, true = to_numpy(y_pred).astype(np.float64), to_numpy(y_true)
    if sigmoid:
        pred = 1 / (1 + np.exp(-pred))
    true = np.broadcast_to(true.reshape((-1,) + (1,) * (pred.ndim - 1)), pred.shape)
    return float(np.mean((pred > thresh) == (true > 0.5)))


def set_freeze_model(m: nn.Module, rg: bool) -> None:
    """fastai's set_freeze_model: requires_grad = rg for every parameter of m (False also drops its gradients, so
    that the optimizer cannot step it with a stale one)."""
    for p in m.parameters():
        p.requires_grad = rg
        if not rg:
            p.grad = None


def _tk_mean(fake_pred: Tensor, output: Tensor, target: Tensor) -> Tensor:
    """WGAN generator loss (fastai's): the critic's mean score on the fakes."""
    return fake_pred.mean()


def _tk_diff(real_pred: Tensor, fake_pred: Tensor) -> Tensor:
    """WGAN critic loss (fastai's): mean score on the real images minus mean score on the fakes. With fastai's
    sign convention the critic gives real images low scores and fakes high ones, the generator lowers its fakes'."""
    return real_pred.mean() - fake_pred.mean()


def gan_loss_from_func(loss_gen: Callable[[Tensor, Tensor], Tensor] | None,
                       loss_crit: Callable[[Tensor, Tensor], Tensor],
                       weights_gen: Sequence[float] | None = None,
                       ) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    """fastai's gan_loss_from_func, the standard GAN losses: the generator's is weights_gen[0] * loss_crit(fake_pred,
    ones) + weights_gen[1] * loss_gen(output, target), the critic's (loss_crit(real_pred, ones) + loss_crit(fake_pred,
    zeros)) / 2. loss_crit is typically AdaptiveLoss(nn.BCEWithLogitsLoss()). loss_gen=None (an nnx addition) leaves
    the second term out: the plain (non-saturating) GAN of Goodfellow et al., whose generator has no target to
    match."""
    if not callable(loss_crit):
        raise TypeError(f"loss_crit must be callable, got {loss_crit!r}")
    if loss_gen is not None and not callable(loss_gen):
        raise TypeError(f"loss_gen must be callable or None, got {loss_gen!r}")
    weights = (1.0, 1.0) if weights_gen is None else tuple(float(w) for w in weights_gen)
    if len(weights) != 2:
        raise ValueError(f"weights_gen must be two numbers (critic term, generator term), got {weights_gen!r}")

    def _loss_G(fake_pred: Tensor, output: Tensor, target: Tensor) -> Tensor:
        ones = Tensor(np.ones(fake_pred.shape[0], np.float32))
        loss = weights[0] * loss_crit(fake_pred, ones)
        return loss if loss_gen is None else loss + weights[1] * loss_gen(output, target)

    def _loss_C(real_pred: Tensor, fake_pred: Tensor) -> Tensor:
        ones = Tensor(np.ones(real_pred.shape[0], np.float32))
        zeros = Tensor(np.zeros(fake_pred.shape[0], np.float32))
        return (loss_crit(real_pred, ones) + loss_crit(fake_pred, zeros)) / 2

    return _loss_G, _loss_C


# ---- the training callbacks ----

class _GANCallback(Callback):
    """Callback names as fastai's camel2snake makes them (learn.gan_trainer, not learn.g_a_n_trainer)."""

    @property
    def name(self) -> str:
        return super().name.replace("g_a_n_", "gan_")


class GANTrainer(_GANCallback):
    """fastai's GANTrainer: switches the model and the loss between generator and critic, freezes the network not
    training (requires_grad off, and with switch_eval its eval mode), swaps each critic batch to (real, noise), clips
    the critic's weights to [-clip, clip] (WGAN) and records smoothed losses (gen_losses, crit_losses per batch of
    each kind; smoothing beta as the Recorder's). The fit starts in generator mode when gen_first.

    Where nnx differs from fastai, on purpose: validation runs in generator mode (fastai's) but the training
    mode of before the validation comes back after it (fastai resumed in generator mode every epoch); in
    validation both networks stay in eval mode; with clip, the critic is also clamped right after each of its steps,
    so the bound holds after a fit too (every forward pass sees the same weights as fastai's). After a fit both
    networks are trainable again and the model is in generator mode (fastai v1's), ready to sample.
    """

    order = -5  # after TrainEvalCallback (-10), whose model.train() switch_eval must follow

    def __init__(self, switch_eval: bool = False, clip: float | None = None, beta: float = 0.98,
                 gen_first: bool = False, show_img: bool = True) -> None:
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be None or a positive number, got {clip!r}")
        if not 0 <= beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {beta!r}")
        self.switch_eval, self.clip, self.beta = bool(switch_eval), clip, float(beta)
        self.gen_first, self.show_img = bool(gen_first), bool(show_img)
        self.gen_mode = self.gen_first
        self.gen_losses: list[float] = []
        self.crit_losses: list[float] = []
        self._gen_smooth, self._crit_smooth = _Smoother(beta), _Smoother(beta)
        self.last_gen: np.ndarray | None = None

    @property
    def gen_loss(self) -> float:
        """The generator's smoothed loss (nan before its first batch)."""
        return self._gen_smooth.value

    @property
    def crit_loss(self) -> float:
        """The critic's smoothed loss (nan before its first batch)."""
        return self._crit_smooth.value

    def _set_trainable(self) -> None:
        train_model = self.generator if self.gen_mode else self.critic
        loss_model = self.critic if self.gen_mode else self.generator
        set_freeze_model(train_model, True)
        set_freeze_model(loss_model, False)
        if self.switch_eval and self.learn.training:
            train_model.train()
            loss_model.eval()

    def before_fit(self) -> None:
        """Take the model's networks, start in the gen_first mode and reset the smoothed losses."""
        model = self.learn.model
        if not isinstance(model, GANModule) or not isinstance(self.learn.loss_func, GANModule):
            raise TypeError("GANTrainer needs a GANModule model and a GANLoss loss_func (use GANLearner)")
        self.generator, self.critic = model.generator, model.critic
        self.learn.fit_cleanup.callback(self._after_any_fit)
        self.switch(self.gen_first)
        self.gen_losses, self.crit_losses = [], []
        self._gen_smooth.reset()
        self._crit_smooth.reset()

    def _after_any_fit(self) -> None:
        """However the fit ends: both networks trainable, generator mode (to sample)."""
        set_freeze_model(self.generator, True)
        set_freeze_model(self.critic, True)
        self.gen_mode = True
        self.learn.model.switch(True)
        self.learn.loss_func.switch(True)

    def before_epoch(self) -> None:
        """Apply the current mode (freezing, eval/train) again."""
        self.switch(self.gen_mode)

    def before_train(self) -> None:
        """TrainEvalCallback put the whole model in training mode: put the frozen network back in eval."""
        self._set_trainable()

    def before_validate(self) -> None:
        """Validate the generator (fastai's), both networks in eval mode."""
        self._mode_before_validation = self.gen_mode
        self.switch(True)
        self.learn.model.eval()

    def after_validate(self) -> None:
        """Back to the mode training was in."""
        self.switch(getattr(self, "_mode_before_validation", self.gen_mode))

    def before_batch(self) -> None:
        """Clamp the critic's weights (clip), and in critic mode swap the batch to (real images, noise)."""
        if self.learn.training and self.clip is not None:
            self._clamp_critic()
        if not self.gen_mode:
            self.learn.xb, self.learn.yb = self.learn.yb, self.learn.xb

    def after_step(self) -> None:
        """Clamp right after a critic step, so the weights stay within the bound after a fit too."""
        if self.clip is not None and not self.gen_mode:
            self._clamp_critic()

    def _clamp_critic(self) -> None:
        with no_grad():
            for p in self.critic.parameters():
                p.clamp_(-self.clip, self.clip)

    def after_batch(self) -> None:
        """Record the batch's loss as the generator's or the critic's."""
        if not self.learn.training or self.learn.yb is None:
            return
        if self.gen_mode:
            self._gen_smooth.add(self.learn.loss)
            self.gen_losses.append(self._gen_smooth.value)
            self.last_gen = to_numpy(self.learn.pred.detach())
        else:
            self._crit_smooth.add(self.learn.loss)
            self.crit_losses.append(self._crit_smooth.value)

    def switch(self, gen_mode: bool | None = None) -> None:
        """Switch model, loss and trainable parameters to generator mode (True), critic mode (False), or flip."""
        self.gen_mode = (not self.gen_mode) if gen_mode is None else bool(gen_mode)
        self._set_trainable()
        self.learn.model.switch(self.gen_mode)
        self.learn.loss_func.switch(self.gen_mode)


class _Smoother:
    """Exponential moving average with bias correction (the Recorder's AvgSmoothLoss), one per network."""

    def __init__(self, beta: float) -> None:
        self.beta = beta
        self.reset()

    def reset(self) -> None:
        self.average, self.count = 0.0, 0

    def add(self, value: float) -> None:
        self.count += 1
        self.average = self.beta * self.average + (1 - self.beta) * float(value)

    @property
    def value(self) -> float:
        return self.average / (1 - self.beta ** self.count) if self.count else float("nan")


class FixedGANSwitcher(_GANCallback):
    """fastai's FixedGANSwitcher: n_crit critic batches, then n_gen generator batches, and so on. n_crit and n_gen
    may be functions of the number of batches the other network had in its last turn (fastai's intent: fastai passes
    that count after resetting it, so its functions always see 0). The counts start at the fit's start (fastai
    restarted them every epoch, when it also restarted in generator mode)."""

    order = GANTrainer.order + 1

    def __init__(self, n_crit: int | Callable[[int], int] = 1, n_gen: int | Callable[[int], int] = 1) -> None:
        for name, value in (("n_crit", n_crit), ("n_gen", n_gen)):
            if not callable(value) and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                        or value < 1):
                raise ValueError(f"{name} must be a positive integer or a function, got {value!r}")
        self.n_crit, self.n_gen = n_crit, n_gen
        self.n_c = self.n_g = self.last_n_c = self.last_n_g = 0

    def before_fit(self) -> None:
        """Start counting from zero."""
        self.n_c = self.n_g = self.last_n_c = self.last_n_g = 0

    def after_batch(self) -> None:
        """Count the batch; switch when this network has had its turn."""
        if not self.learn.training:
            return
        trainer = self.learn.gan_trainer
        if trainer.gen_mode:
            self.n_g += 1
            n_iter, n_in, n_out = self.n_gen, self.last_n_c, self.n_g
        else:
            self.n_c += 1
            n_iter, n_in, n_out = self.n_crit, self.last_n_g, self.n_c
        target = n_iter if not callable(n_iter) else n_iter(n_in)
        if n_out >= target:
            if trainer.gen_mode:
                self.last_n_g = self.n_g
            else:
                self.last_n_c = self.n_c
            trainer.switch()
            self.n_c = self.n_g = 0


class AdaptiveGANSwitcher(_GANCallback):
    """fastai's AdaptiveGANSwitcher: after a generator batch, switch to the critic when gen_thresh is None or the
    batch's loss is below it; after a critic batch, back when critic_thresh is None or its loss is below that."""

    order = GANTrainer.order + 1

    def __init__(self, gen_thresh: float | None = None, critic_thresh: float | None = None) -> None:
        self.gen_thresh, self.critic_thresh = gen_thresh, critic_thresh

    def after_batch(self) -> None:
        """Switch when the network that just trained is below its threshold."""
        if not self.learn.training:
            return
        trainer = self.learn.gan_trainer
        thresh = self.gen_thresh if trainer.gen_mode else self.critic_thresh
        if thresh is None or self.learn.loss < thresh:
            trainer.switch()


class GANDiscriminativeLR(_GANCallback):
    """fastai's GANDiscriminativeLR: the critic trains at mult_lr times the learning rate (of every group)."""

    order = 61  # after ParamScheduler (60), which sets this batch's rate in before_batch

    def __init__(self, mult_lr: float = 5.0) -> None:
        self.mult_lr = float(mult_lr)
        self._saved_lr: list[float] | None = None

    def before_batch(self) -> None:
        """Raise the rate for a critic batch."""
        if self.learn.training and not self.learn.gan_trainer.gen_mode:
            self._saved_lr = [group["lr"] for group in self.learn.opt.param_groups]
            set_hyper(self.learn.opt, "lr", [lr * self.mult_lr for lr in self._saved_lr])

    def after_batch(self) -> None:
        """Put the rate back."""
        if self._saved_lr is not None:
            set_hyper(self.learn.opt, "lr", self._saved_lr)
            self._saved_lr = None


class _GANLossMetric(Metric):
    """An epoch-table column: the GANTrainer's smoothed generator or critic loss at the epoch's end (fastai v1's
    gen_loss / disc_loss columns; fastai v2's LossMetrics show the validation batches' last values)."""

    def __init__(self, learn: Learner, attribute: str) -> None:
        self.learn, self.name, self.attribute = learn, attribute, attribute

    def reset(self) -> None:
        pass

    def accumulate(self, pred: Any, targ: Any) -> None:
        pass

    @property
    def value(self) -> float:
        return getattr(self.learn.gan_trainer, self.attribute)


# ---- the Learner ----

class GANLearner(Learner):
    """fastai's GANLearner: a Learner over GANModule(generator, critic) with GANLoss(gen_loss_func, crit_loss_func),
    GANTrainer(switch_eval, clip, gen_first, show_img) and a switcher (FixedGANSwitcher() by default); with a
    validation loader the epoch table gains gen_loss and crit_loss columns (the smoothed training losses). Other
    keyword arguments go to Learner (opt_func, lr, wd, verbose, ...). sample(n) and predict(noise) run the
    generator."""

    def __init__(self, dls: Any, generator: nn.Module, critic: nn.Module, gen_loss_func: Callable[..., Tensor],
                 crit_loss_func: Callable[..., Tensor], switcher: Callback | None = None, gen_first: bool = False,
                 switch_eval: bool = True, show_img: bool = True, clip: float | None = None, cbs: Any = None,
                 metrics: Any = None, **kwargs: Any) -> None:
        for name, module in (("generator", generator), ("critic", critic)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"{name} must be an nnx.nn.Module, got {type(module).__name__}")
        gan = GANModule(generator, critic)
        loss_func = GANLoss(gen_loss_func, crit_loss_func, gan)
        switcher = FixedGANSwitcher() if switcher is None else switcher
        trainer = GANTrainer(clip=clip, switch_eval=switch_eval, gen_first=gen_first, show_img=show_img)
        cbs = _as_list(cbs) + [trainer, switcher]
        # The Recorder fills metric columns only for an epoch with validation: without a validation loader the
        # gen_loss/crit_loss columns would be nan, so they come with one (learn.gan_trainer has them regardless).
        valid = dls[1] if isinstance(dls, (tuple, list)) and len(dls) == 2 else getattr(dls, "valid", None)
        metrics = _as_list(metrics)
        if valid is not None:
            metrics += [_GANLossMetric(self, "gen_loss"), _GANLossMetric(self, "crit_loss")]
        super().__init__(dls, gan, loss_func=loss_func, cbs=cbs, metrics=metrics, **kwargs)

    @classmethod
    def from_learners(cls, gen_learn: Learner, crit_learn: Learner, switcher: Callback | None = None,
                      weights_gen: Sequence[float] | None = None, **kwargs: Any) -> GANLearner:
        """fastai's from_learners: a GAN of a (pretrained) generator's Learner and a critic's, with the standard
        losses of gan_loss_from_func(gen_learn.loss_func, crit_learn.loss_func, weights_gen), on gen_learn's data."""
        losses = gan_loss_from_func(gen_learn.loss_func, crit_learn.loss_func, weights_gen=weights_gen)
        return cls(gen_learn.dls, gen_learn.model, crit_learn.model, *losses, switcher=switcher, **kwargs)

    @classmethod
    def wgan(cls, dls: Any, generator: nn.Module, critic: nn.Module, switcher: Callback | None = None,
             clip: float | None = 0.01, switch_eval: bool = False, **kwargs: Any) -> GANLearner:
        """fastai's wgan: a Wasserstein GAN (losses _tk_mean and _tk_diff, critic weights clipped to [-clip, clip],
        FixedGANSwitcher(n_crit=5, n_gen=1) by default)."""
        switcher = FixedGANSwitcher(n_crit=5, n_gen=1) if switcher is None else switcher
        return cls(dls, generator, critic, _tk_mean, _tk_diff, switcher=switcher, clip=clip, switch_eval=switch_eval,
                   **kwargs)

    def sample(self, n: int = 16, noise: Any = None, batch_size: int = 256) -> np.ndarray:
        """n generated images (n, C, H, W) as float32 on the generator's scale ([-1, 1] for basic_generator), from
        fresh noise of the training loader's noise_size, or from `noise` when given."""
        if noise is None:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"n must be a positive integer, got {n!r}")
            noise_size = getattr(self.dls.train, "noise_size", None)
            if noise_size is None:
                raise ValueError("sample: the training loader has no noise_size (not a NoiseDataLoader): pass noise=")
            noise = self.dls.train.noise(n)
        return self.predict(noise, batch_size=batch_size)

    def predict(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """The generator's outputs for the noise X (as a NumPy array), in eval mode; the model's mode comes back."""
        model, loss_func = self.model, self.loss_func
        was_gen = model.gen_mode
        model.switch(True)
        loss_func.switch(True)
        try:
            return super().predict(X, batch_size=batch_size)
        finally:
            model.switch(was_gen)
            loss_func.switch(was_gen)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]

