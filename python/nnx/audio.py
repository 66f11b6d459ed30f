"""Audio as images: short-time Fourier transforms, mel filterbanks and (log-)mel spectrograms of NumPy waveforms,
computed with NumPy's FFT, with torch.stft's and torchaudio's definitions (argument names, defaults, framing,
windows, the HTK/Slaney mel scales, AmplitudeToDB's clamping), so a 1-D signal becomes a (n_mels, frames) image
the vision models train on. Data preparation, not autograd: inputs and outputs are NumPy arrays (a Tensor input is
read as its array)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["hann_window", "stft", "spectrogram", "melscale_fbanks", "amplitude_to_db", "Spectrogram",
           "MelSpectrogram", "AmplitudeToDB", "chirp_dataset", "CHIRP_CLASSES"]


def _signal(x: Any, name: str = "waveform") -> np.ndarray:
    array = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
        array = array.astype(np.float32)
    if array.ndim < 1:
        raise ValueError(f"{name} must have a time axis (shape (..., time)), got a scalar")
    return array


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def hann_window(window_length: int, periodic: bool = True, dtype: Any = np.float64) -> np.ndarray:
    """torch.hann_window: 0.5 - 0.5 cos(2 pi k / N), N = window_length (periodic) or window_length - 1."""
    n = _positive(window_length, "window_length")
    if n == 1:
        return np.ones(1, dtype)
    denominator = n if periodic else n - 1
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / denominator)).astype(dtype)


def stft(input: Any, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Any = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool = True) -> np.ndarray:
    """torch.stft(..., return_complex=True) of input (time,) or (batch, time): complex (batch?, n_fft//2 + 1 or
    n_fft, frames). center pads n_fft//2 on both sides (pad_mode 'reflect', 'constant', 'replicate' or
    'circular'); the window (default: ones, as torch.stft) of win_length is zero-padded to n_fft, centred;
    normalized scales by 1/sqrt(n_fft)."""
    x = _signal(input, "input")
    if x.ndim > 2:
        raise ValueError(f"input must be (time,) or (batch, time), got shape {x.shape}")
    n_fft = _positive(n_fft, "n_fft")
    hop = n_fft // 4 if hop_length is None else _positive(hop_length, "hop_length")
    win = n_fft if win_length is None else _positive(win_length, "win_length")
    if win > n_fft:
        raise ValueError(f"win_length ({win}) must be at most n_fft ({n_fft})")
    complex_dtype = np.complex64 if x.dtype == np.float32 else np.complex128
    w = np.ones(win) if window is None else np.asarray(window.numpy() if isinstance(window, Tensor) else window)
    if w.shape != (win,):
        raise ValueError(f"window must have shape ({win},) (win_length), got {w.shape}")
    padded_window = np.zeros(n_fft, np.float64)
    left = (n_fft - win) // 2
    padded_window[left:left + win] = w
    batch = x.reshape(-1, x.shape[-1]).astype(np.float64)
    if center:
        modes = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}
        if pad_mode not in modes:
            raise ValueError(f"pad_mode must be one of {sorted(modes)}, got {pad_mode!r}")
        if pad_mode == "reflect" and batch.shape[1] <= n_fft // 2:
            raise ValueError(f"reflect padding needs more than n_fft // 2 = {n_fft // 2} samples, "
                             f"got {batch.shape[1]}")
        batch = np.pad(batch, ((0, 0), (n_fft // 2, n_fft // 2)), mode=modes[pad_mode])
    if batch.shape[1] < n_fft:
        raise ValueError(f"input has {batch.shape[1]} samples (after padding), fewer than n_fft = {n_fft}")
    frames = 1 + (batch.shape[1] - n_fft) // hop
    starts = np.arange(frames) * hop
    segments = batch[:, starts[:, None] + np.arange(n_fft)] * padded_window  # (batch, frames, n_fft)
    spectrum = np.fft.rfft(segments, axis=-1) if onesided else np.fft.fft(segments, axis=-1)
    if normalized:
        spectrum /= np.sqrt(n_fft)
    spectrum = spectrum.transpose(0, 2, 1).astype(complex_dtype)
    return spectrum[0] if x.ndim == 1 else spectrum


def spectrogram(waveform: Any, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None,
                pad: int = 0, power: float | None = 2.0, normalized: bool = False, center: bool = True,
                pad_mode: str = "reflect", onesided: bool = True) -> np.ndarray:
    """torchaudio's Spectrogram of waveform (..., time): |STFT|^power with a periodic Hann window of win_length
    (default n_fft), hop_length (default win_length // 2); power=None returns the complex STFT. pad zero-pads the
    signal on both sides first; normalized divides by the window's L2 norm (torchaudio's 'window')."""
    x = _signal(waveform)
    win = n_fft if win_length is None else win_length
    hop = win // 2 if hop_length is None else hop_length
    if pad:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])
    shape = x.shape
    window = hann_window(win)
    spec = stft(x.reshape(-1, shape[-1]), n_fft, hop, win, window, center, pad_mode, False, onesided)
    if normalized:
        spec = spec / np.sqrt((window ** 2).sum())
    spec = spec.reshape(shape[:-1] + spec.shape[-2:])
    if power is None:
        return spec
    magnitude = np.abs(spec)
    return (magnitude if power == 1.0 else magnitude ** power).astype(x.dtype if x.dtype == np.float32 else np.float64)


def _hz_to_mel(freq, mel_scale):
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + np.asarray(freq, np.float64) / 700.0)
    freq = np.asarray(freq, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(freq >= min_log_hz, min_log_mel + np.log(np.maximum(freq, 1e-10) / min_log_hz) / logstep,
                    freq / f_sp)


def _mel_to_hz(mels, mel_scale):
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (np.asarray(mels, np.float64) / 2595.0) - 1.0)
    mels = np.asarray(mels, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)


def melscale_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                    norm: str | None = None, mel_scale: str = "htk") -> np.ndarray:
    """torchaudio.functional.melscale_fbanks: (n_freqs, n_mels) triangular filters over the STFT bins
    0..sample_rate//2, centred at n_mels points evenly spaced on the mel scale ('htk' or 'slaney') between f_min
    and f_max; norm='slaney' divides each by its width (equal area)."""
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}")
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {mel_scale!r}")
    n_freqs, n_mels = _positive(n_freqs, "n_freqs"), _positive(n_mels, "n_mels")
    if not 0 <= f_min < f_max:
        raise ValueError(f"f_min and f_max must satisfy 0 <= f_min < f_max, got {f_min} and {f_max}")
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    m_pts = np.linspace(_hz_to_mel(f_min, mel_scale), _hz_to_mel(f_max, mel_scale), n_mels + 2)
    f_pts = _mel_to_hz(m_pts, mel_scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    if norm == "slaney":
        fb *= (2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels]))[None, :]
    return fb


def amplitude_to_db(x: Any, stype: str = "power", top_db: float | None = None, amin: float = 1e-10,
                    ref_value: float = 1.0) -> np.ndarray:
    """torchaudio's AmplitudeToDB: 10 log10(max(x, amin)) for power ('power'), 20 log10 for 'magnitude', minus
    the reference's level; top_db clamps each spectrogram (the last three axes of a (..., channel, freq, time)
    input, the last two of (freq, time)) to at most top_db below its maximum."""
    if stype not in ("power", "magnitude"):
        raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
    array = _signal(x, "x")
    multiplier = 10.0 if stype == "power" else 20.0
    db = multiplier * np.log10(np.maximum(array, amin)) - multiplier * np.log10(max(amin, ref_value))
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"top_db must be None or non-negative, got {top_db}")
        if db.ndim >= 2:
            packed = db.shape[-3] if db.ndim > 2 else 1
            view = db.reshape(-1, packed, db.shape[-2], db.shape[-1])
            floor = view.max(axis=(-3, -2, -1), keepdims=True) - top_db
            db = np.maximum(view, floor).reshape(db.shape)
    return db.astype(array.dtype if array.dtype == np.float32 else np.float64)


class Spectrogram:
    """torchaudio.transforms.Spectrogram as a callable over NumPy waveforms (see spectrogram)."""

    def __init__(self, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None,
                 pad: int = 0, power: float | None = 2.0, normalized: bool = False, center: bool = True,
                 pad_mode: str = "reflect", onesided: bool = True) -> None:
        self.options = dict(n_fft=n_fft, win_length=win_length, hop_length=hop_length, pad=pad, power=power,
                            normalized=normalized, center=center, pad_mode=pad_mode, onesided=onesided)

    def __call__(self, waveform: Any) -> np.ndarray:
        return spectrogram(waveform, **self.options)


class MelSpectrogram:
    """torchaudio.transforms.MelSpectrogram over NumPy waveforms (..., time) -> (..., n_mels, frames): the
    power spectrogram times melscale_fbanks(n_fft // 2 + 1, f_min, f_max or sample_rate / 2, n_mels)."""

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, win_length: int | None = None,
                 hop_length: int | None = None, f_min: float = 0.0, f_max: float | None = None, pad: int = 0,
                 n_mels: int = 128, power: float = 2.0, normalized: bool = False, center: bool = True,
                 pad_mode: str = "reflect", norm: str | None = None, mel_scale: str = "htk") -> None:
        self.sample_rate, self.n_mels = sample_rate, n_mels
        self.spectrogram = Spectrogram(n_fft, win_length, hop_length, pad, power, normalized, center, pad_mode)
        self.fb = melscale_fbanks(n_fft // 2 + 1, f_min, float(sample_rate) / 2 if f_max is None else f_max, n_mels,
                                  sample_rate, norm, mel_scale)

    def __call__(self, waveform: Any) -> np.ndarray:
        spec = self.spectrogram(waveform)
        mel = np.swapaxes(np.swapaxes(spec, -1, -2) @ self.fb.astype(spec.dtype), -1, -2)
        return np.ascontiguousarray(mel)


class AmplitudeToDB:
    """torchaudio.transforms.AmplitudeToDB as a callable (see amplitude_to_db)."""

    def __init__(self, stype: str = "power", top_db: float | None = None) -> None:
        self.stype, self.top_db = stype, top_db

    def __call__(self, x: Any) -> np.ndarray:
        return amplitude_to_db(x, self.stype, self.top_db)


CHIRP_CLASSES = ("rising", "falling", "steady", "pulsed")


def chirp_dataset(n: int, sample_rate: int = 8000, seconds: float = 0.5, seed: int = 0) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """(waveforms (n, samples) float32, labels (n,) int64 indexing CHIRP_CLASSES): a tone whose pitch rises,
    falls, stays, or stays and pulses on and off, at a random base frequency and level, in white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    labels = rng.integers(0, len(CHIRP_CLASSES), n)
    waves = np.empty((n, t.size), np.float32)
    for i, label in enumerate(labels):
        f0 = rng.uniform(300, 1200)
        sweep = {0: 2.0, 1: 0.5}.get(int(label), 1.0)
        freq = f0 * sweep ** (t / seconds)  # exponential sweep from f0 to f0 * sweep
        phase = 2 * np.pi * np.cumsum(freq) / sample_rate
        tone = np.sin(phase)
        if label == 3:
            tone *= (np.sin(2 * np.pi * rng.uniform(6, 12) * t) > 0)
        waves[i] = rng.uniform(0.3, 1.0) * tone + rng.normal(0, 0.1, t.size)
    return waves, labels.astype(np.int64)
