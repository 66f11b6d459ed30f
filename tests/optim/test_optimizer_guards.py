"""Optimizer guards: hyperparameters checked at construction, in add_param_group, load_state_dict and again
by step() when they changed; a refused step leaves parameters and optimizer state exactly as they were."""
import copy

import numpy as np
import pytest

import nnx
from nnx import optim

INF, NAN = float("inf"), float("nan")
OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.2)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
]
OPTIMIZER_IDS = [f"{cls.__name__}-{'-'.join(map(str, kw.values()))}" for cls, kw in OPTIMIZERS]
NUMBERS = {  # optimizer -> its number-valued hyperparameters
    optim.SGD: ["lr", "momentum", "dampening", "weight_decay"],
    optim.Adam: ["lr", "eps", "weight_decay"],
    optim.AdamW: ["lr", "eps", "weight_decay"],
    optim.RMSprop: ["lr", "alpha", "eps", "weight_decay", "momentum"],
}
FLAGS = {optim.SGD: ["nesterov", "maximize"], optim.Adam: ["amsgrad", "maximize"],
         optim.AdamW: ["amsgrad", "maximize"], optim.RMSprop: ["centered", "maximize"]}
NOT_NUMBERS = ["0.1", None, True, 1j, [0.1], np.array([0.1, 0.2]), nnx.tensor([0.1])]
NOT_FINITE_OR_NEGATIVE = [INF, NAN, -INF, -0.5, np.float32(NAN)]


def number_cases(values, error):
    return [(cls, name, value, error) for cls, names in NUMBERS.items() for name in names for value in values]


def params(rng, n=3):
    return [nnx.nn.Parameter(rng.normal(size=size).astype(np.float32)) for size in (3, 17, 1)[:n]]


def set_grads(rng, ps):
    for p in ps:
        p.grad = nnx.tensor(rng.normal(size=p.shape).astype(np.float32))


def snapshot(optimizer):
    """Every parameter value, every group's hyperparameters and the whole state, copied."""
    return ([p.numpy().copy() for group in optimizer.param_groups for p in group["params"]],
            [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups],
            copy.deepcopy(optimizer.state_dict()["state"]))


def assert_same(optimizer, before):
    values, groups, state = snapshot(optimizer)
    for value, value_before in zip(values, before[0], strict=True):
        np.testing.assert_array_equal(value, value_before)
    assert groups == before[1]
    assert state.keys() == before[2].keys()
    for index, entries in state.items():
        assert entries.keys() == before[2][index].keys(), index
        for name, entry in entries.items():
            np.testing.assert_array_equal(np.asarray(entry.numpy() if isinstance(entry, nnx.Tensor) else entry),
                                          np.asarray(before[2][index][name].numpy()
                                                     if isinstance(entry, nnx.Tensor) else before[2][index][name]))


# --- construction and add_param_group -----------------------------------------------------------------
@pytest.mark.parametrize("cls,name,value,error", number_cases(NOT_NUMBERS, TypeError)
                         + number_cases(NOT_FINITE_OR_NEGATIVE, ValueError))
def test_a_bad_number_is_refused_at_construction_naming_it(rng, cls, name, value, error):
    with pytest.raises(error, match=rf"\b{name}\b"):
        cls(params(rng), **{name: value})


@pytest.mark.parametrize("cls,name,value", [(optim.RMSprop, "alpha", 1.5), (optim.SGD, "dampening", 1.5),
                                            (optim.Adam, "betas", (1.0, 0.9)), (optim.Adam, "betas", (0.9, INF))])
def test_out_of_range_values_are_refused(rng, cls, name, value):
    with pytest.raises(ValueError, match="alpha|dampening|beta"):
        cls(params(rng), **{name: value})


def test_messages_say_what_was_expected(rng):
    with pytest.raises(TypeError, match=r"^lr must be a number \(a finite float\), got str '0.1'"):
        optim.SGD(params(rng), lr="0.1")
    with pytest.raises(TypeError, match="lr must be a number .*got NoneType"):
        optim.Adam(params(rng), lr=None)
    with pytest.raises(ValueError, match=r"Invalid lr value: inf \(lr must be a finite number >= 0\)"):
        optim.Adam(params(rng), lr=INF)
    with pytest.raises(TypeError, match=r"betas\[1\] must be a number"):
        optim.Adam(params(rng), betas=(0.9, "0.999"))
    with pytest.raises(ValueError, match=r"Invalid betas: 0.9 \(expected a pair"):
        optim.Adam(params(rng), betas=0.9)


@pytest.mark.parametrize("cls,name", [(cls, name) for cls, names in FLAGS.items() for name in names])
@pytest.mark.parametrize("value", ["False", None, 2, 0.5])
def test_a_flag_must_be_a_bool(rng, cls, name, value):
    with pytest.raises(TypeError, match=rf"{name} must be True or False"):
        cls(params(rng), **{name: value})


def step_twins(rng, make, make_plain, steps=3):
    """The same parameters and gradients through an optimizer given NumPy/int hyperparameters and one given the
    equal plain Python floats/bools: the updates must be identical, bit for bit."""
    ps = params(rng)
    start = [p.numpy().copy() for p in ps]
    twins = [nnx.nn.Parameter(value.copy()) for value in start]
    optimizer, plain = make(ps), make_plain(twins)
    for _ in range(steps):
        set_grads(rng, ps)
        for p, twin in zip(ps, twins):
            twin.grad = nnx.tensor(p.grad.numpy().copy())
        optimizer.step()
        plain.step()
    for p, twin in zip(ps, twins):
        np.testing.assert_array_equal(p.numpy(), twin.numpy())
    assert all(not np.array_equal(p.numpy(), value) for p, value in zip(ps, start)), "a parameter did not move"


def test_everyday_numbers_are_accepted(rng):
    step_twins(rng, lambda ps: optim.Adam(ps, lr=np.float32(0.01), betas=[np.float64(0.9), 0.999], eps=0,
                                          weight_decay=np.int64(0), amsgrad=np.bool_(True), maximize=0),
               lambda ps: optim.Adam(ps, lr=float(np.float32(0.01)), betas=(0.9, 0.999), eps=0.0, weight_decay=0.0,
                                     amsgrad=True, maximize=False))
    step_twins(rng, lambda ps: optim.SGD(ps, lr=1, momentum=1, nesterov=1),
               lambda ps: optim.SGD(ps, lr=1.0, momentum=1.0, nesterov=True))
    step_twins(rng, lambda ps: optim.RMSprop(ps, lr=np.float64(0.01), alpha=1, momentum=np.float16(0.5)),
               lambda ps: optim.RMSprop(ps, lr=0.01, alpha=1.0, momentum=0.5))


def test_add_param_group_refuses_a_bad_value_and_adds_nothing(rng):
    first, second = params(rng), params(rng)
    optimizer = optim.Adam(first, lr=0.01)
    for bad in (dict(lr="fast"), dict(lr=NAN), dict(betas=(0.9, None)), dict(eps=-1), dict(amsgrad="yes")):
        with pytest.raises((TypeError, ValueError), match="lr|beta|eps|amsgrad"):
            optimizer.add_param_group(dict(bad, params=second))
    assert len(optimizer.param_groups) == 1
    optimizer.add_param_group({"params": second, "lr": 0.1})
    assert optimizer.param_groups[1]["lr"] == 0.1


# --- step() re-checks what changed ----------------------------------------------------------------------
@pytest.mark.parametrize("cls,options", OPTIMIZERS, ids=OPTIMIZER_IDS)
@pytest.mark.parametrize("value,error", [("x", TypeError), (None, TypeError), (INF, ValueError),
                                         (NAN, ValueError), (-1.0, ValueError), (np.ones(2), TypeError)])
def test_step_refuses_an_lr_set_after_construction_and_changes_nothing(rng, cls, options, value, error):
    ps = params(rng)
    optimizer = cls(ps, **options)
    set_grads(rng, ps)
    optimizer.step()  # the state exists and the checked values are cached
    set_grads(rng, ps)
    optimizer.param_groups[0]["lr"] = value
    before = snapshot(optimizer)
    with pytest.raises(error, match="lr"):
        optimizer.step()
    assert_same(optimizer, before)


def test_a_bad_value_in_a_later_group_moves_no_parameter_of_an_earlier_one(rng):
    first, second = params(rng), params(rng)
    optimizer = optim.SGD([{"params": first}, {"params": second}], lr=0.1, momentum=0.9)
    set_grads(rng, first + second)
    optimizer.param_groups[1]["momentum"] = "0.9"
    before = snapshot(optimizer)
    with pytest.raises(TypeError, match="momentum must be a number"):
        optimizer.step()
    assert_same(optimizer, before)


def test_a_missing_entry_is_named(rng):
    optimizer = optim.Adam(params(rng))
    del optimizer.param_groups[0]["eps"]
    set_grads(rng, optimizer.param_groups[0]["params"])
    with pytest.raises(ValueError, match="parameter group has no 'eps' entry"):
        optimizer.step()


def test_changed_values_are_used_at_the_next_step(rng):
    """The check is cached, the values are not: a new lr and a betas list edited in place apply."""
    ps = params(rng, 1)
    sgd = optim.SGD(ps, lr=0.1)
    set_grads(rng, ps)
    sgd.step()
    sgd.param_groups[0]["lr"] = 0.0
    before = ps[0].numpy().copy()
    sgd.step()
    np.testing.assert_array_equal(ps[0].numpy(), before)
    adam = optim.Adam(ps, lr=0.1, betas=[0.9, 0.999])
    adam.step()
    adam.param_groups[0]["betas"][0] = 1.5  # edited in place: the same list object
    with pytest.raises(ValueError, match="beta parameter at index 0"):
        adam.step()
    adam.param_groups[0]["betas"][0] = 0.0  # beta1 = 0: m is this step's gradient, m_hat = g
    theta, g = ps[0].numpy().astype(np.float64), ps[0].grad.numpy().astype(np.float64)
    v = adam.state[ps[0]]["exp_avg_sq"].numpy() * 0.999 + 0.001 * g * g
    adam.step()
    expected = theta - 0.1 * g / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(ps[0].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_load_state_dict_refuses_a_bad_saved_hyperparameter_and_changes_nothing(rng):
    ps = params(rng)
    optimizer = optim.Adam(ps, lr=0.01)
    set_grads(rng, ps)
    optimizer.step()
    saved = copy.deepcopy(optimizer.state_dict())
    saved["param_groups"][0]["lr"] = "0.01"
    saved["state"][0]["step"] = 99
    before = snapshot(optimizer)
    with pytest.raises(TypeError, match="lr must be a number"):
        optimizer.load_state_dict(saved)
    assert_same(optimizer, before)


# --- a refused native call changes nothing ---------------------------------------------------------------
def wrong_shape_gradient(p):
    """A gradient of the wrong shape, set behind the grad setter's checks: only the native call sees it."""
    p._grad = nnx.Tensor._wrap(np.ones(p.numpy().size + 1, np.float32))


@pytest.mark.parametrize("cls,options", OPTIMIZERS, ids=OPTIMIZER_IDS)
@pytest.mark.parametrize("warm_steps", [0, 2])
def test_a_refused_step_leaves_parameters_and_state_as_they_were(rng, cls, options, warm_steps):
    ps = params(rng)
    twins = [nnx.nn.Parameter(p.numpy().copy()) for p in ps]
    optimizer, twin_optimizer = cls(ps, **options), cls(twins, **options)
    for _ in range(warm_steps):
        set_grads(rng, ps)
        for p, twin in zip(ps, twins):
            twin.grad = nnx.tensor(p.grad.numpy().copy())
        optimizer.step(), twin_optimizer.step()
    set_grads(rng, ps)
    good_grad = ps[1].grad
    wrong_shape_gradient(ps[1])
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match="grads"):
        optimizer.step()
    assert_same(optimizer, before)
    # and the next good step is the step the optimizer would have taken had the refusal never happened
    ps[1]._grad = good_grad
    for p, twin in zip(ps, twins):
        twin.grad = nnx.tensor(p.grad.numpy().copy())
    optimizer.step(), twin_optimizer.step()
    for p, twin in zip(ps, twins):
        np.testing.assert_array_equal(p.numpy(), twin.numpy())
    assert [s.get("step") for s in optimizer.state.values()] == [s.get("step") for s in twin_optimizer.state.values()]


def test_sgd_first_momentum_step_survives_a_refused_step(rng):
    """The buffer starts as the gradient (b = g) at the first step that goes through, not the refused one."""
    ps = params(rng)
    optimizer = optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5)
    set_grads(rng, ps)
    grads = [p.grad for p in ps]
    wrong_shape_gradient(ps[0])
    with pytest.raises(ValueError, match="grads"):
        optimizer.step()
    assert not optimizer.state
    ps[0]._grad = grads[0]
    optimizer.step()
    for p, g in zip(ps, grads):
        np.testing.assert_array_equal(optimizer.state[p]["momentum_buffer"].numpy(), g.numpy())


def test_load_state_dict_fills_entries_an_older_save_lacks_from_the_defaults(rng):
    ps = params(rng)
    optimizer = optim.Adam(ps, lr=0.01, amsgrad=True)
    saved = copy.deepcopy(optimizer.state_dict())
    del saved["param_groups"][0]["decoupled_weight_decay"]
    saved["param_groups"][0]["foreach"] = None  # PyTorch's extra entries are kept, unused
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is False and optimizer.param_groups[0]["amsgrad"]
    set_grads(rng, ps)
    optimizer.step()


# --- a step is refused as a whole: every group's arrays checked before any group moves ----------------------
def wrong_dtype_gradient(p):
    p._grad = nnx.Tensor._wrap(np.ones(p.shape, np.float64))


def strided_gradient(p):
    p._grad = nnx.Tensor._wrap(np.ones(p.shape + (2,), np.float32)[..., 0])  # right shape, not contiguous


def wrong_dtype_parameter(p):
    p._data = p._data.astype(np.float64)  # a .data trick: the parameter itself changed behind the setters


BAD_ARRAYS = [
    (wrong_shape_gradient, ValueError, r"grads\[1\] must have the shape of params\[1\] \(17,\), got \(18,\)"),
    (wrong_dtype_gradient, TypeError, r"grads\[1\] must have the dtype of params\[1\] \(float32\), got float64"),
    (strided_gradient, ValueError, r"grads\[1\] must be C-contiguous"),
    (wrong_dtype_parameter, TypeError, r"params\[1\] must have the dtype of params\[0\] \(float32\), got float64"),
]


def native_refusal(cls, options, rng, spoil):
    """The error the native call gives for the spoiled parameter in a one-group optimizer (one native call)."""
    ps = params(rng)
    optimizer = cls(ps, **options)
    set_grads(rng, ps)
    spoil(ps[1])
    with pytest.raises((TypeError, ValueError)) as refused:
        optimizer.step()
    return refused.value


@pytest.mark.parametrize("cls,options", OPTIMIZERS, ids=OPTIMIZER_IDS)
@pytest.mark.parametrize("spoil,error,message", BAD_ARRAYS, ids=[case[0].__name__ for case in BAD_ARRAYS])
@pytest.mark.parametrize("warm_steps", [0, 2])
def test_a_bad_array_in_a_later_group_moves_no_earlier_group(rng, cls, options, spoil, error, message, warm_steps):
    groups = [params(rng), params(rng), params(rng)]
    optimizer = cls([{"params": groups[0]}, {"params": groups[1], "lr": 0.05}, {"params": groups[2]}], **options)
    for _ in range(warm_steps):
        set_grads(rng, [p for group in groups for p in group])
        optimizer.step()
    set_grads(rng, [p for group in groups for p in group])
    spoil(groups[2][1])
    before = snapshot(optimizer)
    with pytest.raises(error, match=message) as refused:
        optimizer.step()
    assert_same(optimizer, before)
    # the message is the native call's own, word for word
    expected = native_refusal(cls, options, rng, spoil)
    assert type(refused.value) is type(expected) and str(refused.value) == str(expected)


@pytest.mark.parametrize("cls,options", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_after_a_refused_multi_group_step_the_next_step_is_the_one_it_would_have_been(rng, cls, options):
    groups = [params(rng), params(rng)]
    twins = [[nnx.nn.Parameter(p.numpy().copy()) for p in group] for group in groups]
    optimizer = cls([{"params": groups[0]}, {"params": groups[1]}], **options)
    twin_optimizer = cls([{"params": twins[0]}, {"params": twins[1]}], **options)
    everything, twin_everything = groups[0] + groups[1], twins[0] + twins[1]
    set_grads(rng, everything)
    good_grad = groups[1][2].grad
    wrong_shape_gradient(groups[1][2])
    with pytest.raises(ValueError, match=r"grads\[2\] must have the shape of params\[2\]"):
        optimizer.step()
    groups[1][2]._grad = good_grad
    for p, twin in zip(everything, twin_everything):
        twin.grad = nnx.tensor(p.grad.numpy().copy())
    optimizer.step(), twin_optimizer.step()
    for p, twin in zip(everything, twin_everything):
        np.testing.assert_array_equal(p.numpy(), twin.numpy())
    assert [s.get("step") for s in optimizer.state.values()] == [s.get("step") for s in twin_optimizer.state.values()]


def test_adam_parameters_at_different_steps_are_refused_together(rng):
    """A group whose parameters are at different step counts takes one native call per count: a bad gradient
    seen by the second call must not leave the first call's parameters stepped."""
    ps = params(rng)
    optimizer = optim.Adam(ps, lr=0.01)
    set_grads(rng, ps[:1])  # only ps[0] steps: it is one step ahead of the others from now on
    optimizer.step()
    set_grads(rng, ps)
    wrong_shape_gradient(ps[2])  # step 1's call (ps[1], ps[2]) would refuse it, after step 2's (ps[0]) ran
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match=r"grads\[2\] must have the shape of params\[2\]"):
        optimizer.step()
    assert_same(optimizer, before)


def test_sgd_new_and_continuing_momentum_buffers_are_refused_together(rng):
    """New buffers (b = g) and continuing ones take separate native calls: checked together before either."""
    ps = params(rng)
    optimizer = optim.SGD(ps, lr=0.1, momentum=0.9)
    set_grads(rng, ps[:2])
    optimizer.step()  # ps[2] has no buffer yet
    set_grads(rng, ps)
    wrong_shape_gradient(ps[2])
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match=r"grads\[2\] must have the shape of params\[2\]"):
        optimizer.step()
    assert_same(optimizer, before)
    assert "momentum_buffer" not in optimizer.state.get(ps[2], {})


def test_a_state_buffer_that_no_longer_fits_its_parameter_is_refused_before_any_group_moves(rng):
    first, second = params(rng), params(rng)
    optimizer = optim.Adam([{"params": first}, {"params": second}], lr=0.01)
    set_grads(rng, first + second)
    optimizer.step()
    optimizer.state[second[0]]["exp_avg"] = nnx.Tensor._wrap(np.zeros(5, np.float32))  # replaced behind the checks
    optimizer._bundles.clear()  # as a load_state_dict would: the next step gathers the state afresh
    set_grads(rng, first + second)
    before = snapshot(optimizer)
    with pytest.raises(ValueError, match=r"exp_avgs\[0\] must have the shape of params\[0\] \(3,\), got \(5,\)"):
        optimizer.step()
    assert_same(optimizer, before)


def test_a_gradient_on_another_device_is_refused_before_any_group_moves(rng, device):
    first, second = params(rng), params(rng)
    for p in first + second:
        p.data = p.data.to(device)
    optimizer = optim.SGD([{"params": first}, {"params": second}], lr=0.1, momentum=0.9)
    for p in first + second:
        p.grad = nnx.tensor(rng.normal(size=p.shape).astype(np.float32)).to(device)
    other = "cpu" if device != "cpu" else None
    if other is None:
        pytest.skip("needs a second device")
    second[1]._grad = second[1].grad.to(other)  # behind the setter's device check
    before = snapshot(optimizer)
    with pytest.raises((TypeError, ValueError), match=r"grads\[1\]"):
        optimizer.step()
    assert_same(optimizer, before)
