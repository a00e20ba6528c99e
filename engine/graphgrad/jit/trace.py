"""Tracing a model into a replayable program of ops.

A program is a list of steps `(op name, input refs, attrs)`. A ref names where a value comes
from: ("input", i) a program input, ("op", k, j) output j of step k, ("const", c) a tensor or
array captured by reference (the weights), ("none",) no tensor. Replaying runs each step with
`dispatch.apply(REGISTRY[name], *inputs, **attrs)`, the same path every op takes, so a replay
builds autograd graphs and shows up in traces like any other run.

The batch dimension may change between trace and replay: the `shape` attribute of a view or
reshape of input-dependent values scales its leading size with the element count, and an
expand's leading size follows its input's (as torch's traced `flatten(1)`, `view(-1)` do)."""
import inspect
import json
import math
import warnings
from collections.abc import Callable
from typing import IO, Any, NoReturn

import numpy as np

from .. import dtypes
from ..device import device
from .._hooks import Recorder, recorders
from ..ops.dispatch import REGISTRY, apply
from ..ops.util import xp_of
from ..tensor import Tensor
from ..serialization import _name_of, load as load_file, save as save_file

FORMAT, VERSION = "graphgrad.jit", 1
Fail = Callable[[str], NoReturn]   # raises the error that names the file being read


class _Recorder(Recorder):
    """Records dispatched ops into steps (one of `dispatch.recorders` while tracing)."""

    def __init__(self, inputs, module_names):
        self.steps = []          # [op name, input refs, attrs (refs in place of tensors), lead, scope]
        self.constants = []      # captured tensors and arrays
        self._const_ids = {}     # id -> const index
        self._refs = {}          # id(tensor) -> (ref, tensor, version when recorded)
        self._arrays = {}        # id(array) -> ref of the tensor holding it
        self._batched = set()    # refs whose values depend on the inputs
        self._outputs = []       # every recorded output, latest last (for in-place writes)
        self._scopes, self._module_names = [], module_names
        self.n_outs = []         # how many outputs each step gave (saved, so refs are checked at load)
        for i, t in enumerate(inputs):
            self._bind(("input", i), t)
            self._batched.add(("input", i))

    def _bind(self, ref, t):
        self._refs[id(t)] = (ref, t, t._vbox[0])
        self._arrays[id(t._data)] = ref

    def ref(self, x):
        if x is None:
            return ("none",)
        if isinstance(x, Tensor):
            known = self._refs.get(id(x))
            if known is not None:
                ref, _, version = known
                if x._vbox[0] == version:
                    return ref
                written = self._written_value(x)  # changed in place since it was recorded
                if written is not None:
                    self._bind(written, x)
                    return written
                warnings.warn("graphgrad.jit.trace: a tensor the model computed was changed in place in a way the "
                              "trace cannot follow (through a view?); its value at trace time is kept as a constant",
                              stacklevel=4)
            else:
                alias = self._arrays.get(id(x._data))  # x.detach(), x.data: a new tensor on a known array
                if alias is not None:
                    self._bind(alias, x)
                    return alias
            return self.constant(x)
        if isinstance(x, np.ndarray) or hasattr(x, "__cuda_array_interface__"):
            return self.constant(x)
        if isinstance(x, (bool, int, float, np.generic)):
            return ("value", x)  # a Python number operand (x * 2)
        raise TypeError(f"graphgrad.jit.trace: an op got an input of type {type(x).__name__}")

    def _written_value(self, x):
        """The step whose output was written into x by an in-place op (relu_, x[...] = v): the
        latest output, other than x, that holds exactly x's values."""
        data = x._data
        for ref, out in reversed(self._outputs):
            if out is not x and out._data.shape == data.shape and out._data.dtype == data.dtype and \
                    bool(xp_of(data).array_equal(out._data, data, equal_nan=data.dtype.kind == "f")):
                return ref
        return None

    def constant(self, x):
        key = id(x)
        if key not in self._const_ids:
            self._const_ids[key] = len(self.constants)
            self.constants.append(x)
        return ("const", self._const_ids[key])

    def attr(self, value):
        """Attributes keep their Python values; tensors and arrays in them become refs."""
        if isinstance(value, Tensor):
            return _Ref(self.ref(value), tensor=True)
        if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
            known = self._arrays.get(id(value))
            return _Ref(known if known is not None else self.constant(value), tensor=False)
        if isinstance(value, tuple):
            return tuple(self.attr(v) for v in value)
        if isinstance(value, list):
            return [self.attr(v) for v in value]
        if isinstance(value, dict):
            return {k: self.attr(v) for k, v in value.items()}
        return value

    def record(self, node, inputs, outputs, attrs, seconds):
        k = len(self.steps)
        refs = [self.ref(x) for x in inputs]
        lead = None
        shape = attrs.get("shape")
        first = inputs[0] if inputs else None
        if isinstance(shape, tuple) and shape and isinstance(first, Tensor) and first.ndim and refs[0] in self._batched:
            lead = (first.shape[0], first.numel())
        scope = self._module_names.get(id(self._scopes[-1]), "") if self._scopes else ""
        self.steps.append([type(node).op_name, refs, {k_: self.attr(v) for k_, v in attrs.items()}, lead, scope])
        batched = any(r in self._batched for r in refs)
        outputs = outputs if type(outputs) is tuple else (outputs,)
        self.n_outs.append(len(outputs))
        for j, out in enumerate(outputs):
            ref = ("op", k, j)
            self._bind(ref, out)
            self._outputs.append((ref, out))
            if batched:
                self._batched.add(ref)

    def record_write(self, target, result, base=None):
        known = self._refs.get(id(result))
        if known is not None:  # from now on target holds the step's output
            self._bind(known[0], target)

    def enter_module(self, module):
        self._scopes.append(module)

    def exit_module(self, module):
        if self._scopes and self._scopes[-1] is module:  # (an interrupted enter may not have reached us)
            self._scopes.pop()


class _Ref:
    """A tensor (or the array of one) inside an op's attributes."""
    __slots__ = ("ref", "tensor")

    def __init__(self, ref, tensor):
        self.ref, self.tensor = ref, tensor


def trace(func: Callable[..., Any], example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True, _force_outplace: bool = False,
          _module_class: Any = None, _compilation_unit: Any = None, example_kwarg_inputs: Any = None,
          _store_inputs: bool = True) -> "TracedModule":
    """Run func (a Module or a function of tensors) on example_inputs (a tensor or a tuple of
    them), recording every op, and return a TracedModule that replays them."""
    inputs = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    if not all(isinstance(x, Tensor) for x in inputs):
        raise TypeError("graphgrad.jit.trace: example_inputs must be a tensor or a tuple of tensors, got "
                        + ", ".join(type(x).__name__ for x in inputs))
    names = {}
    if hasattr(func, "named_modules"):
        names = {id(m): name for name, m in func.named_modules()}
    recorder = _Recorder(inputs, names)
    recorders.append(recorder)
    try:
        result = func(*inputs)
    finally:
        recorders.remove(recorder)
    program = _Program(recorder.steps, recorder.constants, len(inputs), _output_refs(recorder, result),
                       [(tuple(x.shape), x.dtype.name) for x in inputs], recorder.n_outs)
    return TracedModule(program, type(func).__name__ if hasattr(func, "named_modules") else
                        getattr(func, "__name__", "function"), getattr(func, "training", False))


def _output_refs(recorder, value) -> Any:
    if isinstance(value, Tensor):
        return _Ref(recorder.ref(value), tensor=True)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # (values, indices) of max(dim), sort, topk
        return type(value)(*(_output_refs(recorder, v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_output_refs(recorder, v) for v in value)
    if isinstance(value, dict):
        return {k: _output_refs(recorder, v) for k, v in value.items()}
    return value


class _Program:
    def __init__(self, steps, constants, n_inputs, outputs, input_meta, n_outs):
        self.steps, self.constants, self.n_inputs = steps, constants, n_inputs
        self.outputs, self.input_meta, self.n_outs = outputs, input_meta, n_outs

    def run(self, inputs):
        results = []

        def value(ref):
            kind = ref[0]
            if kind == "op":
                return results[ref[1]][ref[2]]
            if kind == "input":
                return inputs[ref[1]]
            if kind == "const":
                return self.constants[ref[1]]
            return ref[1] if kind == "value" else None

        def resolve(attr) -> Any:
            if isinstance(attr, _Ref):
                v = value(attr.ref)
                return v if attr.tensor or not isinstance(v, Tensor) else v._data
            if isinstance(attr, tuple):
                return tuple(resolve(a) for a in attr)
            if isinstance(attr, list):
                return [resolve(a) for a in attr]
            if isinstance(attr, dict):
                return {k: resolve(v) for k, v in attr.items()}
            return attr

        for name, refs, attrs, lead, _ in self.steps:
            args = [value(r) for r in refs]
            kwargs = {k: resolve(v) for k, v in attrs.items()}
            if lead is not None:
                kwargs["shape"] = _follow_batch(tuple(kwargs["shape"]), args[0], *lead)
            out = apply(REGISTRY[name], *args, **kwargs)
            results.append(out if type(out) is tuple else (out,))
        return resolve(self.outputs)

    # ---- the saved form ------------------------------------------------------------------------
    def to_json(self):
        def step(name, refs, attrs, lead, scope):
            return {"op": name, "in": [[r[0], _encode(r[1])] if r[0] == "value" else list(r) for r in refs],
                    "attrs": {k: _encode(v) for k, v in attrs.items()}, "lead": lead, "scope": scope}
        steps = [step(*s) for s in self.steps]
        for saved, n in zip(steps, self.n_outs):
            saved["outs"] = n
        return {"format": FORMAT, "version": VERSION, "n_inputs": self.n_inputs,
                "input_meta": [[list(shape), dtype] for shape, dtype in self.input_meta],
                "steps": steps, "outputs": _encode(self.outputs)}

    @classmethod
    def from_json(cls, data, constants, fail: Fail):
        """A program from its saved form, checked whole: every op exists and takes the attributes
        and inputs given, every ref (inputs, attributes, outputs) names something that exists
        by then, so a loaded program cannot fail for being malformed when it is called."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            fail("not a traced program (save one with traced_module.save(path))")
        version, n_inputs = data.get("version"), data.get("n_inputs")
        if type(version) is not int or version < 1:
            fail(f"the program has no valid format version ({version!r})")
        if version > VERSION:
            fail(f"written in program format version {version}; this graphgrad reads up to {VERSION}")
        if type(n_inputs) is not int or n_inputs < 0:
            fail(f"the program's number of inputs is {n_inputs!r}")
        meta = [_input_meta(m, fail) for m in _listed(data.get("input_meta"), "input_meta", fail)]
        if len(meta) != n_inputs:
            fail(f"the program describes {len(meta)} inputs but takes {n_inputs}")
        checker = _RefChecker(n_inputs, len(constants), fail)
        steps = []
        for k, step in enumerate(_listed(data.get("steps"), "steps", fail)):
            steps.append(_load_step(k, step, checker, fail))
        outputs = _decode(data.get("outputs"), fail)
        checker.check_all(outputs, len(steps), "the outputs")
        if not isinstance(data.get("original_name", ""), str) or not isinstance(data.get("training", False), bool):
            fail("the program's original_name or training flag is of the wrong type")
        return cls(steps, constants, n_inputs, outputs, meta, checker.n_outs)


def _listed(value, what, fail: Fail):
    if not isinstance(value, list):
        fail(f"the program's {what} is not a list")
    return value


def _input_meta(item, fail: Fail):
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], list)
            and all(type(s) is int and s >= 0 for s in item[0]) and isinstance(item[1], str)
            and item[1] in _DTYPE_NAMES):
        fail(f"the program describes an input as {item!r}: [shape, dtype name] expected")
    return tuple(item[0]), item[1]


def _load_step(k, step, checker, fail: Fail):
    if not isinstance(step, dict) or not isinstance(step.get("op"), str):
        fail(f"step {k} is malformed: {str(step)[:80]}")
    name = step["op"]
    if name not in REGISTRY:
        fail(f"step {k} runs op {name!r}, which this graphgrad does not have")
    refs = [_load_ref(r, k, checker, fail) for r in _listed(step.get("in"), f"step {k}'s inputs", fail)]
    if not isinstance(step.get("attrs"), dict):
        fail(f"step {k}'s attributes are not an object")
    attrs = {key: _decode(v, fail) for key, v in step["attrs"].items()}
    for v in attrs.values():
        checker.check_all(v, k, f"step {k}'s attributes")
    try:
        _signature(REGISTRY[name]).bind(None, *refs, **attrs)
    except TypeError as e:
        fail(f"step {k} calls {name} with inputs or attributes it does not take ({e})")
    lead = step.get("lead")
    if lead is not None:
        if not (isinstance(lead, list) and len(lead) == 2 and all(type(v) is int and v >= 0 for v in lead)
                and isinstance(attrs.get("shape"), tuple)):
            fail(f"step {k} has a malformed batch record {lead!r}")
        lead = tuple(lead)
    scope, n_out = step.get("scope", ""), step.get("outs")
    if not isinstance(scope, str):
        fail(f"step {k}'s scope is not a string")
    if n_out is not None and (type(n_out) is not int or n_out < 1):
        fail(f"step {k} says it has {n_out!r} outputs")
    checker.n_outs.append(n_out)
    return [name, refs, attrs, lead, scope]


def _load_ref(r, k, checker, fail: Fail):
    if isinstance(r, list) and len(r) == 2 and r[0] == "value":
        value = _decode(r[1], fail)
        if not isinstance(value, (bool, int, float, np.generic)):
            fail(f"step {k} has an input value {r[1]!r}, which is not a number")
        return ("value", value)
    if not isinstance(r, list):
        fail(f"step {k} refers to {r!r}, which does not exist")
    return checker.check(tuple(r), k, f"step {k}")


class _RefChecker:
    """Refs of a program being loaded: inputs and constants that exist, outputs of earlier steps."""

    def __init__(self, n_inputs, n_constants, fail: Fail):
        self.n_inputs, self.n_constants, self.fail = n_inputs, n_constants, fail
        self.n_outs = []  # per step loaded so far: its output count, None when the file predates it

    def check(self, ref, before, where):
        def index(i, n):
            return type(i) is int and 0 <= i < n
        kind = ref[0] if ref else None
        ok = (ref == ("none",) or (len(ref) == 2 and kind == "input" and index(ref[1], self.n_inputs))
              or (len(ref) == 2 and kind == "const" and index(ref[1], self.n_constants))
              or (len(ref) == 3 and kind == "op" and index(ref[1], before)
                  and index(ref[2], self.n_outs[ref[1]] or 1 << 62)))
        if not ok:
            self.fail(f"{where} refers to {list(ref)}, which does not exist")
        return ref

    def check_all(self, value, before, where):
        """Every ref inside an attribute or the outputs (nested in tuples, lists, dicts)."""
        if isinstance(value, _Ref):
            self.check(value.ref, before, where)
        elif isinstance(value, (tuple, list)):
            for v in value:
                self.check_all(v, before, where)
        elif isinstance(value, dict):
            for v in value.values():
                self.check_all(v, before, where)


_DTYPE_NAMES = {d.name for d in dtypes.all_dtypes}
_NP_DTYPE_NAMES = {"bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16",
                   "float32", "float64"} | {d.np.name for d in dtypes.all_dtypes}  # (bfloat16)
_signatures = {}


def _signature(cls):
    if cls not in _signatures:
        _signatures[cls] = inspect.signature(cls.forward)
    return _signatures[cls]


def _follow_batch(shape, x, traced_lead, traced_numel):
    """A traced `shape` attribute for input x, whose batch may differ from the traced one."""
    numel = x.numel()
    if numel == traced_numel or not traced_numel:
        return shape
    if math.prod(shape) == traced_numel:  # view/reshape keep the element count: scale the leading size
        if shape[0] * numel % traced_numel == 0:
            return (shape[0] * numel // traced_numel,) + shape[1:]
    elif x.ndim and shape[0] == traced_lead:  # expand: the leading size was the input's
        return (x.shape[0],) + shape[1:]
    return shape


def _encode(value):
    """Attribute values as JSON: tagged objects for what JSON lacks (tuples, slices, dtypes, ...)."""
    if value is None or isinstance(value, (bool, str)) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if isinstance(value, _Ref):
        return {"$": "ref" if value.tensor else "array", "v": list(value.ref)}
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$": "dict", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, slice):
        return {"$": "slice", "v": [_encode(value.start), _encode(value.stop), _encode(value.step)]}
    if value is Ellipsis:
        return {"$": "ellipsis"}
    if isinstance(value, dtypes.dtype):
        return {"$": "dtype", "v": value.name}
    if isinstance(value, np.dtype):
        return {"$": "np_dtype", "v": value.name}
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"$": "np_type", "v": np.dtype(value).name}
    if isinstance(value, np.generic):
        return {"$": "np_scalar", "dtype": value.dtype.name, "v": _encode(value.item())}
    if isinstance(value, device):
        return {"$": "device", "v": str(value)}
    raise TypeError(f"graphgrad.jit: cannot save an op attribute of type {type(value).__name__} ({value!r})")


def _decode(node, fail: Fail):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, fail) for v in node]
    if not isinstance(node, dict) or not isinstance(node.get("$"), str):
        fail(f"the program holds a value it cannot read: {str(node)[:80]}")
    tag, v = node["$"], node.get("v")
    decode = _DECODERS.get(tag)
    if decode is None:
        fail(f"the program holds a value of unknown kind {tag!r}")
    try:
        return decode(node, v, fail)
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        fail(f"the program holds a malformed {tag!r} value {str(node)[:80]} ({e})")


def _decode_ref(node, v, fail: Fail):
    if not isinstance(v, list):
        raise TypeError("a ref is a list")
    return _Ref(tuple(v), tensor=node["$"] == "ref")


def _decode_dict(node, v, fail: Fail):
    out = {}
    for item in v:
        key, value = item  # a [key, value] pair (a ValueError otherwise)
        key = _decode(key, fail)
        hash(key)
        out[key] = _decode(value, fail)
    return out


def _decode_slice(node, v, fail: Fail):
    parts = [_decode(x, fail) for x in v]
    if len(parts) != 3 or not all(p is None or type(p) is int for p in parts):
        raise ValueError("a slice is [start, stop, step] of ints or None")
    return slice(*parts)


def _np_name(v):
    if v not in _NP_DTYPE_NAMES:
        raise ValueError(f"{v!r} is not a numeric numpy dtype")
    return np.dtype(v)


def _decode_np_scalar(node, v, fail: Fail):
    value = _decode(v, fail)
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"{value!r} is not a number")
    return _np_name(node.get("dtype")).type(value)


def _decode_device(node, v, fail: Fail):
    if not isinstance(v, str):
        raise TypeError("a device is a string")
    try:
        return device(v)
    except RuntimeError as e:
        raise ValueError(str(e)) from None


def _decode_float(node, v, fail: Fail):
    if not isinstance(v, str):
        raise TypeError("a float's text is expected")
    return float(v)


def _decode_tuple(node, v, fail: Fail):
    if not isinstance(v, list):
        raise TypeError("a tuple is a list of values")
    return tuple(_decode(x, fail) for x in v)


def _decode_dtype(node, v, fail: Fail):
    if v not in _DTYPE_NAMES:
        raise ValueError(f"{v!r} is not a graphgrad dtype")
    return dtypes.from_name(v)


_DECODERS = {
    "ref": _decode_ref, "array": _decode_ref, "dict": _decode_dict, "slice": _decode_slice, "tuple": _decode_tuple,
    "ellipsis": lambda node, v, fail: Ellipsis,
    "float": _decode_float,
    "dtype": _decode_dtype,
    "np_dtype": lambda node, v, fail: _np_name(v),
    "np_type": lambda node, v, fail: _np_name(v).type,
    "np_scalar": _decode_np_scalar,
    "device": _decode_device,
}


class TracedModule:
    """A traced program: call it like the model. It shares the traced model's weights (changes
    to them show in its results) until saved; a loaded one owns the weights from the file."""

    def __init__(self, program: "_Program", original_name: str = "Module", training: bool = False) -> None:
        self._program, self.original_name, self.training = program, original_name, training

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)

    def forward(self, *inputs: Any) -> Any:
        program = self._program
        if len(inputs) != program.n_inputs:
            raise TypeError(f"forward() takes {program.n_inputs} input(s) (as traced) but {len(inputs)} were given")
        for i, (x, (shape, dtype)) in enumerate(zip(inputs, program.input_meta)):
            if not isinstance(x, Tensor):
                raise TypeError(f"input {i} must be a Tensor, got {type(x).__name__}")
            if x.ndim != len(shape) or tuple(x.shape[1:]) != shape[1:] or x.dtype.name != dtype:
                raise RuntimeError(f"input {i} has shape {list(x.shape)} and dtype {x.dtype.name}; the program was "
                                   f"traced with shape {list(shape)} and dtype {dtype} (only the first, batch, "
                                   "dimension may differ)")
        return program.run(inputs)

    def eval(self) -> "TracedModule":
        return self.train(False)

    def train(self, mode: bool = True) -> "TracedModule":
        self.training = mode  # the recorded ops are what ran at trace time, in either mode
        return self

    def parameters(self) -> list[Tensor]:
        return [c for c in self._program.constants if isinstance(c, Tensor) and c.requires_grad]

    def save(self, f: str | IO[bytes]) -> None:
        save(self, f)

    @property
    def code(self) -> str:
        """The program, one op per line."""
        def show(ref):
            return {"input": lambda: f"input{ref[1]}", "op": lambda: f"%{ref[1]}" + (f".{ref[2]}" if ref[2] else ""),
                    "const": lambda: f"const{ref[1]}", "value": lambda: repr(ref[1]), "none": lambda: "None"}[ref[0]]()

        def show_attr(v):
            if isinstance(v, _Ref):
                return show(v.ref)
            if isinstance(v, tuple):
                return "(" + ", ".join(show_attr(x) for x in v) + ("," if len(v) == 1 else "") + ")"
            return repr(v)

        n = self._program.n_inputs
        lines = [f"def forward({', '.join(f'input{i}' for i in range(n))}):"]
        for k, (name, refs, attrs, _, scope) in enumerate(self._program.steps):
            args = [show(r) for r in refs] + [f"{key}={show_attr(v)}" for key, v in attrs.items()]
            lines.append(f"    %{k} = {name}({', '.join(args)})" + (f"  # {scope}" if scope else ""))
        lines.append(f"    return {_show_outputs(self._program.outputs, show)}")
        return "\n".join(lines)

    graph = code

    def __repr__(self):
        return f"TracedModule(original_name={self.original_name}, ops={len(self._program.steps)})"


ScriptModule = TracedModule


def _show_outputs(value, show):
    if isinstance(value, _Ref):
        return show(value.ref)
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_show_outputs(v, show) for v in value) + ")"
    return repr(value)


def save(m: TracedModule, f: str | IO[bytes], _extra_files: Any = None) -> None:
    """Write a traced module: the program as JSON and its constants, in graphgrad.save's format."""
    if not isinstance(m, TracedModule):
        raise TypeError(f"graphgrad.jit.save expects a module from graphgrad.jit.trace, got {type(m).__name__}")
    program = m._program
    text = json.dumps(dict(program.to_json(), original_name=m.original_name, training=m.training), allow_nan=False)
    save_file({"graphgrad.jit": text, "constants": list(program.constants)}, f)


def load(f: str | IO[bytes], map_location: Any = None, _extra_files: Any = None) -> TracedModule:
    """Read what TracedModule.save wrote: a TracedModule that owns the saved weights. The program
    is checked whole here: anything malformed is refused naming the file, never when called."""
    where = _name_of(f)

    def fail(what: str) -> NoReturn:
        raise RuntimeError(f"graphgrad.jit.load({where!r}): {what}")
    saved = load_file(f, map_location=map_location)
    if not isinstance(saved, dict) or "graphgrad.jit" not in saved:
        fail("not a traced program (this file holds something saved with graphgrad.save; read it with graphgrad.load)")
    text, constants = saved["graphgrad.jit"], saved.get("constants")
    if not isinstance(text, str) or not isinstance(constants, list) or \
            not all(isinstance(c, (Tensor, np.ndarray)) for c in constants):
        fail("the file holds no program text and list of constants")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        fail(f"the program cannot be read ({e})")
    try:
        program = _Program.from_json(data, constants, fail)
    except RecursionError:
        fail("the program is nested too deeply")
    return TracedModule(program, data.get("original_name", "Module"), data.get("training", False))
