"""Graph nodes: what `tensor.grad_fn` is. An op's class is its node's class (Chainer style):
forward and backward side by side, the instance holding what backward needs. In the tensor layer,
below ops (every op is a Node) and autograd (which runs them backward)."""
import itertools
import re
import weakref
from typing import Any

from .tensor import Tensor

_sequence = itertools.count()


class Node:
    """One recorded op in the backward graph.

    Set by dispatch when the op's result needs a gradient:
      next_functions  ((node, output_nr) or (None, 0)) per input, as PyTorch names them
      _seq            creation order; the scheduler runs later nodes first, as PyTorch does
      _checks         (tensor, version box, version at save) for saved tensors (in-place check)
    """
    op_name = "node"
    next_functions: tuple[tuple["Node | None", int], ...]  # (declared here, set by dispatch or the node)
    _seq: int
    _out_meta: list  # (shape, dtype, array module) per output, for a multi-output node's missing grads
    # What the node keeps for backward, declared once per op class as `saves`: {attribute: role}
    # (see _SAVE_ROLES). The flags below follow from it (Node.__init_subclass__); dispatch's version
    # checks and create_graph (autograd/higher_order.py) read them.
    saves = None
    saved = ()            # attribute names holding saved arrays, freed after backward
    saved_inputs = ()     # indices of inputs whose versions must not change before backward
    saved_output = False  # the output is saved: it must not change either
    saved_for = {}        # {i: j}: saved input i is needed only for input j's gradient (x * 3 keeps no x)
    saved_as_given = False  # the saved arrays are the inputs and output unchanged (create_graph can use them)
    saved_constants = ()    # saved float arrays no derivative goes through (class weights, as in PyTorch)
    saved_derived = ()      # saved arrays computed from the saved inputs, which regraph() makes again
    n_outputs = 1
    _freed = False
    _pre_hooks = None     # {output_nr: [hook]}: hooks on non-leaf tensors' gradients
    _post_hooks = None    # [hook]: Node.register_hook
    _checks: Any = ()     # see above: set by dispatch on nodes that save tensors
    forward_id = None     # the tracer's id of the forward op that made this node

    def name(self):
        return type(self).__name__

    def backward(self, grad):
        raise NotImplementedError

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) runs after the node, as torch's Node.register_hook."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) runs before the node and may return replacements, as in torch."""
        def hook(grad):
            result = fn((grad,))
            return None if result is None else result[0]
        self._add_pre_hook(0, hook)

    def _add_pre_hook(self, output_nr, fn):
        self._hooks_at(output_nr).append(fn)

    def _hooks_at(self, output_nr):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return self._pre_hooks.setdefault(output_nr, [])

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "saves" in cls.__dict__:
            _declare_saved(cls, cls.saves)
        # what release() writes over the saved arrays, made once per class: one dict update per node
        cls._released = dict.fromkeys(cls.saved, None) | {"_freed": True}

    def release(self):
        """Free saved arrays (backward without retain_graph); a later backward raises."""
        if self.saved:
            self.__dict__.update(self._released)

    def check_saved(self):
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors "
                "after they have already been freed). Saved intermediate values of the graph are freed "
                "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                "backward through the graph a second time or if you need to access saved tensors after "
                "calling backward.")
        for saved, box, version in self._checks:
            if box[0] != version:
                raise RuntimeError(_modified_message(self, saved, box[0], version))

    def _retain(self, output_nr, tensor):
        """tensor.retain_grad(): its gradient is kept after this node's other pre-hooks ran, as
        PyTorch does; a weak reference, so the graph does not keep the tensor alive."""
        self._hooks_at(output_nr)  # so the scheduler's `if node._pre_hooks` is true
        self.__dict__.setdefault("_retains", {})[output_nr] = weakref.ref(tensor)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The sink for a leaf tensor: adds the incoming gradient into `variable.grad`."""
    op_name = "accumulate_grad"

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()
        self._seq = next(_sequence)

    def backward(self, grad):
        return ()

    def accumulate(self, grad, sole=False):
        """sole: nothing but the scheduler holds `grad` (it tested the reference count), so a
        first gradient can become .grad as it is, as PyTorch steals it; otherwise it is copied,
        since backward may hand one array to several inputs."""
        leaf = self.variable
        if leaf._hooks:
            sole = False  # a hook saw the array and may have kept it
            for hook in leaf._hooks:
                result = hook(Tensor._wrap(grad))
                if result is not None:
                    grad = result._data
        if leaf._grad is None:
            # (CuPy's flags have no writeable: its read-only arrays are views, which have a base)
            writeable = getattr(grad.flags, "writeable", True)
            own = sole and grad.base is None and grad.dtype == leaf._data.dtype and writeable
            leaf._grad = Tensor._wrap(grad if own else grad.astype(leaf._data.dtype, copy=True))
        else:
            leaf._grad._data += grad
            leaf._grad._vbox[0] += 1
        if leaf._post_accumulate_hooks:
            for hook in leaf._post_accumulate_hooks:
                hook(leaf)


_SAVE_ROLES = """Roles in an op's `saves` ({attribute: role}), what backward reads from that attribute:
  "input N"                 input N's array as given: writing to input N before backward is an error
  "input N, for input M"    the same, needed only for input M's gradient (unchecked when M takes none)
  "input N, constant"       input N's array, checked, that no derivative goes through (a choice of max)
  "output"                  the result as returned: writing to it before backward is an error
  "derived"                 computed from the saved inputs; regraph() makes it again for create_graph
  "constant"                a float array no derivative goes through (class weights, window sizes)
  "other"                   not a float array: indices, masks
A role ending in ", kept" (as "constant, kept") is not freed after backward: so an op whose saves
are all kept may run backward again, as it did before it was declared (avg_pool2d's window sizes)."""


def _declare_saved(cls, saves):
    """The saved_* flags of a class from its `saves` declaration (roles: _SAVE_ROLES)."""
    inputs, saved_for, constants, derived, output, given = [], {}, [], [], False, False
    freed = [name for name, role in saves.items() if not role.endswith(", kept")]
    for name, role in saves.items():
        role = role.removesuffix(", kept")
        words = role.split(", ")
        kind = words[0]
        if kind.startswith("input ") and kind[6:].isdigit():
            i = int(kind[6:])
            inputs.append(i)
            given = given or words[1:] != ["constant"]
            if words[1:] == ["constant"]:
                constants.append(name)
            elif len(words) == 2 and words[1].startswith("for input ") and words[1][10:].isdigit():
                saved_for[i] = int(words[1][10:])
            elif len(words) > 1:
                raise TypeError(f"{cls.__name__}.saves[{name!r}] = {role!r}: {_SAVE_ROLES}")
        elif role == "output":
            output = given = True
        elif role == "constant":
            constants.append(name)
        elif role == "derived":
            derived.append(name)
        elif role != "other":
            raise TypeError(f"{cls.__name__}.saves[{name!r}] = {role!r}: {_SAVE_ROLES}")
    cls.saved, cls.saved_inputs, cls.saved_output, cls.saved_for = tuple(freed), tuple(inputs), output, saved_for
    cls.saved_constants, cls.saved_derived = tuple(constants), tuple(derived)
    cls.saved_as_given = given


def new_sequence_number():
    return next(_sequence)





def _cpp_name(name):
    """'ExpBackward0' -> 'Exp'; nodes without a 'Backward' name live in torch::autograd (CopySlices)."""
    stripped = re.sub(r"Backward[0-9]*$", "", name)
    return stripped if stripped != name else "torch::autograd::" + name


def _modified_message(node, saved, now, expected):
    """PyTorch's error for a saved tensor changed in place before backward. An input is named by
    the op that made it last (its grad_fn now); the node's own output (saved as its array) by
    the node. PyTorch names ops here without the 'Backward0' of their grad_fn names."""
    tensor, maker = (saved, saved.grad_fn) if isinstance(saved, Tensor) else (Tensor._wrap(saved), node)
    made_by = f", which is output {tensor._output_nr} of {_cpp_name(maker.name())}," if maker is not None else ""
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[{tensor._type_name()} [{', '.join(map(str, tensor.shape))}]]{made_by} is at version {now}; "
            f"expected version {expected} instead. Hint: enable anomaly detection to find the operation that "
            "failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")
