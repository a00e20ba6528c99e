"""Tensor printing: PyTorch's ``repr(tensor)`` layout, reproduced over NumPy arrays.

This follows the algorithm of ``torch/_tensor_str.py`` (PyTorch 2.13) step by step so
that the output is byte-identical, with ``torch.`` spelled ``graphgrad.`` in dtype
suffixes. The main pieces:

* ``_Formatter`` decides, from the values shown, how every element is written:
  integer mode (``1.``), fixed point (``1.2500``) or scientific (``1.2500e+08``),
  and the common width all elements are right-aligned to.
* ``_tensor_body`` lays out nested brackets, wraps long rows at ``linewidth`` and
  elides the middle of each dimension with ``...`` above ``threshold`` elements.
* ``_add_suffixes`` appends ``device=``, ``size=``, ``dtype=`` and the caller's
  suffixes, moving them to a new line when the current one would get too long.

Values are always formatted as Python ``float``/``int``/``bool`` (what PyTorch's
``.item()``/``.tolist()`` give), so rounding matches Python's ``format`` exactly.
"""
import contextlib
import dataclasses
import math

import numpy as np

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions", "printoptions"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: object = None  # None: chosen per tensor; True/False: forced


PRINT_OPTS = _PrinterOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Like ``torch.set_printoptions``: a profile first, then any explicit overrides.

    As in PyTorch, ``sci_mode`` is always assigned, so omitting it resets it to automatic.
    An unknown profile name is ignored, as PyTorch does.
    """
    if profile is not None and profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    overrides = dict(precision=precision, threshold=threshold, edgeitems=edgeitems,
                     linewidth=linewidth)
    for name, value in overrides.items():
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current options, as keyword arguments ``set_printoptions`` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options (like ``torch._tensor_str.printoptions``)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# --------------------------------------------------------------------------- formatting

class _Formatter:
    """Chooses the notation and the common width for the values of one tensor."""

    def __init__(self, values):
        """``values``: a 1-D array of the elements that will be shown (summarized data)."""
        self.floating_dtype = values.dtype.kind in "fV"  # (bfloat16's kind is "V")
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if self.floating_dtype:
            self._scan_floats(values)
        else:
            for value in np.unique(values).tolist():
                self.max_width = max(self.max_width, len(f"{value}"))

    def _scan_floats(self, values):
        # Zeros, nans and infs take no part in choosing the notation or the width.
        nonzero = values[np.isfinite(values) & (values != 0)]
        if nonzero.size == 0:
            return
        self.int_mode = bool(np.all(np.ceil(nonzero) == nonzero))
        # Magnitudes compared in double: float16 would overflow at 1e8.
        magnitudes = np.abs(nonzero).astype(np.float64)
        lo, hi = magnitudes.min(), magnitudes.max()
        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):  # 1e300 / 1e-300 is inf: still "> 1000"
                ratio = hi / lo
            self.sci_mode = bool(ratio > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        if self.sci_mode:
            spec, extra = f".{precision}e", 0
        elif self.int_mode:
            spec, extra = ".0f", 1  # room for the "." that marks a float
        else:
            spec, extra = f".{precision}f", 0
        for value in np.unique(nonzero).tolist():
            self.max_width = max(self.max_width, len(format(value, spec)) + extra)

    def width(self):
        return self.max_width

    def format(self, value):
        """One element (a Python scalar), right-aligned to the common width."""
        if not self.floating_dtype:
            text = f"{value}"
        elif self.sci_mode:
            text = format(value, f"{self.max_width}.{PRINT_OPTS.precision}e")
        elif self.int_mode:
            text = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                text += "."
        else:
            text = format(value, f".{PRINT_OPTS.precision}f")
        return (self.max_width - len(text)) * " " + text


def _summarized_values(array):
    """The elements shown once summarized, flattened (PyTorch's ``get_summarized_data``)."""
    edge = PRINT_OPTS.edgeitems
    if array.ndim == 0:
        return array.reshape(-1)
    if array.ndim == 1:
        if array.shape[0] > 2 * edge:
            # array[-0:] is the whole row, exactly as self[-0:] is in PyTorch.
            return np.concatenate((array[:edge], array[-edge:]))
        return array
    if not edge:
        return array[:0].reshape(-1)
    rows = range(array.shape[0])
    if array.shape[0] > 2 * edge:
        rows = list(rows[:edge]) + list(rows[-edge:])
    parts = [_summarized_values(array[i]) for i in rows]
    return np.concatenate(parts) if parts else array.reshape(-1)[:0]


# --------------------------------------------------------------------------- layout

def _vector_str(array, indent, summarize, formatter):
    """A 1-D row: ``[a, b, c]``, wrapped to the line width and elided when summarized."""
    element_length = formatter.width() + 2  # each element is followed by ", "
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * edge:
        data = ([formatter.format(v) for v in array[:edge].tolist()] + [" ..."]
                + [formatter.format(v) for v in array[-edge:].tolist()])
    else:
        data = [formatter.format(v) for v in array.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_body(array, indent, summarize, formatter):
    """Nested brackets; sub-tensors of an N-d tensor are separated by N-1 newlines."""
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    count = array.shape[0]
    if summarize and count > 2 * edge:
        head = [_tensor_body(array[i], indent + 1, summarize, formatter) for i in range(edge)]
        tail = [_tensor_body(array[i], indent + 1, summarize, formatter)
                for i in range(count - edge, count)]
        slices = head + ["..."] + tail
    else:
        slices = [_tensor_body(array[i], indent + 1, summarize, formatter) for i in range(count)]
    separator = "," + "\n" * (array.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(slices) + "]"


def _tensor_str(array, indent):
    """The bracketed contents of a non-empty tensor."""
    summarize = array.size > PRINT_OPTS.threshold
    shown = _summarized_values(array) if summarize else array.reshape(-1)
    return _tensor_body(array, indent, summarize, _Formatter(shown))


def _layout_len(suffix):
    """A suffix's length as PyTorch would measure it.

    PyTorch decides where suffixes wrap with ``dtype=torch.int32``; we print
    ``dtype=graphgrad.int32``. Measuring the PyTorch spelling keeps the line breaks
    (and so the whole repr) identical to PyTorch's, up to that one word.
    """
    return len(suffix.replace("graphgrad.", "torch."))


def _add_suffixes(tensor_str, suffixes, indent):
    """Append ``, suffix`` items, starting a new line when one would pass the line width."""
    parts = [tensor_str]
    # PyTorch's measure (it counts two more than the last line's length); kept for parity.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        length = _layout_len(suffix)
        if last_line_len + length + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + length
        else:
            parts.append(", " + suffix)
            last_line_len += length + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(array, dtype_name, default_dtype_name="float32", device_str="cpu",
                suffixes=()):
    """``repr`` of a tensor holding ``array`` with dtype ``dtype_name``, as PyTorch prints it.

    ``suffixes`` are extra, already formatted items (``"grad_fn=<SumBackward0>"``,
    ``"requires_grad=True"``) appended after the device/size/dtype ones.
    """
    array = np.asarray(array)
    prefix = "tensor("
    indent = len(prefix)
    all_suffixes = []
    if device_str != "cpu":
        all_suffixes.append(f"device='{device_str}'")
    dtype_suffix = "dtype=graphgrad." + dtype_name
    if array.size == 0:
        # NumPy-like: the shape is shown unless it is (0,). With no elements there is
        # nothing to infer int64 from, so any non-default dtype is shown.
        if array.ndim != 1:
            all_suffixes.append("size=" + str(tuple(array.shape)))
        if dtype_name != default_dtype_name:
            all_suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            all_suffixes.append("size=" + str(tuple(array.shape)))
        if dtype_name not in (default_dtype_name, "int64", "bool"):
            all_suffixes.append(dtype_suffix)
        body = _tensor_str(array, indent)
    all_suffixes.extend(suffixes)
    return _add_suffixes(prefix + body, all_suffixes, indent)
