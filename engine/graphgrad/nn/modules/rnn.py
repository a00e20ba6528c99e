"""Recurrent layers (RNN, LSTM, GRU and their cells), composed from linear, sigmoid and tanh.
Parameter names, shapes, gate order and initialisation follow PyTorch, so state_dicts match."""
import math
from typing import Any

from ... import ops
from ...creation import empty, zeros
from ...ops.linalg import linear
from .. import functional as F, init
from ..module import Module
from ..parameter import Parameter
from ...tensor import Tensor
from ..common_types import DTypeLike, DeviceLike


def _rnn_tanh_cell(x_proj, h, w_hh, b_hh):
    return (x_proj + linear(h, w_hh, b_hh)).tanh()


def _rnn_relu_cell(x_proj, h, w_hh, b_hh):
    return (x_proj + linear(h, w_hh, b_hh)).relu()


def _lstm_cell(x_proj, state, w_hh, b_hh):
    h, c = state
    i, f, g, o = (x_proj + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_cell(x_proj, h, w_hh, b_hh):
    xr, xz, xn = x_proj.chunk(3, -1)
    hr, hz, hn = linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1 - z) * n + z * h


_CELLS = {"RNN_TANH": (_rnn_tanh_cell, 1), "RNN_RELU": (_rnn_relu_cell, 1), "LSTM": (_lstm_cell, 4),
          "GRU": (_gru_cell, 3)}


def _uniform_init(module: Module, hidden_size: int) -> None:
    """PyTorch's initialisation of a recurrent layer or cell: every weight and bias uniform in
    ±1/sqrt(hidden_size)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


class RNNBase(Module):
    mode: str   # "RNN_TANH", "RNN_RELU", "LSTM" or "GRU": set by each subclass

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, 0
        gates = _CELLS[self.mode][1] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gates, layer_input), (gates, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gates,), (gates,)]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def flatten_parameters(self):
        """torch packs the weights into one cuDNN buffer here; graphgrad's layers read each weight
        as it is, so there is nothing to pack."""

    def _layer_params(self, layer, suffix):
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction; the biases None without bias."""
        names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if self.bias else ())
        return tuple(getattr(self, f"{name}_l{layer}{suffix}") for name in names) + (None, None) * (not self.bias)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:   # hx: (h, c) for an LSTM
        cell = _CELLS[self.mode][0]
        lstm = self.mode == "LSTM"
        batched = input.dim() == 3
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, input.shape[1], self.hidden_size)
        if hx is None:
            h0 = zeros(shape, dtype=input.dtype, device=input.device)
            hx = (h0, h0) if lstm else h0
        elif not batched:
            hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        finals_h, finals_c = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, suffix)
                k = layer * directions + d
                state = (hx[0][k], hx[1][k]) if lstm else hx[k]
                x_proj = linear(layer_input, w_ih, b_ih)  # every time step at once
                steps = range(x_proj.shape[0])
                out = [None] * len(steps)
                for t in (reversed(steps) if d else steps):
                    state = cell(x_proj[t], state, w_hh, b_hh)
                    out[t] = state[0] if lstm else state
                outputs.append(ops.stack(out))
                finals_h.append(state[0] if lstm else state)
                if lstm:
                    finals_c.append(state[1])
            layer_input = outputs[0] if directions == 1 else ops.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = ops.stack(finals_h)
        hidden: Any = (h_n, ops.stack(finals_c)) if lstm else h_n
        if not batched:
            return output.squeeze(1), (tuple(h.squeeze(1) for h in hidden) if lstm else hidden.squeeze(1))
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, hidden

    def extra_repr(self):
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


class RNN(RNNBase):
    def __init__(self, *args: Any, nonlinearity: str = "tanh", **kwargs: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(*args, **kwargs)


class LSTM(RNNBase):
    mode = "LSTM"


class GRU(RNNBase):
    mode = "GRU"


class RNNCellBase(Module):
    mode: str   # "RNN_TANH", "RNN_RELU", "LSTM" or "GRU": set by each subclass

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = _CELLS[self.mode][1] * hidden_size
        self.weight_ih = Parameter(empty((gates, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((gates, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def forward(self, input: Tensor, hx: Any = None) -> Any:   # hx and the result: (h, c) for an LSTMCell
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            h0 = zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)
            hx = (h0, h0) if self.mode == "LSTM" else h0
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if self.mode == "LSTM" else hx.unsqueeze(0)
        out = _CELLS[self.mode][0](linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh)
        if not batched:
            out = tuple(o.squeeze(0) for o in out) if self.mode == "LSTM" else out.squeeze(0)
        return out

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)


class LSTMCell(RNNCellBase):
    mode = "LSTM"


class GRUCell(RNNCellBase):
    mode = "GRU"
