"""nnx.nn.init (fans, gains, the statistics of each initialiser, seeding) and nnx.nn.utils gradient clipping."""
import math

import numpy as np
import pytest

import nnx
from nnx import nn
from nnx.nn import init


def parameter(*shape, dtype=np.float32):
    return nn.Parameter(np.full(shape, np.nan, dtype=dtype))


@pytest.mark.parametrize("shape,fans", [((3, 5), (5, 3)), ((4, 2, 3, 3), (18, 36)), ((1, 1), (1, 1))])
def test_fan_computation(shape, fans):
    assert init._calculate_fan_in_and_fan_out(parameter(*shape)) == fans


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(parameter(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(parameter(2, 2), mode="fan_avg")


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


FAN_IN, FAN_OUT = 300, 200
CASES = {  # initialiser, expected bound (uniform) or None, expected std
    "uniform": (lambda t: init.uniform_(t, -0.5, 1.5), (-0.5, 1.5), 2 / math.sqrt(12)),
    "normal": (lambda t: init.normal_(t, 0.3, 2.0), None, 2.0),
    "xavier_uniform": (lambda t: init.xavier_uniform_(t, gain=2.0), "symmetric", 2.0 * math.sqrt(2 / 500)),
    "xavier_normal": (lambda t: init.xavier_normal_(t), None, math.sqrt(2 / 500)),
    "kaiming_uniform": (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), "symmetric",
                        math.sqrt(2 / FAN_IN)),
    "kaiming_uniform_fan_out": (lambda t: init.kaiming_uniform_(t, a=0.2, mode="fan_out"), "symmetric",
                                math.sqrt(2 / (1 + 0.04)) / math.sqrt(FAN_OUT)),
    "kaiming_normal": (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), None, math.sqrt(2 / FAN_IN)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", CASES)
def test_initialiser_statistics(name, dtype):
    fill, bound, std = CASES[name]
    t = parameter(FAN_OUT, FAN_IN, dtype=dtype)
    nnx.manual_seed(5)
    assert fill(t) is t
    values = t.numpy()
    assert values.dtype == dtype and not np.isnan(values).any()
    assert abs(values.std() - std) < 0.01 * std
    if bound == "symmetric":
        limit = std * math.sqrt(3)
        assert values.max() <= limit and values.min() >= -limit and values.max() > 0.99 * limit
    elif bound is not None:
        assert values.min() >= bound[0] and values.max() < bound[1]
    nnx.manual_seed(5)
    np.testing.assert_array_equal(fill(parameter(FAN_OUT, FAN_IN, dtype=dtype)).numpy(), values)


def test_constants_and_explicit_generator():
    t = parameter(3, 4)
    assert not init.zeros_(t).numpy().any()
    assert (init.ones_(t).numpy() == 1).all()
    assert (init.constant_(t, 2.5).numpy() == 2.5).all()
    a = init.normal_(parameter(5), generator=np.random.default_rng(1)).numpy()
    b = init.normal_(parameter(5), generator=np.random.default_rng(1)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="nnx Tensor"):
        init.zeros_(np.zeros(3))
    with pytest.raises(TypeError, match="generator"):
        init.normal_(parameter(2), generator=3)


def test_init_does_not_record_gradients():
    t = parameter(4, 4)
    init.kaiming_uniform_(t)
    assert t.is_leaf and t.grad is None


# --- clipping -----------------------------------------------------------------------------------------
def params_with_grads(rng, dtype=np.float64, scale=1.0):
    params = [nn.Parameter(rng.normal(size=shape).astype(dtype)) for shape in [(3, 4), (5,), (1,), (40_003,)]]
    for p in params:
        p.grad = nnx.tensor((rng.normal(size=p.shape) * scale).astype(dtype))
    return params


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e9])
def test_clip_grad_norm(rng, norm_type, max_norm):
    params = params_with_grads(rng)
    grads = [p.grad.numpy().copy() for p in params]
    flat = np.concatenate([g.ravel() for g in grads])
    if norm_type == math.inf:
        expected_norm = np.abs(flat).max()
    else:
        expected_norm = (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, nnx.Tensor)
    np.testing.assert_allclose(total.item(), expected_norm, rtol=1e-10)
    coefficient = min(1.0, max_norm / (expected_norm + 1e-6))
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coefficient, rtol=1e-12)


def test_clip_grad_norm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    params = params_with_grads(rng, np.float32, scale=3.0)
    torch_params = [torch.tensor(p.numpy(), requires_grad=True) for p in params]
    for p, q in zip(params, torch_params):
        q.grad = torch.tensor(p.grad.numpy().copy())
    expected = torch.nn.utils.clip_grad_norm_(torch_params, 1.0)
    total = nn.utils.clip_grad_norm_(params, 1.0)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-5)
    for p, q in zip(params, torch_params):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_edge_cases(rng):
    params = params_with_grads(rng)
    params[0].grad = None  # skipped
    params[1].grad.numpy()[0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_(params, 1.0, norm_type=0)
    with pytest.raises(TypeError, match="parameters"):
        nn.utils.clip_grad_norm_([np.zeros(2)], 1.0)


def test_clip_grad_value(rng):
    params = params_with_grads(rng, scale=2.0)
    grads = [p.grad.numpy().copy() for p in params]
    nn.utils.clip_grad_value_(params, 0.7)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.7, 0.7))
    with pytest.raises(ValueError, match="clip_value"):
        nn.utils.clip_grad_value_(params, -1)
