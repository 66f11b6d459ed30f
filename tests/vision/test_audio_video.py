"""nnx.audio against float64 references from the definitions (and torch.stft where PyTorch is installed), the
mel filterbank's shape properties, AmplitudeToDB's clamping; nnx.vision.video's frame-wise classifier; and a small
audio and video example that learns."""
import numpy as np
import pytest

import nnx
from nnx import audio, nn
from nnx.vision import layers, video


def dft_stft(x, n_fft, hop, window):
    """The STFT by its definition (no padding, onesided), float64."""
    frames = 1 + (len(x) - n_fft) // hop
    k = np.arange(n_fft)
    out = np.empty((n_fft // 2 + 1, frames), complex)
    for t in range(frames):
        segment = x[t * hop:t * hop + n_fft] * window
        for f in range(n_fft // 2 + 1):
            out[f, t] = np.sum(segment * np.exp(-2j * np.pi * f * k / n_fft))
    return out


@pytest.mark.parametrize("n_fft,hop,win", [(16, 4, 16), (15, 7, 9), (8, 1, 3), (1, 1, 1)])
def test_stft_is_the_definition(rng, n_fft, hop, win):
    x = rng.standard_normal(61)
    window = rng.random(win)
    padded = np.zeros(n_fft)
    padded[(n_fft - win) // 2:(n_fft - win) // 2 + win] = window
    got = audio.stft(x, n_fft, hop, win, window, center=False)
    np.testing.assert_allclose(got, dft_stft(x, n_fft, hop, padded), rtol=1e-10, atol=1e-10)
    centered = audio.stft(x, n_fft, hop, win, window, center=True, pad_mode="reflect")
    reflect = np.pad(x, n_fft // 2, mode="reflect")
    np.testing.assert_allclose(centered, dft_stft(reflect, n_fft, hop, padded), rtol=1e-10, atol=1e-10)


def test_stft_matches_torch(rng):
    torch = pytest.importorskip("torch")
    for _ in range(20):
        n_fft = int(rng.integers(4, 64))
        win, hop = int(rng.integers(1, n_fft + 1)), int(rng.integers(1, n_fft))
        x = rng.standard_normal((2, int(rng.integers(n_fft, 200))))
        window = rng.random(win)
        mode = ["reflect", "constant", "replicate", "circular"][int(rng.integers(4))]
        normalized, onesided = bool(rng.integers(2)), bool(rng.integers(2))
        ours = audio.stft(x, n_fft, hop, win, window, True, mode, normalized, onesided)
        theirs = torch.stft(torch.from_numpy(x), n_fft, hop, win, torch.from_numpy(window), True, mode, normalized,
                            onesided, return_complex=True).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_hann_window_and_spectrogram(rng):
    np.testing.assert_allclose(audio.hann_window(8), 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(8) / 8))
    np.testing.assert_allclose(audio.hann_window(5, periodic=False), np.hanning(5), atol=1e-15)
    x = rng.standard_normal((3, 200)).astype(np.float32)
    spec = audio.spectrogram(x, n_fft=32)
    assert spec.shape == (3, 17, 1 + 200 // 16) and spec.dtype == np.float32
    direct = np.abs(audio.stft(x.astype(np.float64), 32, 16, 32, audio.hann_window(32))) ** 2
    np.testing.assert_allclose(spec, direct, rtol=2e-5, atol=1e-4)


def test_mel_filterbank_shapes_and_peaks():
    fb = audio.melscale_fbanks(201, 0.0, 8000.0, 40, 16000)
    assert fb.shape == (201, 40) and fb.min() >= 0 and fb.max() <= 1
    peaks = fb.argmax(axis=0)
    assert np.all(np.diff(peaks) >= 0)  # filters ordered by frequency
    mel = 2595 * np.log10(1 + np.linspace(0, 8000, 201) / 700)
    centres = np.linspace(0, mel[-1], 42)[1:-1]
    np.testing.assert_allclose(mel[peaks], centres, atol=mel[1] - mel[0] + 1e-9)  # peaks at the mel centres
    slaney = audio.melscale_fbanks(201, 0.0, 8000.0, 40, 16000, norm="slaney", mel_scale="slaney")
    widths = (slaney > 0).sum(axis=0)
    assert slaney.shape == (201, 40) and np.all(widths >= 1)
    with pytest.raises(ValueError, match="norm"):
        audio.melscale_fbanks(10, 0, 100, 4, 1000, norm="area")
    with pytest.raises(ValueError, match="f_min"):
        audio.melscale_fbanks(10, 200, 100, 4, 1000)


def test_mel_spectrogram_and_db():
    waves, _ = audio.chirp_dataset(3, seed=1)
    mel = audio.MelSpectrogram(sample_rate=8000, n_fft=256, n_mels=32)(waves)
    assert mel.shape == (3, 32, 1 + waves.shape[1] // 128)
    spec = audio.spectrogram(waves, n_fft=256)
    np.testing.assert_allclose(mel, np.einsum("bft,fm->bmt", spec, audio.melscale_fbanks(129, 0, 4000, 32, 8000)),
                               rtol=1e-4, atol=1e-5)
    db = audio.amplitude_to_db(np.array([[1e-12, 1.0], [10.0, 100.0]]), top_db=15.0)
    np.testing.assert_allclose(db, [[5.0, 5.0], [10.0, 20.0]])
    np.testing.assert_allclose(audio.AmplitudeToDB("magnitude")(np.array([10.0])), [20.0])
    with pytest.raises(ValueError, match="stype"):
        audio.amplitude_to_db(np.ones(3), stype="energy")
    with pytest.raises(ValueError, match="n_fft"):
        audio.stft(np.ones(40), 0)
    with pytest.raises(TypeError, match="waveform"):
        audio.spectrogram(np.array(["a", "b"]))


def small_cnn(c_in, n_out=None, width=16):
    body = [layers.ConvLayer(c_in, 8, stride=2), layers.ConvLayer(8, width, stride=2)]
    if width == 32:
        body = [layers.ConvLayer(c_in, 16, stride=2), layers.ConvLayer(16, 32, stride=2), layers.ConvLayer(32, 32)]
    return nn.Sequential(*body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), *([nn.Linear(width, n_out)] if n_out else []))


def test_log_mel_images_train_a_cnn():
    nnx.manual_seed(0)
    waves, labels = audio.chirp_dataset(160, seed=2)
    images = audio.amplitude_to_db(audio.MelSpectrogram(8000, n_fft=256, n_mels=24)(waves), top_db=80)[:, None]
    images = (images - images.mean()) / images.std()
    from nnx.data import DataLoaders
    from nnx.learner import Learner
    from nnx.metrics import accuracy
    dls = DataLoaders.from_arrays(images[:120], labels[:120], images[120:], labels[120:], bs=16, seed=0)
    learn = Learner(dls, small_cnn(1, 4), nn.CrossEntropyLoss(), metrics=accuracy, verbose=False)
    learn.fit_one_cycle(10, 3e-2)
    assert learn.validate()[1] > 0.6  # chance: 0.25


def test_frame_classifier_pools_frames():
    model = video.FrameClassifier(small_cnn(3), 16, 4, pool="max")
    clips = nnx.randn(2, 5, 3, 12, 12)
    out = model(clips)
    assert out.shape == (2, 4)
    frames = model.frame_model(clips.reshape(10, 3, 12, 12)).numpy().reshape(2, 5, 16).max(axis=1)
    np.testing.assert_allclose(out.numpy(), frames @ model.head.weight.numpy().T + model.head.bias.numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="clips"):
        model(nnx.randn(2, 3, 12, 12))
    with pytest.raises(ValueError, match="pool"):
        video.FrameClassifier(small_cnn(3), 16, 4, pool="last")


def test_moving_shape_clips_train():
    nnx.manual_seed(0)
    clips, labels = video.moving_shapes(160, frames=4, size=16, seed=3)
    assert clips.shape == (160, 4, 3, 16, 16) and clips.dtype == np.uint8
    x = clips.astype(np.float32) / 255
    from nnx.data import DataLoaders
    from nnx.learner import Learner
    from nnx.metrics import accuracy
    dls = DataLoaders.from_arrays(x[:120], labels[:120], x[120:], labels[120:], bs=16, seed=0)
    learn = Learner(dls, video.FrameClassifier(small_cnn(3, width=32), 32, 4), nn.CrossEntropyLoss(),
                    metrics=accuracy, verbose=False)
    learn.fit_one_cycle(10, 3e-2)
    assert learn.validate()[1] > 0.5  # chance: 0.25
