"""What a trace knows of the tensors no recorded op made, the leaves of its graphs: the
parameters and buffers of the modules it names, the arrays they held, one Record per parameter
shared by the iterations that read it, and the names of the user's inputs.

`p.data = ...` gives a parameter a new array. Recording notices it where an op reads p, so every
iteration shows the array its own ops read. Iterations hold this object, not the trace, so a
graph the user keeps keeps parameters alive but not the model or the trace."""
from . import source as _source
from ..node import AccumulateGrad
from .iteration import ids, record


class Leaves:
    def __init__(self):
        self.params = {}       # id(tensor) -> (tensor, name, kind: "param" or "const"): of the named modules
        self.arrays = {}       # id(parameter) -> the array it held when an op last read it
        self.changes = []      # (iteration, record position, parameter, old array, new array), in order
        self.shared = {}       # id(parameter) -> (Record, array, phase): the record iterations share
        self.input_names = {}  # ((file, line), n) -> the user's name for the n-th input read there

    def add_param(self, tensor, name, kind):
        self.params[id(tensor)] = (tensor, name, kind)
        self.arrays.setdefault(id(tensor), tensor._data)  # (named again: a change not yet seen stays to see)

    # ---- while recording -------------------------------------------------------------------
    def moved(self, param, iteration, position):
        """An op (the record at `position` of `iteration`) reads `param` with a new array."""
        self.changes.append((iteration, position, param, self.arrays[id(param)], param._data))
        self.arrays[id(param)] = param._data

    def forget_before(self, iteration):
        """Iterations older than this are gone: what their parameters held no longer matters."""
        if self.changes and self.changes[0][0] < iteration:
            self.changes = [c for c in self.changes if c[0] >= iteration]

    def input_name(self, x, loc, counts):
        """The user's name for an input tensor: looked up in their frame the first time the n-th
        input is read at that line (counts: per line, this iteration's), then remembered (a
        notebook's globals are long to search) while that name still binds the tensor read there
        (an iteration recorded from the middle of a step reads at a line inputs that an earlier
        one made there: `batch = x.clone()` recorded or not)."""
        n = counts[loc] = counts.get(loc, -1) + 1
        key = (loc, n)
        name = self.input_names.get(key, key)
        if name is not None:
            frame = _source.user_frame()
            if name is key or (frame is not None and frame.f_locals.get(name, frame.f_globals.get(name)) is not x):
                name = self.input_names[key] = _source.variable_name(x, frame)
        return name

    # ---- when an iteration is read -----------------------------------------------------------
    def array_at(self, param, iteration, position):
        """The array `param` held when record `position` of `iteration` ran."""
        before = after = None
        for change in self.changes:
            if change[2] is param:
                if (change[0], change[1]) <= (iteration, position):
                    before = change
                elif after is None:
                    after = change
        # no change after it: the array the last op that read it saw (p.data may be newer)
        return before[4] if before else after[3] if after else self.arrays[id(param)]

    def param_record(self, param, array, phase, iteration):
        """A parameter's Record: one for every iteration that reads it, while its array and the
        phase stay."""
        entry = self.shared.get(id(param))
        if entry is None or entry[1] is not array or entry[2] != phase:
            _, name, kind = self.params[id(param)]
            rec = record((next(ids), kind, None, None, name, name.rpartition(".")[0], phase, iteration, None, None,
                          None, None, (), (array,), None, None))
            entry = self.shared[id(param)] = (rec, array, phase)
        return entry[0]

    @staticmethod
    def input_record(name, array, phase, iteration, loc):
        return record((next(ids), "input", None, None, name, "", phase, iteration, loc, None, None, None, (),
                       (array,), None, None))

    @staticmethod
    def const_record(value, module, phase, iteration):
        """A constant (an array or number, not a tensor) an op read."""
        return record((next(ids), "const", None, None, None, module, phase, iteration, None, None, None, None, (),
                       (value,), None, None))


def keep_values(iteration, copies, room, grads=True):
    """Give a recorded iteration that is kept (a monitor's marked step) arrays of its own where
    later steps write in place: the parameters and buffers its ops read get the copies taken
    before it ran (`copies`: {id(array): (array, copy)}, as an optimizer overwrites them after);
    the gradients its leaves were left (zero_grad(set_to_none=False) zeroes them in place) and
    its forward inputs (a reused batch buffer) get copies now, one per array, up to `room` bytes
    more. What its own ops made (activations, the gradients between them) is made afresh by every
    step, and an optimizer's own state (momentum) is not the step's graph: kept by reference.
    grads=False: the loop gives its parameters new gradient arrays each step (zero_grad's
    set_to_none): the gradients are kept by reference too."""
    made = {}  # id(array) -> its copy: a gradient is the AccumulateGrad's and the optimizer's input
    nodes = iteration.nodes
    for node in nodes:
        if node.kind in ("param", "const"):
            array = node.outputs[0] if node.outputs else None
            copy = copies.get(id(array))
            if copy is not None and copy[0] is array:
                node.outputs = (copy[1],)  # past the limit: its reference (today's values)
    leaf_grad = (lambda n: n.kind == "backward" and type(n.fn) is AccumulateGrad) if grads else (lambda n: False)
    for wanted in (leaf_grad, lambda n: n.kind == "input"):
        for node in nodes:
            if not node.outputs or not wanted(node):
                continue
            array = node.outputs[0]
            copy = made.get(id(array))
            if copy is None:
                nbytes = getattr(array, "nbytes", None)
                if nbytes is None or nbytes > room or not hasattr(array, "copy") or (
                        node.kind == "input" and node.phase != "forward"):
                    continue
                copy = made[id(array)] = array.copy()
                room -= nbytes
            node.outputs = (copy,) + tuple(node.outputs[1:])
