"""nnx.vision.gan: fastai's GAN pieces. The switchers' logic (which network gets gradients and steps in each batch,
which is frozen, when the switch happens), WGAN weight clipping, the losses against NumPy, the architectures
(spectral_norm against torch's), the noise loaders, and an end-to-end run whose critic and generator must move."""
from functools import partial

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.learner import Callback
from nnx.vision import gan, gan_models


def tiny_gan(seed, size=8, nz=4, nf=4):
    nnx.manual_seed(seed)
    generator = gan.basic_generator(size, 1, in_sz=nz, n_features=nf)
    critic = gan.basic_critic(size, 1, n_features=nf, act_cls=partial(nn.LeakyReLU, 0.2))
    return generator, critic


def bright_images(n, seed, size=8):
    """uint8 images around 230 (0.8 on the generator's [-1, 1] scale) with some spread."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(230, 15, (n, size, size)), 0, 255).astype(np.uint8)


def params_of(module):
    return [p for p in module.parameters()]


class PhaseRecorder(Callback):
    """Per training batch: the mode, which network's parameters had gradients and which moved in the step."""

    order = 55

    def before_fit(self):
        self.rows = []

    def after_backward(self):
        learn = self.learn
        gen, crit = learn.model.generator, learn.model.critic
        self.before = {"gen": [p.detach().numpy().copy() for p in params_of(gen)],
                       "crit": [p.detach().numpy().copy() for p in params_of(crit)]}
        self.row = {"gen_mode": learn.gan_trainer.gen_mode,
                    "xb_shape": tuple(learn.xb.shape),
                    "gen_grads": [p.grad is not None for p in params_of(gen)],
                    "crit_grads": [p.grad is not None for p in params_of(crit)],
                    "gen_requires_grad": [p.requires_grad for p in params_of(gen)],
                    "crit_requires_grad": [p.requires_grad for p in params_of(crit)],
                    "gen_training": gen.training, "crit_training": crit.training,
                    "lr": learn.opt.param_groups[0]["lr"]}

    def after_step(self):
        learn = self.learn
        for key, module in (("gen", learn.model.generator), ("crit", learn.model.critic)):
            self.row[f"{key}_moved"] = [not np.array_equal(a, p.detach().numpy())
                                        for a, p in zip(self.before[key], params_of(module))]
        self.rows.append(self.row)


def gan_learner(seed, switcher=None, n=48, bs=8, wgan=True, cbs=(), **kwargs):
    generator, critic = tiny_gan(seed)
    dls = gan.gan_dataloaders(bright_images(n, seed), noise_size=4, bs=bs, seed=seed)
    recorder = PhaseRecorder()
    if wgan:
        learn = gan.GANLearner.wgan(dls, generator, critic, switcher=switcher, cbs=[recorder, *cbs], verbose=False,
                                    **kwargs)
    else:
        losses = gan.gan_loss_from_func(None, gan.AdaptiveLoss(nn.BCEWithLogitsLoss()))
        learn = gan.GANLearner(dls, generator, critic, *losses, switcher=switcher, cbs=[recorder, *cbs],
                               verbose=False, **kwargs)
    return learn, recorder


def test_fixed_switcher_freezes_the_other_network_and_steps_only_the_trained_one():
    learn, rec = gan_learner(0, switcher=gan.FixedGANSwitcher(n_crit=3, n_gen=2), wgan=False, switch_eval=True)
    learn.fit(2)  # 6 batches an epoch: the turns run on across the epoch boundary
    modes = [row["gen_mode"] for row in rec.rows]
    assert modes == [False, False, False, True, True] * 2 + [False, False]
    for row in rec.rows:
        trained, frozen = ("gen", "crit") if row["gen_mode"] else ("crit", "gen")
        assert all(row[f"{trained}_grads"]) and all(row[f"{trained}_requires_grad"])
        assert not any(row[f"{frozen}_grads"]) and not any(row[f"{frozen}_requires_grad"])
        assert not any(row[f"{frozen}_moved"])
        assert sum(row[f"{trained}_moved"]) >= len(row[f"{trained}_moved"]) - 2  # (BatchNorm's bias may stay)
        # switch_eval: the frozen network runs in eval mode, the trained one in training mode
        assert row[f"{trained}_training"] and not row[f"{frozen}_training"]
        # critic batches are swapped to (real images, noise); generator batches get the noise
        assert row["xb_shape"] == ((8, 1, 8, 8) if not row["gen_mode"] else (8, 4))
    # after the fit: both networks trainable, generator mode
    assert all(p.requires_grad for p in learn.model.parameters()) and learn.model.gen_mode
    assert len(learn.gan_trainer.crit_losses) == 8 and len(learn.gan_trainer.gen_losses) == 4


def test_fixed_switcher_with_functions_and_gen_first():
    # n_crit as a function of the generator's last turn (fastai's); gen_first starts with the generator
    switcher = gan.FixedGANSwitcher(n_crit=lambda n_gen: 2 * n_gen, n_gen=1)
    learn, rec = gan_learner(1, switcher=switcher, gen_first=True)
    learn.fit(1)
    assert [row["gen_mode"] for row in rec.rows] == [True, False, False, True, False, False]


def test_adaptive_switcher_switches_below_the_thresholds():
    learn, rec = gan_learner(2, switcher=gan.AdaptiveGANSwitcher())  # None: switch after every batch
    learn.fit(1)
    assert [row["gen_mode"] for row in rec.rows] == [False, True] * 3
    # the critic's turn ends only when its loss is below critic_thresh, the generator's never (-inf)
    learn, rec = gan_learner(3, switcher=gan.AdaptiveGANSwitcher(gen_thresh=-np.inf, critic_thresh=np.inf))
    learn.fit(1)
    assert [row["gen_mode"] for row in rec.rows] == [False] + [True] * 5
    learn, rec = gan_learner(3, switcher=gan.AdaptiveGANSwitcher(gen_thresh=np.inf, critic_thresh=-np.inf))
    learn.fit(1)
    assert [row["gen_mode"] for row in rec.rows] == [False] * 6


def test_wgan_defaults_and_weight_clipping():
    class ClipChecker(Callback):
        order = -4  # after GANTrainer's before_batch clamp

        def before_fit(self):
            self.max_abs = []

        def before_batch(self):
            self.max_abs.append(max(float(np.abs(p.detach().numpy()).max())
                                    for p in self.learn.model.critic.parameters()))

    checker = ClipChecker()
    learn, rec = gan_learner(4, n=96, cbs=[checker], lr=0.05)
    switcher = learn.fixed_gan_switcher
    assert (switcher.n_crit, switcher.n_gen, learn.gan_trainer.clip) == (5, 1, 0.01)
    assert not learn.gan_trainer.switch_eval
    before = max(float(np.abs(p.detach().numpy()).max()) for p in learn.model.critic.parameters())
    assert before > 0.1  # Kaiming init is well beyond the clip: clamping has something to do
    learn.fit(1)
    assert [row["gen_mode"] for row in rec.rows] == ([False] * 5 + [True]) * 2
    assert max(checker.max_abs) <= 0.01 + 1e-7
    after = [np.abs(p.detach().numpy()).max() for p in learn.model.critic.parameters()]
    assert max(after) <= 0.01 + 1e-7  # still within the bound after the last critic step
    # at lr 0.05 a critic step leaves some weights at the bound; the generator is never clipped
    assert max(after) == pytest.approx(0.01)
    assert max(np.abs(p.detach().numpy()).max() for p in learn.model.generator.parameters()) > 0.05


def test_discriminative_lr_multiplies_the_critics_rate():
    learn, rec = gan_learner(5, cbs=[gan.GANDiscriminativeLR(mult_lr=4.0)], lr=1e-3)
    learn.fit(1)
    for row in rec.rows:
        assert row["lr"] == pytest.approx(1e-3 if row["gen_mode"] else 4e-3)
    assert learn.opt.param_groups[0]["lr"] == pytest.approx(1e-3)


def bce_with_logits(logits, target):
    return np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits))))


def test_losses_against_numpy():
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=(5, 1)).astype(np.float32), rng.normal(size=(5, 1)).astype(np.float32)
    output, target = rng.normal(size=(5, 1, 4, 4)).astype(np.float32), rng.normal(size=(5, 1, 4, 4)).astype(np.float32)
    t = nnx.tensor
    assert float(gan._tk_mean(t(fake), t(output), t(target))) == pytest.approx(fake.mean(), rel=1e-6)
    assert float(gan._tk_diff(t(real), t(fake))) == pytest.approx(real.mean() - fake.mean(), rel=1e-5, abs=1e-7)
    crit = gan.AdaptiveLoss(nn.BCEWithLogitsLoss())
    loss_g, loss_c = gan.gan_loss_from_func(nn.L1Loss(), crit, weights_gen=(0.3, 2.0))
    expected_g = 0.3 * bce_with_logits(fake, 1.0) + 2.0 * np.abs(output - target).mean()
    assert float(loss_g(t(fake), t(output), t(target))) == pytest.approx(expected_g, rel=1e-5)
    expected_c = (bce_with_logits(real, 1.0) + bce_with_logits(fake, 0.0)) / 2
    assert float(loss_c(t(real), t(fake))) == pytest.approx(expected_c, rel=1e-5)
    only_crit, _ = gan.gan_loss_from_func(None, crit)
    assert float(only_crit(t(fake), t(output), t(target))) == pytest.approx(bce_with_logits(fake, 1.0), rel=1e-5)
    assert gan.accuracy_thresh_expand(t(np.array([[2.0], [-1.0], [0.5]])), t(np.array([1, 1, 0]))) == \
        pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="weights_gen"):
        gan.gan_loss_from_func(None, crit, weights_gen=(1.0,))


def test_gan_loss_routes_through_the_gan_model():
    generator, critic = tiny_gan(7)
    model = gan.GANModule(generator, critic)
    seen = []
    loss = gan.GANLoss(lambda fake_pred, output, target: seen.append(("gen", fake_pred.shape)) or fake_pred.mean(),
                       lambda real_pred, fake_pred: seen.append(("crit", fake_pred.requires_grad)) or fake_pred.mean(),
                       model)
    noise, real = nnx.randn(3, 4), nnx.randn(3, 1, 8, 8)
    assert not model.gen_mode and model(real).shape == (3, 1)
    model.switch()
    assert model.gen_mode and model(noise).shape == (3, 1, 8, 8)
    loss.switch(True)
    loss(model(noise), real)
    loss.switch(False)
    value = loss(critic(real), noise)
    generator_grads = [p.grad for p in generator.parameters()]
    value.backward()
    assert seen[0] == ("gen", (3, 1)) and seen[1][0] == "crit"
    # the critic's loss does not reach the generator (fakes made without gradient)
    assert all(g is None for g in generator_grads) and all(p.grad is None for p in generator.parameters())
    assert float(loss.crit_loss) == pytest.approx(float(value))


def test_architectures_follow_fastai():
    nnx.manual_seed(8)
    for size in (16, 32):
        g = gan.basic_generator(size, 3, in_sz=10, n_features=8, n_extra_layers=1)
        c = gan.basic_critic(size, 3, n_features=8, n_extra_layers=1)
        out = g(nnx.randn(2, 10))
        assert out.shape == (2, 3, size, size) and np.abs(out.detach().numpy()).max() <= 1
        assert c(out).shape == (2, 1)
    g = gan.basic_generator(32, 3, in_sz=10, n_features=8)
    # fastai's feature counts: 4x4 with n_features * out_size / 8, halving while doubling the size
    assert [m[0].out_channels for m in list(g)[1:4]] == [32, 16, 8] and g[4].in_channels == 8
    assert isinstance(g[1][0], nn.ConvTranspose2d) and g[1][0].bias is None and isinstance(g[1][1], nn.BatchNorm2d)
    assert list(g.state_dict())[:3] == ["1.0.weight", "1.1.weight", "1.1.bias"]
    c = gan.basic_critic(32, 3, n_features=8)
    assert c[0][0].bias is not None and len(c[0]) == 2  # no normalisation on the first layer
    assert [m[0].out_channels for m in list(c)[1:3]] == [16, 32] and c[3].kernel_size == (4, 4)
    critic = gan.gan_critic(n_channels=3, nf=4, n_blocks=3)
    assert critic(nnx.randn(2, 3, 64, 64)).shape == (2, 1)
    keys = list(critic.state_dict())
    assert "0.0.weight_orig" in keys and "2.layers.1.0.weight_v" in keys and "4.2.gamma" in keys
    assert "4.2.query.0.weight_u" in keys and "9.0.bias" not in keys
    assert gan.AddChannels(2)(nnx.randn(3, 5)).shape == (3, 5, 1, 1)
    with pytest.raises(ValueError, match="out_size"):
        gan.basic_generator(4, 3)


def test_spectral_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    for transposed in (False, True):
        weight = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
        x = rng.normal(size=(2, 4 if transposed else 3, 5, 5)).astype(np.float32)
        ours = nn.ConvTranspose2d(4, 3, 3) if transposed else nn.Conv2d(3, 4, 3)
        theirs = torch.nn.ConvTranspose2d(4, 3, 3) if transposed else torch.nn.Conv2d(3, 4, 3)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(weight))
            theirs.bias.zero_()
        ours.weight = nn.Parameter(nnx.tensor(weight))
        nn.init.zeros_(ours.bias)
        gan.spectral_norm(ours)
        torch.nn.utils.spectral_norm(theirs)
        with torch.no_grad():
            ours.weight_u = nnx.tensor(theirs.weight_u.numpy().copy())
            ours.weight_v = nnx.tensor(theirs.weight_v.numpy().copy())
        assert list(ours.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
        for _ in range(2):  # two training forwards: one power iteration each
            mine, ref = ours(nnx.tensor(x)), theirs(torch.tensor(x))
            np.testing.assert_allclose(mine.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
        mine.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_allclose(ours.weight_u.numpy(), theirs.weight_u.numpy(), rtol=1e-5, atol=1e-6)
        ours.eval()
        theirs.eval()  # eval: no power iteration
        np.testing.assert_allclose(ours(nnx.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_dropout2d_and_self_attention():
    nnx.manual_seed(10)
    drop = gan.Dropout2d(0.5)
    out = drop(nnx.tensor(np.ones((64, 8, 3, 3), np.float32))).numpy()
    per_channel = out.reshape(64, 8, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0} and (per_channel.min(-1) == per_channel.max(-1)).all()
    assert 0.35 < (per_channel[..., 0] == 0).mean() < 0.65
    drop.eval()
    assert (drop(nnx.tensor(np.ones((2, 3, 2, 2), np.float32))).numpy() == 1).all()
    attention = gan_models.SelfAttention(16)
    x = np.random.default_rng(10).normal(size=(2, 16, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(attention(nnx.tensor(x)).detach().numpy(), x)  # gamma = 0: the identity
    attention.gamma = nn.Parameter(nnx.tensor(np.array([0.7], np.float32)))
    attention.eval()
    flat = x.reshape(2, 16, 9)

    def conv(seq):
        w = seq[0].weight_orig.detach().numpy()[:, :, 0]
        u, v = seq[0].weight_u.numpy(), seq[0].weight_v.numpy()
        return np.einsum("oc,ncl->nol", w / (u @ w @ v), flat)

    f, g, h = conv(attention.query), conv(attention.key), conv(attention.value)
    scores = np.einsum("nci,ncj->nij", f, g)
    beta = np.exp(scores - scores.max(1, keepdims=True))
    beta /= beta.sum(1, keepdims=True)
    expected = (0.7 * np.einsum("nci,nij->ncj", h, beta) + flat).reshape(x.shape)
    np.testing.assert_allclose(attention(nnx.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_noise_dataloaders():
    images = bright_images(20, 11)
    dls = gan.gan_dataloaders(images, noise_size=6, bs=8, n_valid=4, seed=11)
    batches = list(dls.train)
    assert len(batches) == 2 and all(noise.shape == (8, 6) and real.shape == (8, 1, 8, 8) for noise, real in batches)
    real = np.concatenate([r.numpy() for _, r in batches])
    assert real.dtype == np.float32 and real.min() >= -1 and real.max() <= 1
    assert np.isin(real, images[:16].astype(np.float32) / 127.5 - 1).all()
    again = list(dls.train)
    assert not np.array_equal(batches[0][0].numpy(), again[0][0].numpy())  # fresh noise every epoch
    assert abs(np.concatenate([n.numpy() for n, _ in batches]).std() - 1) < 0.3
    (noise, valid_real), = list(dls.valid)
    assert noise.shape == (4, 6) and np.allclose(valid_real.numpy()[:, 0], images[16:] / 127.5 - 1, atol=1e-6)
    colour = gan.NoiseDataLoader(np.zeros((3, 8, 8, 3), np.uint8), noise_size=2, batch_size=2)
    assert next(iter(colour))[1].shape == (2, 3, 8, 8)
    assert gan.generate_noise("any file", size=7).shape == (7,)
    with pytest.raises(ValueError, match="n_valid"):
        gan.gan_dataloaders(images, n_valid=20)
    with pytest.raises(ValueError, match="noise_size"):
        gan.NoiseDataLoader(images, noise_size=0)


def test_from_learners_and_sample():
    from nnx.learner import Learner
    generator, critic = tiny_gan(12)
    dls = gan.gan_dataloaders(bright_images(16, 12), noise_size=4, bs=8)
    gen_learn = Learner(dls, generator, nn.L1Loss(), verbose=False)
    crit_learn = Learner(dls, critic, gan.AdaptiveLoss(nn.BCEWithLogitsLoss()), verbose=False)
    learn = gan.GANLearner.from_learners(gen_learn, crit_learn, weights_gen=(1.0, 50.0), verbose=False)
    assert learn.model.generator is generator and learn.model.critic is critic and learn.gan_trainer.switch_eval
    learn.fit(1)
    samples = learn.sample(5)
    assert samples.shape == (5, 1, 8, 8) and samples.dtype == np.float32 and np.abs(samples).max() <= 1
    noise = np.random.default_rng(12).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(learn.predict(noise), learn.sample(noise=noise))
    learn.model.switch(False)
    learn.predict(noise)
    assert not learn.model.gen_mode  # predict leaves the mode as it found it
    with pytest.raises(TypeError, match="critic"):
        gan.GANLearner(dls, generator, "critic", gan._tk_mean, gan._tk_diff)
    assert learn.metrics == []  # no validation loader: no gen_loss/crit_loss columns (they would be nan)


def test_validation_runs_the_generator_and_fills_the_loss_columns():
    generator, critic = tiny_gan(14)
    dls = gan.gan_dataloaders(bright_images(40, 14), noise_size=4, bs=8, n_valid=8, seed=14)
    learn = gan.GANLearner(dls, generator, critic, gan._tk_mean, gan._tk_diff, verbose=False)
    modes = []
    learn.add_cb(type("ModeSpy", (Callback,), {"after_pred": lambda self: modes.append(
        (self.learn.training, self.learn.model.gen_mode, tuple(self.learn.pred.shape)))})())
    learn.fit(1)
    assert [m.name for m in learn.metrics] == ["gen_loss", "crit_loss"]
    train_loss, valid_loss, gen_loss, crit_loss = learn.recorder.values[-1]
    assert (gen_loss, crit_loss) == (learn.gan_trainer.gen_loss, learn.gan_trainer.crit_loss)
    assert np.isfinite([valid_loss, gen_loss, crit_loss]).all()
    assert [m for m in modes if not m[0]] == [(False, True, (8, 1, 8, 8))]  # validation: the generator's images
    # training resumes in the mode it had before validation: the alternation goes on (C, G, C, G)
    assert [m[1] for m in modes if m[0]] == [False, True, False, True]


def test_end_to_end_critic_separates_and_samples_move_towards_the_data():
    """A WGAN on bright 8x8 images (mean 0.8 on [-1, 1]): the critic learns to score the initial fakes higher
    than real images (fastai's sign), and the generator's samples move from ~0 towards the data's mean."""
    generator, critic = tiny_gan(13, nf=8)
    images = bright_images(256, 13)
    dls = gan.gan_dataloaders(images, noise_size=4, bs=32, seed=13)
    learn = gan.GANLearner.wgan(dls, generator, critic, lr=2e-3, clip=0.05, verbose=False,
                                opt_func=partial(nnx.optim.RMSprop))
    data_mean = float(dls.train.images.mean())
    noise = dls.train.noise(64)
    initial = learn.sample(noise=noise)
    critic.eval()
    with nnx.no_grad():
        real = nnx.tensor(dls.train.images[:64])
        gap_before = float(critic(nnx.tensor(initial)).mean() - critic(real).mean())
    critic.train()
    learn.fit(4)
    crit_losses = learn.gan_trainer.crit_losses
    assert crit_losses[-1] < crit_losses[0] - 0.01  # the critic's loss (real - fake scores) went down
    critic.eval()
    with nnx.no_grad():
        gap_after = float(critic(nnx.tensor(initial)).mean() - critic(real).mean())
    assert gap_after > gap_before + 0.01  # the initial fakes now score higher than the real images
    final = learn.sample(noise=noise)
    assert abs(final.mean() - data_mean) < 0.5 * abs(initial.mean() - data_mean)
