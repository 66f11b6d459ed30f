"""The network behind an estimator: an nnx.nn.Sequential built from scikit-learn's layer sizes, its weights
initialised like scikit-learn's (Glorot uniform from random_state), and NumPy views of it as coefs_/intercepts_.

The network lives in host memory between calls (so coefs_/intercepts_ are views of it); with device='cuda'
a fit moves it to the GPU in place, trains there, and moves it back (training_device below)."""
import contextlib

import numpy as np

import nnx
from nnx import _C, native, nn
from nnx.deferred import is_device_array
from nnx.tensor import Tensor, _target_device, move_array

# Sequential fuses Linear + a following activation into one native call, so the activation comes right after
# its Linear (batch norm, when asked for, sits between them and breaks the fusion by necessity).
_HIDDEN_ACTIVATIONS = {"identity": None, "logistic": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def as_tensor(array):
    """A Tensor sharing the array's memory (a NumPy or a device array; no copy per batch)."""
    return nnx.from_numpy(array) if isinstance(array, np.ndarray) else Tensor._wrap(array)


def parameter_array(parameter):
    """The array holding a parameter's (or buffer's) values, NumPy while the network is in host memory (a
    device array while a fit trains it on a GPU); writes to it change the network."""
    return parameter._data


def host_array(array):
    """array itself when it is a NumPy array, else a NumPy copy of the device array (an explicit read)."""
    return array if isinstance(array, np.ndarray) else native.for_array(array).to_numpy(array)


def training_device(device):
    """None for device='cpu' (train in place), else the nnx.device a fit moves the network to."""
    target = _target_device(device, "device")
    return None if target.type == "cpu" else target


@contextlib.contextmanager
def on_device(estimator, device):
    """estimator._network (and its solver's optimizer state) on `device` for the block, back in host memory
    after it, with coefs_/intercepts_ the views of the host network again. device None: nothing moves."""
    if device is None:
        yield
        return
    network = estimator._network
    network.to(device)
    _rebind_solver(estimator)
    try:
        yield
    finally:
        network.to("cpu")
        _rebind_solver(estimator)
        estimator.coefs_, estimator.intercepts_ = weight_views(network)


def _rebind_solver(estimator):
    solver = getattr(estimator, "_solver", None)
    if solver is not None:
        solver.optimizer._state_to_param_devices()
        solver.rebind_arrays(estimator._network)


def network_device(network):
    """The device of the network's parameters: None in host memory."""
    first = next(iter(network.parameters()), None)
    return None if first is None or first.device.type == "cpu" else first.device


def build_network(layer_units, activation, dropout=0.0, batch_norm=False, dtype=np.float32):
    """Linear layers of layer_units[i] -> layer_units[i + 1]; hidden ones followed by the activation (and the
    optional batch norm and dropout), parameters of `dtype`. The last Linear outputs raw scores: the loss applies
    the output activation."""
    layers = []
    n_linear = len(layer_units) - 1
    for i in range(n_linear):
        layers.append(nn.Linear(layer_units[i], layer_units[i + 1]))
        if i == n_linear - 1:
            break
        if batch_norm:
            layers.append(nn.BatchNorm1d(layer_units[i + 1]))
        if _HIDDEN_ACTIVATIONS[activation] is not None:
            layers.append(_HIDDEN_ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    network = nn.Sequential(*layers)
    return network.double() if np.dtype(dtype) == np.float64 else network


def network_dtype(network):
    """The dtype the network computes in (its parameters'): float32 or float64."""
    return next(iter(network.parameters()))._data.dtype


def linear_layers(network):
    return [module for module in network if isinstance(module, nn.Linear)]


def glorot_uniform_init(layer_units, activation, random_state, dtype=np.float32):
    """scikit-learn's MLP initialisation, drawn in its order from the same RandomState: for each layer the
    (fan_in, fan_out) weights, then the biases, uniform in +-sqrt(factor / (fan_in + fan_out))."""
    coefs, intercepts = [], []
    factor = 2.0 if activation == "logistic" else 6.0
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(random_state.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


def load_weights(network, coefs, intercepts):
    """Copy (fan_in, fan_out) coefs and intercepts into the network's Linear layers (weights are (out, in))."""
    for linear, coef, intercept in zip(linear_layers(network), coefs, intercepts):
        weight = parameter_array(linear.weight)
        if not np.shares_memory(weight, coef):
            weight[...] = np.asarray(coef).T
        bias = parameter_array(linear.bias)
        if not np.shares_memory(bias, intercept):
            bias[...] = intercept


def weight_views(network):
    """coefs_ (fan_in, fan_out) and intercepts_ as views of the network's memory: always in sync, no copy."""
    linears = linear_layers(network)
    coefs = [parameter_array(linear.weight).T for linear in linears]
    intercepts = [parameter_array(linear.bias) for linear in linears]
    return coefs, intercepts


def shares_weights(network, coefs, intercepts):
    """Whether coefs/intercepts are still the views of this network (a user may have assigned new arrays)."""
    views = weight_views(network)
    pairs = list(zip(views[0], coefs)) + list(zip(views[1], intercepts))
    return len(coefs) == len(views[0]) and all(
        view.shape == array.shape and np.shares_memory(view, array) for view, array in pairs)


def network_state(network, on_device=False):
    """{name: a NumPy copy} of every parameter and buffer (what pickling keeps of the network); with on_device, a
    network on a GPU is copied there instead (early stopping's best weights: no read per epoch; host_state
    brings them to the host once the fit is over)."""
    if on_device:
        return {name: tensor._data.copy() for name, tensor in network.state_dict().items()}
    return {name: np.array(host_array(tensor._data), copy=True) for name, tensor in network.state_dict().items()}


def host_state(state):
    """A network_state with NumPy arrays only."""
    return {name: host_array(value) for name, value in state.items()}


def load_network_state(network, state):
    network.load_state_dict({name: as_tensor(value if is_device_array(value) else np.asarray(value))
                             for name, value in state.items()})


def weight_parameters(network):
    """The Linear weights (the parameters scikit-learn's alpha penalises) and the rest (biases, batch norm)."""
    weights = [linear.weight for linear in linear_layers(network)]
    weight_ids = {id(w) for w in weights}
    others = [p for p in network.parameters() if id(p) not in weight_ids]
    return weights, others


def squared_weight_norm(weight_arrays):
    """sum ||W||^2 over the layers, the L2 term of scikit-learn's loss: each layer's by nnx's squared_norm kernel
    (double accumulation, nnx's own threads; NumPy's dot of a whole large weight would wake NumPy's OpenBLAS thread
    pool between nnx's kernels, and the two pools fighting over the cores made a float64 epoch 4x slower), summed
    in float64. A device array's dot product is read back."""
    total = 0.0
    for weight in weight_arrays:
        if isinstance(weight, np.ndarray):
            total += _host_squared_norm(weight)
        else:
            flat = weight.reshape(-1)
            total += float(np.dot(flat, flat).item())
    return total


def _host_squared_norm(weight):
    """||W||^2 of a NumPy float weight (native, parallel over fixed blocks: 2.1 MB of float32 weights in ~30 us
    against ~90 us for NumPy's row-wise vecdot on the calling thread)."""
    flat = np.ascontiguousarray(weight).reshape(-1)
    out = np.empty((), flat.dtype)
    _C.squared_norm(flat, out)
    return float(out)


def squared_weight_norms(weight_arrays):
    """||W||^2 of each layer as a 0-d array on the weights' device, not read (squared_weight_norm's terms)."""
    return [np.dot(flat, flat) for flat in (weight.reshape(-1) for weight in weight_arrays)]


def raw_outputs(network, X, chunk_rows=8192):
    """The network's last-layer scores (before the output activation) for X of its dtype, in eval mode and without
    recording gradients, as a NumPy array; large inputs go through in chunks to bound the memory of the
    activations. A network on a GPU gets each chunk uploaded there."""
    device = network_device(network)

    def scores(rows):
        chunk = dense_rows(X, rows)
        if device is not None:
            chunk = move_array(np.ascontiguousarray(chunk), device)
        return host_array(network(as_tensor(chunk))._data)

    with nnx.no_grad():
        if X.shape[0] <= chunk_rows:
            return np.array(scores(slice(None)), copy=True)
        return np.concatenate([scores(slice(start, start + chunk_rows)) for start in range(0, X.shape[0], chunk_rows)])


def dense_rows(X, rows):
    """X[rows] as a C-contiguous array of X's dtype (rows: a slice or an index array; X dense or scipy sparse)."""
    if hasattr(X, "toarray"):
        return np.ascontiguousarray(X[rows].toarray(), dtype=X.dtype)
    if isinstance(rows, slice):
        return X[rows]
    return X.take(rows, axis=0)
