"""`graphgrad.trace()`: a recorder that turns everything run inside it — forward ops, module
calls, backward steps, optimizer steps — into a graph per training iteration (DESIGN §3).

    with gg.trace() as t:
        loss = loss_fn(model(x), y)
        loss.backward()
    t.graph.to_json(); t.value(node); t.grad(node); t.stats(node)

Cheap on the hot path: per op it keeps references (no copies) and the caller's (file, line);
everything else (shapes, statistics, hashes, JSON) is computed when asked. Bounded: only the
last `keep` iterations are kept whole (and any iteration whose Graph someone holds, as a widget
does what it shows); older ones leave their scalars in `t.monitor`."""
import collections
import sys
import time as _time
import weakref
from typing import Any, overload

import numpy as np

from ..autograd.engine import BackwardPass
from ..node import AccumulateGrad
from ..ops.shape import trace as matrix_trace
from .._hooks import Recorder, recorders
from ..tensor import Tensor
from . import source as _source
from .graph import GNode, Graph
from .iteration import Iteration, Write, ids as _ids, is_op, without_leaf_grads
from .leaves import Leaves
from .source import location as _location
from .monitor import Monitor, norm, sample, update_ratio
from .scope import module_stack, open_debuggers
from .source import boundaries
from .stats import preview, stats

_traces = weakref.WeakSet()     # every trace alive, to find the node behind an id
_latest = None                  # the last trace stopped, kept alive for find_node
_SCHEDULER = BackwardPass.steps.__code__


def find_node(id: int) -> GNode | None:
    """The recorded node with this id in any live trace (None if none keeps it)."""
    for trace in list(_traces):
        node = trace.node(id, None)
        if node is not None:
            return node
    return None


def forward_of(node):
    """(recorded forward op GNode or None, (file, line) or None) of an autograd node: where the
    op that made it ran, from a trace or from anomaly mode. A leaf's AccumulateGrad: the leaf's node
    in the newest iteration kept that read it."""
    if type(node) is AccumulateGrad:
        forward = _leaf_node(node.variable)
    else:
        forward = find_node(node.forward_id) if getattr(node, "forward_id", None) is not None else None
    loc = forward.source if forward is not None else node.__dict__.get("anomaly_source")
    return forward, loc


def _leaf_node(tensor):
    for trace in list(_traces):
        for it in trace._kept():
            found = it.leaf_node(tensor)
            if found is not None:
                return found
    return None


def describe_forward(node):
    """"the forward op 'sqrt' (SqrtBackward0) at train.py:14: `y = x.sqrt()`" for an autograd node."""
    forward, loc = forward_of(node)
    if forward is not None:
        return f"the forward op {forward.describe()}"
    where = (f" at {_source.describe(loc)}" if loc is not None else
             ", which ran while neither a trace nor anomaly detection was on to say where")
    return f"the forward op '{node.op_name}' ({node.name()}){where}"


def _in_backward(trace):
    """Whether a backward pass is under way: the scheduler is on the stack (an op from a tensor
    hook) or a debugger is between steps. Asked once per iteration, when its first op may have
    come after a backward pass (after an optimizer step it is not asked)."""
    # only a debugger stepping a backward pass this trace recorded: a stepper widget left
    # half-way in another cell must not relabel a later training loop (iterating a WeakSet is slow)
    if open_debuggers and any(not d.finished and trace in d.traces for d in open_debuggers):
        return True
    f = sys._getframe(2)
    while f is not None:
        if f.f_code is _SCHEDULER:
            return True
        f = f.f_back
    return False


class Trace(Recorder):
    """Records the ops run while it is active (`with trace:` or `start()`/`stop()`).

    modules        root modules to name: positional (named after the caller's variable) or by
                   keyword (`gg.trace(net=model)`); roots called inside are named the same way
    keep           iterations kept whole (graph, values, gradients); older ones keep scalars only,
                   except those read through a Graph still held (t.graph): they stay while it does;
                   and the last that ran backward stays until a newer one does (an evaluation pass
                   after training leaves the training iteration to diagnostics())
    max_nodes      an iteration that recorded this many ops, writes and backward steps (the leaves
                   they read not counted) is closed before the next op (a notebook that
                   only runs forward cells stays bounded too); backward steps past it are
                   counted (Iteration.steps_left_out), not kept
    update_ratios  measure |Δw|/|w| per parameter at optimizer steps
    monitor_budget at most this fraction of the training time goes to gradient norms and update
                   ratios (measured every k-th iteration when every one would cost more);
                   None: every iteration
    history        points kept per monitor curve (older ones are thinned evenly past it)
    """
    _current: Iteration     # the iteration recording now (one always is, from __init__ on)

    def __init__(self, *modules: Any, keep: int = 1, max_nodes: int = 100_000, live: bool = False,
                 update_ratios: bool = True, monitor_budget: float | None = 0.01, history: int = 100_000,
                 **named_modules: Any) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.keep, self.max_nodes, self.live, self.measure_updates = keep, max_nodes, live, update_ratios
        self.iterations = collections.deque()
        self._read = weakref.WeakSet()  # iterations read through a Graph: kept while one is held
        self._last_trained = None  # the last iteration with a backward pass, while the newer ones have none
        self.monitor = Monitor(self, capacity=history, budget=monitor_budget)
        self.phase = "forward"
        self._phases = []
        self._roots = {}        # id(module) -> (module, name)
        self._module_paths = {} # id(module) -> (module, path)
        self._module_types = {} # path -> (type name, parent path): the module tree
        self._leaves = Leaves()
        self._params = self._leaves.params  # id(tensor) -> (tensor, name, kind): parameters and buffers of named roots
        self._stepped = None    # "backward" or "optimizer": the last step run in the current iteration
        self._before_step = None
        self._grads = None      # id(p.grad) -> (p.grad, name) in an optimizer step, made when first needed
        self._start_iteration(0)
        caller = _source.user_frame()
        for m in modules:
            self.name_module(m, _source.variable_name(m, caller) or "model")
        for name, m in named_modules.items():
            self.name_module(m, name)
        _traces.add(self)

    # ---- activation ------------------------------------------------------------------------
    def start(self) -> "Trace":
        if self not in recorders:
            recorders.append(self)
            self.monitor.budget.resume()
            # what other recorders record from here on has ids above this: not this iteration's ops
            self._current.first_id = next(_ids)
        return self

    def stop(self) -> "Trace":
        global _latest
        if self in recorders:
            recorders.remove(self)
            self.monitor.budget.pause()
        # `with gg.trace(model):` keeps no name for the trace; a debugger opened after it still
        # finds its nodes (parameter names, source lines). One trace, bounded like any other.
        _latest = self
        return self

    @property
    def active(self) -> bool:
        return self in recorders

    def __enter__(self) -> "Trace":
        return self.start()

    def __exit__(self, *exc: object) -> bool:
        if not self.live:  # the session-wide trace stays on until stopped
            self.stop()
        return False

    # ---- iterations --------------------------------------------------------------------------
    def _start_iteration(self, number):
        it = self._current = Iteration(number, self._leaves, self._module_types, next(_ids))
        if self.monitor.budget.due(number):
            it.measuring, it.update_ratios, it.grad_norms = True, {}, {}
        self.iterations.append(it)
        while len(self.iterations) > self.keep:
            dropped = self.iterations.popleft()
            if dropped.has_backward:  # kept until a newer iteration runs backward (an eval loop, a cell)
                self._last_trained = dropped
            if self._leaves.changes:  # (rare: p.data = ... was seen)
                self._leaves.forget_before(min(it.number for it in self._kept()))

    def next_iteration(self) -> None:
        """Close the current iteration (its scalars go to the monitor) and begin the next."""
        it = self._current
        self.monitor.absorb(it)
        self._stepped = None
        self._start_iteration(it.number + 1)

    @property
    def iteration(self) -> int:
        """The number of the current iteration (0 first)."""
        return self._current.number

    def _last_with_backward(self):
        for it in reversed(self.iterations):
            if it.has_backward:
                return it
        return self._last_trained

    def log(self, **metrics: float) -> None:
        """Record scalars for the current iteration (loss is found by itself)."""
        self.monitor.log(**metrics)

    def save(self, path: str, **options: Any) -> Any:
        """Write the latest iteration to a .ggtrace file (graph, statistics, values, curves) that JupyterLab
        opens with a double-click; graphgrad.viz.load reads it back. Options: graphgrad.viz.save's."""
        from ..viz import document  # (the .ggtrace writer builds on viz, above tracing)
        return document.save(self, path, **options)

    # ---- the recorder hooks ------------------------------------------------------------------
    def record(self, node, inputs, outputs, attrs, seconds):
        phase = self.phase
        if self._stepped and phase == "forward":  # the first forward op after a step...
            if self._stepped == "backward" and _in_backward(self):
                phase = "backward"   # ...unless a gradient hook or a debugger's user runs it
            else:
                self.next_iteration()
        if len(self._current.records) >= self.max_nodes:  # before the op: its in-place write stays with it
            self.next_iteration()
        it = self._current
        if module_stack:  # first: it names a model seen for the first time (its parameters)
            entry = self._module_paths.get(id(module_stack[-1]))
            module = entry[1] if entry is not None else self._name_new(len(module_stack) - 1)
        else:
            module = ""
        top = boundaries[-1] if boundaries else None  # inside one of graphgrad's modules: the line that called it
        loc = top[1] if top is not None and top[2] else _location()
        # an input no recorded op made may be the user's variable: named now, while their frame runs
        param_arrays, first = self._leaves.arrays, it.first_id
        for x in inputs:
            if not isinstance(x, Tensor):
                continue
            fn = x.grad_fn
            if fn is None:
                held = param_arrays.get(id(x))
                if held is not None:  # a parameter of the named modules
                    if held is not x._data:  # p.data = ... since an op last read it
                        self._leaves.moved(x, it.number, len(it.records))
                    continue
            elif fn.forward_id is not None and fn.forward_id >= first:
                continue  # made by an op this iteration recorded
            if id(x) not in it.inputs and id(x) not in it.plain:
                self._add_input(x, loc, it)
        nid = node.forward_id = next(_ids)
        if type(outputs) is tuple:
            arrays = tuple([o._data for o in outputs])
            made = any([o.grad_fn is node for o in outputs])
            it.plain.update((id(o), o) for o in outputs if o.grad_fn is None)
        else:
            arrays = (outputs._data,)
            made = outputs.grad_fn is node
            if not made and outputs.grad_fn is None:
                it.plain[id(outputs)] = outputs
        records = it.records  # the rest is worked out when read (Iteration.nodes)
        records.append((nid, node, inputs, outputs, arrays, attrs, seconds, module, phase, loc, made))

    def record_write(self, target, result, base=None):
        records = self._current.records
        if base is None:
            records.append(Write(target, result, None, None, None, None))
            return
        # through a view: the base is now a CopySlices, a node of its own (so is the view's AsStrided)
        nid = base.grad_fn.forward_id = target.grad_fn.forward_id = next(_ids)
        op = records[-1] if records and is_op(records[-1]) else None
        where = (op[7], op[8], op[9]) if op else ("", self.phase, None)
        records.append(Write(target, result, base, base.grad_fn, nid, where))

    def _add_input(self, x, loc, it):
        """Note a tensor an op read that no recorded op made (as far as recording can tell): the
        gradient an optimizer reads, or an input, named after the user's variable (None if none)."""
        owner = self._grad_owner(x) if self.phase == "optimizer" else None
        it.inputs[id(x)] = (x, owner + ".grad" if owner else self._leaves.input_name(x, loc, it.inputs_read), x._data)

    def _grad_owner(self, x):
        if self._grads is None:
            self._grads = {id(p._grad): (p._grad, name) for p, name, _ in self._params.values() if p._grad is not None}
        owner = self._grads.get(id(x))
        return owner[1] if owner is not None and owner[0] is x else None

    def record_backward(self, step, seconds):
        if self._stepped != "backward":
            if not self._stepped:
                self._current.backward_began(step[0])
                self._last_trained = None
            self._stepped = "backward"
        node, received, sent = step
        it = self._current
        leaf = type(node) is AccumulateGrad
        if leaf and it.measuring:
            self._leaf_grad(it, node.variable, received[0])
        if len(it.records) >= self.max_nodes:  # a backward pass cannot be closed midway: past the bound, not kept
            it.leave_out(node, leaf)
            return
        if leaf:
            it.records.append((node, node.variable._grad, None, seconds))  # the .grad it left (read later)
            return
        it.records.append((node, received, without_leaf_grads(node, sent), seconds))

    def _leaf_grad(self, it, leaf, grad):
        """The monitor's gradient norm for a named leaf, taken while the gradient is still in cache.
        A second backward pass in the iteration: the norm of what the leaf's .grad has summed."""
        start = _time.perf_counter()
        entry = self._params.get(id(leaf)) or it.inputs.get(id(leaf))
        name = entry[1] if entry is not None else None
        if name and grad is not None:
            it.grad_norms[name] = norm(grad if name not in it.grad_norms or leaf._grad is None else leaf._grad._data)
        it.measure_seconds += _time.perf_counter() - start

    def _name_new(self, depth):
        """The path of module_stack[depth] (the module running an op), seen for the first time: a root is named after
        the user's variable (in the frame that called it); a module added to a named model since, by reading
        the root's modules again; else by its type under its caller."""
        module, root = module_stack[depth], module_stack[0]
        known = self._roots.get(id(root))
        if known is not None:
            self.name_module(*known)
        elif id(root) not in self._module_paths:
            caller = _source.user_frame_from(boundaries[0][0]) if boundaries else None
            self.name_module(root, _source.variable_name(root, caller) or "model")
        entry = self._module_paths.get(id(module))
        if entry is None:
            parent = self._module_paths[id(module_stack[depth - 1])][1] if depth else ""
            path = f"{parent}.{type(module).__name__.lower()}" if parent else type(module).__name__.lower()
            entry = self._module_paths[id(module)] = (module, path)
            self._module_types[path] = (type(module).__name__, parent or None)
        return entry[1]

    def enter_phase(self, phase, owner=None):
        start = _time.perf_counter()
        self._grads = None  # the gradients an optimizer step reads: named afresh each step
        self._phases.append((phase, start))
        self.phase = phase
        if phase == "optimizer" and self.measure_updates and self._current.measuring:
            self._before_step = [(name, p, sample(p._data)) for name, p in self._stepped_parameters(owner)]
            self._current.measure_seconds += _time.perf_counter() - start

    def exit_phase(self, phase, owner=None):
        started = self._phases.pop()[1] if self._phases and self._phases[-1][0] == phase else None
        self.phase = self._phases[-1][0] if self._phases else "forward"
        if phase != "optimizer":
            return
        self._stepped = "optimizer"  # the next forward op begins an iteration: no backward is under way
        it = self._current
        if self._before_step:
            start = _time.perf_counter()
            for name, p, before in self._before_step:
                it.update_ratios[name] = update_ratio(before, p._data)
            self._before_step = None
            it.measure_seconds += _time.perf_counter() - start
        if owner is not None:  # one node for the step, fed by the parameters it updated (leaves all)
            params = tuple([p for group in owner.param_groups for p in group["params"] if p._grad is not None])
            attrs = dict(owner.param_groups[0]) if owner.param_groups else {}
            attrs.pop("params", None)
            attrs["optimizer"] = type(owner).__name__
            it.records.append((next(_ids), None, params, (), (), attrs,
                               _time.perf_counter() - started if started else None, "", "optimizer",
                               _location(above=2), False))

    def _stepped_parameters(self, owner):
        """(name, parameter) for each parameter with a gradient that the optimizer `owner` (or,
        without one, the named modules) holds."""
        if owner is None:
            return [(name, p) for name, p in self._named_parameters() if p._grad is not None]
        named = self._params
        params = enumerate(p for group in owner.param_groups for p in group["params"])
        return [(named[id(p)][1] if id(p) in named else f"param{i}", p) for i, p in params if p._grad is not None]

    # ---- naming ------------------------------------------------------------------------------
    def name_module(self, module, name):
        """Name a root module (and so its submodules, parameters and buffers: `name.fc1.weight`)."""
        self._roots[id(module)] = (module, name)
        for sub, m in getattr(module, "named_modules", lambda: [("", module)])():
            path = f"{name}.{sub}" if sub else name
            self._module_paths[id(m)] = (m, path)
            self._module_types[path] = (type(m).__name__, path.rpartition(".")[0] if sub else None)
        for kind, named in (("param", "named_parameters"), ("const", "named_buffers")):
            for sub, t in getattr(module, named, lambda: [])():
                self._leaves.add_param(t, f"{name}.{sub}", kind)

    def _named_parameters(self):
        return [(name, t) for t, name, kind in self._params.values() if kind == "param"]

    # ---- reading -----------------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The current (latest) iteration's graph. While it is held, the iteration's values stay."""
        self._read.add(self._current)
        return Graph(self._current)

    @property
    def graphs(self) -> list[Graph]:
        """The graphs of every iteration kept whole, oldest first."""
        self._read.update(self.iterations)
        return [Graph(it) for it in self.iterations]

    def _kept(self):
        """The iterations whose nodes can be found, newest first: those kept, and those read
        through a Graph still held."""
        kept = list(self.iterations) + ([self._last_trained] if self._last_trained is not None else [])
        kept += [it for it in self._read if all(it is not k for k in kept)]
        return sorted(kept, key=lambda it: it.number, reverse=True)

    def node(self, id: int, *default: Any) -> GNode:
        """The node with this id (a parameter's: in the latest iteration that read it)."""
        for it in self._kept():
            node = it.node(id)
            if node is not None:
                return node
        if default:
            return default[0]
        raise KeyError(f"node {id} is not in the iterations this trace keeps "
                       f"({', '.join(str(it.number) for it in self.iterations)})")

    def _resolve(self, ref):
        """(GNode, output slot) for a node, node id, Tensor or leaf name."""
        if isinstance(ref, GNode):
            return ref, 0
        if isinstance(ref, int):
            return self.node(ref), 0
        it = self._current
        if isinstance(ref, str):
            for n in it.nodes:
                if n.name == ref and n.kind != "backward":
                    return n, 0
            raise KeyError(f"no parameter or input named {ref!r} in iteration {it.number}")
        if isinstance(ref, Tensor):
            for iteration in self._kept():
                found = iteration.find(ref)
                if found is not None:
                    return found
            raise KeyError("this tensor was not made or read by an op recorded in the iterations kept")
        raise TypeError(f"expected a node, node id, tensor or name, got {type(ref).__name__}")

    def value(self, ref: GNode | int | str | Tensor) -> Tensor | None:
        """The tensor a node made (a leaf's value; for a backward node, the gradient it got)."""
        node, nr = self._resolve(ref)
        a = node.outputs[nr] if nr < len(node.outputs) else None
        return tensor_of(a)

    def grad(self, ref: GNode | int | str | Tensor) -> Tensor | None:
        """The gradient that flowed to a node's output (None if no backward reached it)."""
        node, nr = self._resolve(ref)
        if node.kind == "backward":
            return tensor_of(node.outputs[nr])
        it = next((i for i in self._kept() if i.number == node.iteration), None)
        back = it.nodes and it.backward_of.get(node.id) if it is not None else None
        if back is not None and nr < len(back.outputs):
            return tensor_of(back.outputs[nr])
        return None

    def stats(self, ref: GNode | int | str | Tensor, grad: bool = False, bins: int = 32) -> Any:
        t = self.grad(ref) if grad else self.value(ref)
        return None if t is None else stats(t._data, bins)

    def preview(self, ref: GNode | int | str | Tensor, grad: bool = False, max_elements: int = 4096) -> Any:
        t = self.grad(ref) if grad else self.value(ref)
        return None if t is None else preview(t._data, max_elements)[0]

    def __repr__(self) -> str:
        state = "recording" if self.active else "stopped"
        return f"<Trace {state}: iteration {self.iteration}, {len(self._current.nodes)} nodes>"


def tensor_of(array: Any) -> Tensor | None:
    """The Tensor over a recorded array (a Python number becomes a 0-d one); None stays None:
    what Trace.value/grad and the debuggers hand out."""
    if array is None:
        return None
    if not hasattr(array, "shape"):
        array = np.asarray(array)
    return Tensor._wrap(array)


@overload
def trace(input: Tensor, /) -> Tensor: ...
@overload
def trace(*modules: Any, live: bool = False, **options: Any) -> "Trace": ...
def trace(*modules: Any, live: bool = False, **options: Any) -> "Trace | Tensor":
    """Record every op run inside `with gg.trace() as t:` (forward, backward, optimizer); the
    options are Trace's. `live=True` returns the session-wide trace instead (see `live()`).

    Given one tensor, it is torch.trace: the sum of a matrix's diagonal."""
    if len(modules) == 1 and isinstance(modules[0], Tensor) and not options and not live:
        return matrix_trace(modules[0])
    if live:
        return globals()["live"](**options)
    return Trace(*modules, **options)


_live = None


def live(enable: bool = True, **options: Any) -> "Trace | None":
    """The session-wide trace: records from now on (notebook cells included) until
    `live(False)`, bounded like any trace. Returns it."""
    global _live
    if not enable:
        if _live is not None:
            _live.stop()
        return _live
    if _live is None or options:  # new options: a new session trace, not the old one's settings
        if _live is not None:
            _live.stop()
        options.setdefault("max_nodes", 10_000)  # cells that only run forward: a smaller bound
        options.setdefault("keep", 2)  # a forward-only cell after training leaves the training iteration
        _live = Trace(live=True, **options)
    return _live.start()
