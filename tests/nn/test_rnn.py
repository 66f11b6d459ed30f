"""nn.RNN, nn.LSTM, nn.GRU: against a float64 NumPy recurrence of the stacked layers (1-3 layers, bidirectional,
batch_first, unbatched, initial states given or not, dropout in training and evaluation), the module's parameters,
initialisation, repr and errors; parity with PyTorch (copied weights: outputs, final states and every gradient)."""
import numpy as np
import pytest

import nnx
from nnx import nn
from ops.rnn import reference_layer

CLASSES = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN}


def make(mode, *args, **kwargs):
    if mode == "RNN_RELU":
        kwargs["nonlinearity"] = "relu"
    return CLASSES[mode](*args, **kwargs)


def reference_stack(module, x, h0, c0):
    """(output, h_n, c_n) of the whole module in float64, x as (L, N, H_in), without dropout."""
    directions = 2 if module.bidirectional else 1
    h_n, c_n, layer_input = [], [], x
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            weights = [p.numpy().astype(np.float64) for p in module.all_weights[index]]
            b_ih, b_hh = (weights[2], weights[3]) if module.bias else (None, None)
            out, h, c = reference_layer(layer_input, h0[index], None if c0 is None else c0[index], weights[0],
                                        weights[1], b_ih, b_hh, module.mode, direction == 1)
            outputs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_input = np.concatenate(outputs, axis=2)
    return layer_input, np.stack(h_n), (np.stack(c_n) if c0 is not None else None)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("layers, bidirectional, batch_first, bias", [
    (1, False, False, True), (2, True, False, True), (3, False, True, False), (2, True, True, True)])
@pytest.mark.parametrize("with_state", [False, True])
def test_module_matches_the_recurrence(rng, mode, layers, bidirectional, batch_first, bias, with_state):
    L, N, H_in, H = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    module = make(mode, H_in, H, num_layers=layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
                  dtype=np.float64)
    D = 2 if bidirectional else 1
    x = rng.normal(size=(L, N, H_in))
    h0 = rng.normal(size=(layers * D, N, H)) if with_state else np.zeros((layers * D, N, H))
    c0 = (rng.normal(size=(layers * D, N, H)) if with_state else np.zeros((layers * D, N, H))) \
        if mode == "LSTM" else None
    x_in = x.transpose(1, 0, 2) if batch_first else x
    if with_state:
        state = (nnx.tensor(h0), nnx.tensor(c0)) if mode == "LSTM" else nnx.tensor(h0)
        result = module(nnx.tensor(x_in), state)
    else:
        result = module(nnx.tensor(x_in))
    output, states = result
    h_n, c_n = states if mode == "LSTM" else (states, None)
    expected_out, expected_h, expected_c = reference_stack(module, x, h0, c0)
    if batch_first:
        expected_out = expected_out.transpose(1, 0, 2)
    assert output.shape == expected_out.shape and h_n.shape == (layers * D, N, H)
    np.testing.assert_allclose(output.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), expected_h, rtol=1e-12, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(c_n.numpy(), expected_c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_unbatched_input_is_the_batch_of_one(rng, mode):
    module = make(mode, 3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    x = rng.normal(size=(5, 3))
    h0 = rng.normal(size=(4, 4))
    state = (nnx.tensor(h0), nnx.tensor(h0 * 0.5)) if mode == "LSTM" else nnx.tensor(h0)
    output, states = module(nnx.tensor(x), state)
    batched_state = (nnx.tensor(h0[:, None]), nnx.tensor(h0[:, None] * 0.5)) if mode == "LSTM" else \
        nnx.tensor(h0[:, None])
    expected, expected_states = module(nnx.tensor(x[:, None]), batched_state)
    assert output.shape == (5, 8)
    np.testing.assert_array_equal(output.numpy(), expected.numpy()[:, 0])
    if mode == "LSTM":
        for got, want in zip(states, expected_states):
            assert got.shape == (4, 4)
            np.testing.assert_array_equal(got.numpy(), want.numpy()[:, 0])
    else:
        np.testing.assert_array_equal(states.numpy(), expected_states.numpy()[:, 0])


def test_float32_module_and_gradients_reach_every_parameter(rng):
    module = nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    x = nnx.tensor(rng.normal(size=(4, 3, 5)).astype(np.float32), requires_grad=True)
    output, (h_n, c_n) = module(x)
    assert output.dtype == nnx.float32
    (output.sum() + h_n.sum() + c_n.sum()).backward()
    assert x.grad is not None and x.grad.shape == x.shape
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and parameter.grad.shape == parameter.shape, name
        assert np.isfinite(parameter.grad.numpy()).all() and np.abs(parameter.grad.numpy()).sum() > 0, name


def test_dropout_between_layers_only_in_training(rng):
    module = nn.GRU(3, 4, num_layers=2, dropout=0.5, dtype=np.float64)
    x = nnx.tensor(rng.normal(size=(6, 2, 3)))
    module.eval()
    expected, _ = reference_stack(module, x.numpy().astype(np.float64), np.zeros((2, 2, 4)), None)[:2]
    out_eval, _ = module(x)
    np.testing.assert_allclose(out_eval.numpy(), expected, rtol=1e-12, atol=1e-12)
    module.train()
    nnx.manual_seed(int(rng.integers(0, 2**31)))
    out_a, _ = module(x)
    assert not np.allclose(out_a.numpy(), expected)  # half of layer 0's outputs are dropped before layer 1
    # the first layer alone is untouched by dropout (it applies between layers, never after the last)
    single = nn.GRU(3, 4, num_layers=1, dtype=np.float64)
    single.load_state_dict({k: v for k, v in module.state_dict().items() if k.endswith("_l0")})
    single.train()
    out_single, h = single(x)
    ref, _, _ = reference_stack(single, x.numpy(), np.zeros((1, 2, 4)), None)
    np.testing.assert_allclose(out_single.numpy(), ref, rtol=1e-12, atol=1e-12)


def test_parameters_names_shapes_and_initialisation():
    module = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert list(shapes) == [f"{kind}_l{layer}{suffix}" for layer in range(2) for suffix in ("", "_reverse")
                            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert shapes["weight_ih_l0"] == (80, 10) and shapes["weight_ih_l1"] == (80, 40)
    assert shapes["weight_hh_l1_reverse"] == (80, 20) and shapes["bias_hh_l0"] == (80,)
    bound = 1 / np.sqrt(20)
    for p in module.parameters():
        values = p.numpy()
        assert values.dtype == np.float32 and np.abs(values).max() <= bound and np.abs(values).max() > bound / 2
    gru = nn.GRU(3, 5, bias=False)
    assert [name for name, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert gru.weight_ih_l0.shape == (15, 3)
    assert nn.RNN(3, 5).weight_hh_l0.shape == (5, 5)


def test_repr_and_attributes():
    assert repr(nn.LSTM(4, 8)) == "LSTM(4, 8)"
    assert repr(nn.GRU(4, 8, num_layers=2, bias=False, batch_first=True, dropout=0.25, bidirectional=True)) == \
        "GRU(4, 8, num_layers=2, bias=False, batch_first=True, dropout=0.25, bidirectional=True)"
    rnn = nn.RNN(4, 8, 2, "relu")
    assert repr(rnn) == "RNN(4, 8, num_layers=2)" and rnn.nonlinearity == "relu" and rnn.mode == "RNN_RELU"
    lstm = nn.LSTM(4, 8)
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias, lstm.batch_first, lstm.dropout,
            lstm.bidirectional, lstm.proj_size, lstm.mode) == (4, 8, 1, True, False, 0.0, False, 0, "LSTM")


def test_errors_name_the_argument():
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(4, 8, proj_size=2)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(4, 8, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(4, 8, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(4, 8, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.LSTM(4, 0)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        nn.GRU(4, 3, num_layers=0)
    with pytest.raises(TypeError, match="batch_first should be of type bool"):
        nn.GRU(4, 3, batch_first=1)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(4, 3, dropout=0.5)
    lstm = nn.LSTM(4, 3)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 4, got 5"):
        lstm(nnx.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(nnx.zeros((2, 1, 1, 4)))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        lstm(nnx.zeros((2, 1, 4), dtype=nnx.float64))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 3\), got \[1, 3, 3\]"):
        lstm(nnx.zeros((2, 2, 4)), (nnx.zeros((1, 3, 3)), nnx.zeros((1, 2, 3))))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D"):
        nn.GRU(4, 3)(nnx.zeros((2, 4)), nnx.zeros((1, 1, 3)))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 3\), got \[2, 2, 3\]"):
        nn.RNN(4, 3)(nnx.zeros((2, 2, 4)), nnx.zeros((2, 2, 3)))


# ---- parity with PyTorch (copied weights; skipped without torch) ---------------------------------------------------
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("layers, bidirectional, batch_first, sizes", [
    (1, False, False, (7, 3, 5, 6)), (2, True, False, (5, 4, 3, 9)), (3, True, True, (4, 2, 7, 5)),
    (3, False, True, (6, 5, 1, 3))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_pytorch(rng, mode, layers, bidirectional, batch_first, sizes, dtype):
    torch = pytest.importorskip("torch")
    L, N, H_in, H = sizes
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    torch_classes = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN_TANH": torch.nn.RNN, "RNN_RELU": torch.nn.RNN}
    extra = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    theirs = torch_classes[mode](H_in, H, **kwargs, **extra).to(getattr(torch, dtype))
    ours = make(mode, H_in, H, dtype=dtype, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    D = 2 if bidirectional else 1
    x = rng.normal(size=(N, L, H_in) if batch_first else (L, N, H_in)).astype(dtype)
    h0 = rng.normal(size=(layers * D, N, H)).astype(dtype)
    c0 = rng.normal(size=(layers * D, N, H)).astype(dtype)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    nx, nh, nc = (nnx.tensor(a, requires_grad=True) for a in (x, h0, c0))
    if mode == "LSTM":
        t_out, (t_h, t_c) = theirs(tx, (th, tc))
        n_out, (n_h, n_c) = ours(nx, (nh, nc))
        pairs = [(t_out, n_out), (t_h, n_h), (t_c, n_c)]
    else:
        t_out, t_h = theirs(tx, th)
        n_out, n_h = ours(nx, nh)
        pairs = [(t_out, n_out), (t_h, n_h)]
    tol = dict(rtol=1e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    weights = [rng.normal(size=tuple(t.shape)).astype(dtype) for t, _ in pairs]
    for t, n in pairs:
        np.testing.assert_allclose(n.numpy(), t.detach().numpy(), **tol)
    sum(((t * torch.tensor(w)).sum() for (t, _), w in zip(pairs, weights))).backward()
    sum(((n * nnx.tensor(w)).sum() for (_, n), w in zip(pairs, weights))).backward()
    grads = [(tx, nx, "input"), (th, nh, "h0")] + ([(tc, nc, "c0")] if mode == "LSTM" else [])
    for t, n, name in grads:
        np.testing.assert_allclose(n.grad.numpy(), t.grad.numpy(), err_msg=name, **tol)
    their_parameters = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), their_parameters[name].grad.numpy(), err_msg=name, **tol)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_RELU"])
def test_on_a_device_matches_the_cpu(device, rng, mode):
    from conftest import to_numpy
    cpu = make(mode, 3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    moved = make(mode, 3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    moved.load_state_dict(cpu.state_dict())
    moved.to(device)
    x = rng.normal(size=(5, 2, 3))
    results = []
    for module, where in ((cpu, "cpu"), (moved, device)):
        inp = nnx.tensor(x, requires_grad=True, device=where)
        output, states = module(inp)
        h_n = states[0] if mode == "LSTM" else states
        (output.sum() + (h_n * h_n).sum()).backward()
        grads = [to_numpy(p.grad) for p in module.parameters()]
        results.append([to_numpy(output), to_numpy(h_n), to_numpy(inp.grad)] + grads)
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# ---- cells -----------------------------------------------------------------------------------------------------------
CELLS = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "RNN_TANH": nn.RNNCell, "RNN_RELU": nn.RNNCell}


def make_cell(mode, *args, **kwargs):
    if mode == "RNN_RELU":
        kwargs["nonlinearity"] = "relu"
    return CELLS[mode](*args, **kwargs)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_is_one_step_of_the_recurrence(rng, mode, bias, batched):
    N, H_in, H = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    cell = make_cell(mode, H_in, H, bias=bias, dtype=np.float64)
    x, h, c = rng.normal(size=(N, H_in)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    weights = [p.numpy() for p in cell.parameters()]
    b_ih, b_hh = (weights[2], weights[3]) if bias else (None, None)
    _, want_h, want_c = reference_layer(x[None], h, c if mode == "LSTM" else None, weights[0], weights[1], b_ih, b_hh,
                                        mode, False)
    pick = (lambda a: a) if batched else (lambda a: a[0])
    state = (nnx.tensor(pick(h)), nnx.tensor(pick(c))) if mode == "LSTM" else nnx.tensor(pick(h))
    result = cell(nnx.tensor(pick(x)), state)
    got_h, got_c = result if mode == "LSTM" else (result, None)
    np.testing.assert_allclose(got_h.numpy(), pick(want_h), rtol=1e-12, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(got_c.numpy(), pick(want_c), rtol=1e-12, atol=1e-12)
    zero_state = cell(nnx.tensor(pick(x)))
    _, want_zero, _ = reference_layer(x[None], h * 0, c * 0 if mode == "LSTM" else None, weights[0], weights[1], b_ih,
                                      b_hh, mode, False)
    got_zero = zero_state[0] if mode == "LSTM" else zero_state
    np.testing.assert_allclose(got_zero.numpy(), pick(want_zero), rtol=1e-12, atol=1e-12)


def test_cell_parameters_and_repr():
    cell = nn.LSTMCell(3, 5)
    assert [(n, tuple(p.shape)) for n, p in cell.named_parameters()] == [
        ("weight_ih", (20, 3)), ("weight_hh", (20, 5)), ("bias_ih", (20,)), ("bias_hh", (20,))]
    assert repr(cell) == "LSTMCell(3, 5)" and repr(nn.GRUCell(3, 5, bias=False)) == "GRUCell(3, 5, bias=False)"
    assert repr(nn.RNNCell(3, 5, nonlinearity="relu")) == "RNNCell(3, 5, nonlinearity=relu)"
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D instead"):
        cell(nnx.zeros((1, 2, 3)))


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
def test_cell_matches_pytorch(rng, mode):
    torch = pytest.importorskip("torch")
    classes = {"LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell, "RNN_TANH": torch.nn.RNNCell,
               "RNN_RELU": torch.nn.RNNCell}
    extra = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    theirs = classes[mode](4, 6, **extra).double()
    ours = make_cell(mode, 4, 6, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x, h, c = rng.normal(size=(3, 4)), rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    nx, nh, nc = (nnx.tensor(a, requires_grad=True) for a in (x, h, c))
    if mode == "LSTM":
        t_h, t_c = theirs(tx, (th, tc))
        n_h, n_c = ours(nx, (nh, nc))
        (t_h.sum() + (t_c * t_c).sum()).backward()
        (n_h.sum() + (n_c * n_c).sum()).backward()
        np.testing.assert_allclose(nc.grad.numpy(), tc.grad.numpy(), rtol=1e-10, atol=1e-12)
    else:
        t_h, n_h = theirs(tx, th), ours(nx, nh)
        (t_h * t_h).sum().backward()
        (n_h * n_h).sum().backward()
    np.testing.assert_allclose(n_h.numpy(), t_h.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nh.grad.numpy(), th.grad.numpy(), rtol=1e-10, atol=1e-12)
    their_parameters = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), their_parameters[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
