"""Recurrent layers: RNN (tanh/relu), LSTM and GRU with PyTorch's arguments, parameters (weight_ih_l{k}, weight_hh_l{k},
bias_ih_l{k}, bias_hh_l{k}, `_reverse` for the second direction), initialisation, shapes and extra_repr; each layer
and direction runs as one native sequence op (nnx.ops.rnn.rnn_layer: one input GEMM, a recurrent GEMM and a fused
cell kernel per step)."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from ... import _tensor_factories as factories
from ...ops.dropout import dropout as _dropout
from ...ops.rnn import MODES, rnn_layer
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from .linear import _float_dtype

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    """The stack of recurrent layers shared by RNN, LSTM and GRU (PyTorch's RNNBase). mode: 'LSTM', 'GRU',
    'RNN_TANH' or 'RNN_RELU'. proj_size is not supported (NotImplementedError when nonzero)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        for value, name in ((bias, "bias"), (batch_first, "batch_first"), (bidirectional, "bidirectional")):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for value, name in ((input_size, "input_size"), (hidden_size, "hidden_size"), (num_layers, "num_layers"),
                            (proj_size, "proj_size")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size != 0:
            raise NotImplementedError(f"proj_size is not supported by nnx's recurrent layers, got "
                                      f"proj_size={proj_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=2)
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, 0
        dtype = _float_dtype(dtype)
        gate_size = MODES[mode] * self.hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, self.hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                names = []
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(np.empty(shape, dtype=dtype)))
                    names.append(base + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()
        if device is not None:  # initialised on the host (same values as on the CPU), then moved
            self.to(device)

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            init.uniform_(getattr(self, name), -bound, bound)

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN weight compaction: nothing to do here (each step reads the parameters as they are)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction: [weight_ih, weight_hh(, bias_ih, bias_hh)]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _prepare(self, input: Tensor, states: tuple[Tensor | None, ...]) -> tuple[Tensor, list, bool]:
        """(input as (L, N, H_in), the initial states as (layers * directions, N, H) tensors, whether batched)."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D tensor "
                             "instead")
        weight = getattr(self, self._flat_weights_names[0])
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert "
                             f"input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}: Expected sequence length to be larger than 0")
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, input.shape[1], self.hidden_size)
        prepared = []
        for index, state in enumerate(states):
            if state is None:
                state = factories.zeros(expected, dtype=input.dtype, device=input.device)
            else:
                if not isinstance(state, Tensor):
                    raise TypeError(f"{type(self).__name__}: hx must be a Tensor, got {type(state).__name__}")
                if not batched:
                    if state.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {state.dim()}-D "
                                           "tensor")
                    state = state.unsqueeze(1)
                elif state.dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {state.dim()}-D tensor")
                if tuple(state.shape) != expected:
                    what = f"hidden[{index}] size" if len(states) == 2 else "hidden size"
                    raise RuntimeError(f"Expected {what} {expected}, got {list(state.shape)}")
                if state.dtype != input.dtype:
                    raise ValueError(f"{type(self).__name__}: hx must have the dtype of input ({input.dtype}), got "
                                     f"{state.dtype}")
            prepared.append(state)
        return input, prepared, batched

    def _run(self, input: Tensor, h0: Tensor, c0: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None]:
        """(output (L, N, D * H), h_n, c_n or None), the states stacked over layers and directions."""
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = [getattr(self, name) for name in self._all_weights[index]]
                biases = weights[2:] if self.bias else [None, None]
                out, h, c = rnn_layer(layer_input, h0[index], None if c0 is None else c0[index], weights[0],
                                      weights[1], biases[0], biases[1], self.mode, direction == 1)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if directions == 1 else factories.cat(outputs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, True)
        return layer_input, factories.stack(h_n, 0), (factories.stack(c_n, 0) if c0 is not None else None)

    def _finish(self, output: Tensor, states: list[Tensor], batched: bool) -> tuple[Tensor, list[Tensor]]:
        if not batched:
            return output.squeeze(1), [state.squeeze(1) for state in states]
        return (output.transpose(0, 1) if self.batch_first else output), states


class RNN(RNNBase):
    """Elman RNN: h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), nonlinearity 'tanh' or 'relu'.
    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device=None, dtype=None), as PyTorch's. forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, (h0,), batched = self._prepare(input, (hx,))
        output, h_n, _ = self._run(x, h0, None)
        output, (h_n,) = self._finish(output, [h_n], batched)
        return output, h_n


class LSTM(RNNBase):
    """LSTM with PyTorch's gates (i, f, g, o), arguments and parameters: LSTM(input_size, hidden_size, num_layers=1,
    bias=True, batch_first=False, dropout=0.0, bidirectional=False, proj_size=0 (only 0), device=None, dtype=None).
    forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        x, (h0, c0), batched = self._prepare(input, (None, None) if hx is None else tuple(hx))
        output, h_n, c_n = self._run(x, h0, c0)
        output, (h_n, c_n) = self._finish(output, [h_n, c_n], batched)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """GRU with PyTorch's gates (r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) n + z h):
    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
    device=None, dtype=None). forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, (h0,), batched = self._prepare(input, (hx,))
        output, h_n, _ = self._run(x, h0, None)
        output, (h_n,) = self._finish(output, [h_n], batched)
        return output, h_n


class RNNCellBase(Module):
    """One step of a recurrent layer (PyTorch's RNNCellBase): weight_ih (G*H, H_in), weight_hh (G*H, H), bias_ih and
    bias_hh (G*H,) when bias, all from U(-1/sqrt(H), 1/sqrt(H)); runs as the sequence op over one step."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        for value, name in ((input_size, "input_size"), (hidden_size, "hidden_size")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        self.mode, self.input_size, self.hidden_size, self.bias = mode, int(input_size), int(hidden_size), bias
        dtype = _float_dtype(dtype)
        gate_size = MODES[mode] * self.hidden_size
        self.weight_ih = Parameter(np.empty((gate_size, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gate_size, self.hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty((gate_size,), dtype=dtype))
            self.bias_hh = Parameter(np.empty((gate_size,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, input: Tensor, states: tuple[Tensor | None, ...]) -> tuple[list[Tensor], bool]:
        """The new states (h, and c for LSTM) after one step from input (N, H_in) or (H_in,)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        prepared = []
        for index, state in enumerate(states):
            if state is None:
                state = factories.zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
            else:
                if not isinstance(state, Tensor):
                    raise TypeError(f"{name}: hx must be a Tensor, got {type(state).__name__}")
                if state.dim() not in (1, 2):
                    what = f"hx[{index}]" if len(states) == 2 else "hidden"
                    raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {state.dim()}D instead")
                if not batched:
                    state = state.unsqueeze(0)
            prepared.append(state)
        lstm = self.mode == "LSTM"
        _, h, c = rnn_layer(x.unsqueeze(0), prepared[0], prepared[1] if lstm else None, self.weight_ih,
                            self.weight_hh, self.bias_ih, self.bias_hh, self.mode)
        new = [h, c] if lstm else [h]
        return (new if batched else [state.squeeze(0) for state in new]), batched


class RNNCell(RNNCellBase):
    """h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh): RNNCell(input_size, hidden_size, bias=True,
    nonlinearity='tanh', device=None, dtype=None), as PyTorch's. forward(input, hx=None) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias, device,
                         dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, (hx,))[0][0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): LSTMCell(input_size, hidden_size, bias=True, device=None, dtype=None).
    forward(input, (h, c)=None) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        (h, c), _ = self._step(input, (None, None) if hx is None else tuple(hx))
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): GRUCell(input_size, hidden_size, bias=True, device=None, dtype=None).
    forward(input, hx=None) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, (hx,))[0][0]
