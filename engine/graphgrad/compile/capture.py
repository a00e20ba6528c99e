"""Capture: run a step once, eagerly, and record what it did as a list of events, in program order.

The step runs as it always does (every op dispatched, every backward node scheduled), with a
recorder that keeps what a replay needs:

    ("op", node, inputs, outputs, attrs)      an op ran (its node is kept and reused by the replay)
    ("write", target, result)                 an in-place op wrote its result into target
    ("backward", roots, seeds)                a backward pass began (loss.backward())
    ("node", node, owned)                     the scheduler ran a node; for a leaf's AccumulateGrad,
                                              whether .grad took the arriving array over (owned)
    ("call", owner, method, args, kwargs)     optimizer.step(), zero_grad(), a learning-rate
                                              scheduler's step(): called again by the replay
    ("set_grad", tensor)                      `t.grad = None`

What a replay could not repeat makes the capture *unreplayable* (`Recording.reasons`), and the
step then always runs eagerly: reading a tensor's value into Python (`item()`, `bool(t)`,
printing: a Python branch on data), drawing random numbers, backward hooks, autograd.grad,
create_graph, in-place writes through views, an optimizer closure, a .grad set to a tensor."""
from contextlib import ExitStack, contextmanager

from ..autograd import engine as _engine
from .._hooks import Recorder, recorders
from ..node import AccumulateGrad
from ..nn.module import Module
from ..optim import lr_scheduler as _lr_scheduler
from ..optim import optimizer as _optimizer
from ..random import default_generator
from ..tensor import Tensor

# ops whose result's shape depends on the values of an input (a replay keeps the captured shapes)
_SHAPED_BY_VALUES = {"nonzero", "masked_select", "unique", "argwhere", "repeat_interleave",
                     "repeat_interleave_by_tensor"}
_MASKABLE = {"index", "index_put"}  # ... when indexed by a boolean mask


def _has_mask(inputs, attrs):
    def mask(x):
        if isinstance(x, (tuple, list)):
            return any(mask(v) for v in x)
        data = x._data if isinstance(x, Tensor) else x
        return getattr(getattr(data, "dtype", None), "kind", None) == "b"
    return mask(inputs) or mask(list(attrs.values()))


# Tensor methods that hand a tensor's values to Python: a step that calls them may branch on data
_VALUE_READS = ("item", "tolist", "numpy", "__array__", "__bool__", "__float__", "__int__", "__index__",
                "__repr__", "__str__", "__format__")


class Recording(Recorder):
    follows_modules = True

    def __init__(self):
        self.events = []
        self.reasons = []       # why this capture cannot be replayed (empty: it can)
        self.modules = {}       # module -> its .training when the step called it
        self.made = {}          # id -> tensor: tensors made while the step ran other than by ops
        self._states = {}       # id -> (tensor, version, array) of the modules' tensors when first called
        self._quiet = 0         # > 0 inside an optimizer step or zero_grad: their inner work is theirs

    def unreplayable(self, reason):
        if reason not in self.reasons:
            self.reasons.append(reason)

    # ---- the recorder hooks (dispatch, in-place writes, the scheduler, modules, phases) ----------
    def record(self, node, inputs, outputs, attrs, seconds):
        if not self._quiet:
            if node.op_name in _SHAPED_BY_VALUES or (node.op_name in _MASKABLE and _has_mask(inputs, attrs)):
                self.unreplayable(f"{node.op_name}'s result has a shape set by its input's values")
            self.events.append(("op", node, inputs, outputs, attrs))

    def record_write(self, target, result, base=None):
        if self._quiet:
            return
        if base is not None:
            self.unreplayable("an in-place op writes through a view of a tensor that requires grad")
        self.events.append(("write", target, result))

    def record_backward(self, step, seconds):
        if self._quiet:
            return
        node = step[0]
        if node._pre_hooks or node._post_hooks:
            self.unreplayable(f"a backward hook on {node.name()}")
        owned = False
        if type(node) is AccumulateGrad:
            leaf, arrived = node.variable, step[1][0]
            owned = leaf._grad is not None and leaf._grad._data is arrived
            if leaf._hooks or leaf._post_accumulate_hooks or leaf._retains_grad:
                self.unreplayable("a hook on a leaf's gradient")
        self.events.append(("node", node, owned))

    def enter_module(self, module):
        if module not in self.modules:
            self.modules[module] = module.training
            for t in (*module._parameters.values(), *module._buffers.values()):
                if t is not None:
                    self._states.setdefault(id(t), (t, t._vbox[0], t._data))

    def exit_module(self, module):
        pass

    # ---- the calls a replay makes again ----------------------------------------------------------
    def call(self, owner, method, args, kwargs):
        self.events.append(("call", owner, method, args, kwargs))

    def check_module_tensors(self):
        """A module's parameter or buffer changed by the step other than by an op the recording has
        (a write, an op that updates it, as batch norm its running statistics) or by an optimizer
        step: a replay would not change it."""
        explained = set()
        for event in self.events:
            if event[0] == "write":
                explained.add(id(event[1]))
            elif event[0] == "op":
                explained.update(id(v) for v in event[4].values() if isinstance(v, Tensor))
            elif event[0] == "call" and isinstance(event[1], _optimizer.Optimizer) and event[2] == "step":
                explained.update(id(p) for group in event[1].param_groups for p in group["params"])
        for key, (t, version, data) in self._states.items():
            if key not in explained and (t._vbox[0] != version or t._data is not data):
                self.unreplayable("a module's tensor changed outside ops (as an array): a replay would "
                                  "not change it")


@contextmanager
def recording():
    """Run the body under a Recording (yielded), with the patches that let it see backward passes,
    optimizer steps, zero_grad, `.grad = None`, value reads and random draws."""
    rec = Recording()
    rng_before = _rng_state()
    with ExitStack() as patches:
        for patch in (_backward_passes, _optimizer_calls, _grad_resets, _value_reads, _tensors_made):
            patches.enter_context(patch(rec))
        recorders.append(rec)
        try:
            yield rec
        finally:
            recorders.remove(rec)
    rec.check_module_tensors()
    if _rng_state() != rng_before:
        rec.unreplayable("it draws random numbers (a replay would repeat the same ones)")


def _rng_state():
    return default_generator.position()


@contextmanager
def _patched(owner, name, make):
    """owner.name replaced by make(original) while the body runs."""
    original = owner.__dict__[name]
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def _backward_passes(rec):
    def make(init):
        def __init__(self, roots, seeds, retain_graph=False, accumulate=True, capture=None, create_graph=False):
            if not rec._quiet:
                if not accumulate or capture or create_graph:
                    rec.unreplayable("autograd.grad or create_graph inside the step")
                # a copy of each seed: the pass hands the seed on (a leaf may take it over)
                rec.events.append(("backward", tuple(roots), tuple(_copy(s) for s in seeds)))
            init(self, roots, seeds, retain_graph, accumulate, capture, create_graph)
        return __init__
    with _patched(_engine.BackwardPass, "__init__", make):
        yield


def _copy(seed):
    return seed.copy() if hasattr(seed, "copy") else seed


@contextmanager
def _optimizer_calls(rec):
    """optimizer.step (its own hook), zero_grad (optimizers' and modules') and learning-rate
    schedulers' step: each recorded as a call, and what it does inside left to it (the replay calls
    it again)."""
    def quietly(owner, method, args, kwargs):
        rec.call(owner, method, args, kwargs)
        rec._quiet += 1

    def on_step(opt, args, kwargs):
        if rec._quiet:
            return
        if args or kwargs.get("closure") is not None:
            rec.unreplayable("an optimizer step with a closure")
        quietly(opt, "step", args, kwargs)

    def on_step_done(opt, args, kwargs):
        if rec.events and rec.events[-1][0] == "call" and rec.events[-1][1] is opt and rec._quiet:
            rec._quiet -= 1

    def make(method):
        def wrapper(self, *args, **kwargs):
            if rec._quiet:
                return method(self, *args, **kwargs)
            if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
                rec.unreplayable(f"{type(self).__name__}.{method.__name__} is given a tensor (a replay "
                                 "would give it the captured one)")
            quietly(self, method.__name__, args, kwargs)
            try:
                return method(self, *args, **kwargs)
            finally:
                rec._quiet -= 1
        return wrapper

    pre = _optimizer.register_optimizer_step_pre_hook(on_step)
    post = _optimizer.register_optimizer_step_post_hook(on_step_done)
    try:
        with ExitStack() as stack:
            for owner, name in _RECORDED_CALLS:
                for cls in (owner, *_subclasses(owner)):
                    if name in cls.__dict__:
                        stack.enter_context(_patched(cls, name, make))
            yield
    finally:
        pre.remove()
        post.remove()


# methods that change Python state a replay must change too: called again by the replay
_RECORDED_CALLS = ((_optimizer.Optimizer, "zero_grad"), (Module, "zero_grad"), (_lr_scheduler.LRScheduler, "step"))


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@contextmanager
def _grad_resets(rec):
    def make(prop):
        def setter(self, grad):
            if not rec._quiet:
                if grad is not None:
                    rec.unreplayable("a .grad set to a tensor")
                rec.events.append(("set_grad", self))
            prop.fset(self, grad)
        return property(prop.fget, setter, prop.fdel, prop.__doc__)
    with _patched(Tensor, "grad", make):
        yield


@contextmanager
def _value_reads(rec):
    def make_for(name):
        def make(method):
            def read(self, *args, **kwargs):
                if not rec._quiet:
                    rec.unreplayable(f"it reads a tensor's value into Python (Tensor.{name}): a branch on "
                                     "data, or a value a replay would not update")
                return method(self, *args, **kwargs)
            return read
        return make
    with ExitStack() as stack:
        for name in _VALUE_READS:
            if name in Tensor.__dict__:
                stack.enter_context(_patched(Tensor, name, make_for(name)))
        yield


@contextmanager
def _tensors_made(rec):
    """Tensors made by creation functions, detach() and the like (ops make theirs in dispatch):
    a replay reads them as constants, so one the step later writes into is not replayable."""
    def make(wrap):
        wrap = wrap.__func__

        def made(cls, array, requires_grad=False):
            t = wrap(cls, array, requires_grad)
            rec.made[id(t)] = t
            return t
        return classmethod(made)
    with _patched(Tensor, "_wrap", make):
        yield
