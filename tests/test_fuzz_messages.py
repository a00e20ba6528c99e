"""Fuzzing the widget's incoming messages: whatever a browser (or anything on the comm) sends, a
malformed message gets an error reply and changes nothing; only well-formed ones act."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphgrad as gg
import graphgrad.viz  # (gg.viz)
from graphgrad.viz import protocol

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)
FIELDS = sorted({f for fields in protocol.TO_PYTHON.values() for f in fields}
                | {f for fields in protocol.TO_PYTHON_OPTIONAL.values() for f in fields} | {"type"})
NODES = st.integers(-3, 12)  # the view's graph has ids 0..n (n < 12): some in it, some not
GOOD_VALUES = {"version": st.just(protocol.VERSION), "request": st.integers(0, 99), "node": NODES,
               "what": st.sampled_from(protocol.INSPECT_WHAT), "cmd": st.sampled_from(protocol.COMMANDS),
               "on": st.booleans(), "step": st.none() | st.integers(0, 5), "input": st.integers(0, 2),
               "index": st.none() | st.lists(st.integers(0, 2), max_size=2)}


@st.composite
def messages(draw):
    """Anything at all; or a well-formed message (good values in every field) with up to two of its
    fields dropped or replaced by arbitrary JSON, and perhaps a field of another message added."""
    if draw(st.integers(0, 3)) == 0:
        return draw(JSON)
    kind = draw(st.sampled_from(sorted(protocol.TO_PYTHON) + ["nope"]))
    fields = protocol.TO_PYTHON.get(kind, ()) + protocol.TO_PYTHON_OPTIONAL.get(kind, ())
    content = {"type": kind, **{f: draw(GOOD_VALUES[f]) for f in fields}}
    for field in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=2)):
        if field in content and draw(st.booleans()):
            del content[field]
        else:
            content[field] = draw(JSON)
    return content


def _view(kind="backward"):
    """A view stepping a backward pass, or one replaying a trace's forward ops (no backward to step)."""
    gg.manual_seed(0)
    w = gg.randn(3, 2, requires_grad=True)
    if kind == "backward":
        view = gg.viz.show((gg.randn(4, 2) @ w.t()).relu().sum(), params={"w": w})
    else:
        model = gg.nn.Linear(2, 3)
        with gg.trace(model) as trace:
            model(gg.randn(4, 2)).relu()
        view = gg.viz.show(trace)
    sent = []
    view.send = lambda content, buffers=None: sent.append(content)
    return view, sent, w


def _with_graph_ids(content, ids):
    """Small node numbers drawn by the strategy, made into ids of this graph (a trace's are not 0..n)."""
    if isinstance(content, dict) and type(content.get("node")) is int and 0 <= content["node"] < 12:
        return {**content, "node": ids[content["node"] % len(ids)]}
    return content


def _state(view, w):
    s = view.stepper
    return (repr(view.steps), repr(view.graph), len(s.history), s.finished, sorted(s.breakpoints), s.message,
            dict(s.position), s.mode, None if w.grad is None else w.grad.tolist())


def _well_formed(content, ids, stepper):
    """The oracle: what the widget may act on (js/protocol.ts's message types, nodes of the graph)."""
    if not isinstance(content, dict) or content.get("type") not in ("hello", "inspect", "command", "breakpoint"):
        return False
    kind = content["type"]
    if any(f not in content for f in protocol.TO_PYTHON[kind]):
        return False
    integer = lambda v: type(v) is int
    if kind == "hello":
        return content["version"] == protocol.VERSION
    if kind == "breakpoint":
        return content["node"] in ids and integer(content["node"]) and type(content["on"]) is bool
    if kind == "command":
        node = content["node"]
        return content["cmd"] in protocol.COMMANDS and (node is None or integer(node)) and \
            (content["cmd"] != "run_to" or (integer(node) and node in ids)) and \
            (content["cmd"] != "backward" or stepper.root is not None or stepper.debugger is not None)
    index = content.get("index")
    return (integer(content["request"]) and integer(content["node"]) and content["what"] in protocol.INSPECT_WHAT
            and (integer(content.get("input", 0)) and content.get("input", 0) >= 0)
            and (index is None or (isinstance(index, list) and all(integer(i) for i in index))))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["backward", "forward"]), st.lists(messages(), min_size=1, max_size=6))
def test_any_message_is_acted_on_whole_or_refused_changing_nothing(kind, batch):
    view, sent, w = _view(kind)
    ids = sorted(n["id"] for n in view.graph["nodes"])
    for content in batch:
        content = _with_graph_ids(content, ids)
        before, n_sent = _state(view, w), len(sent)
        view._on_message(view, content, [])  # never raises: the comm must keep working
        replies = sent[n_sent:]
        if any(r.get("type") == "error" for r in replies):
            assert _state(view, w) == before, f"{content!r} was refused but changed the view"
        else:
            assert _well_formed(content, ids, view.stepper), f"{content!r} was acted on"


@settings(max_examples=500, deadline=None)
@given(messages())
def test_check_request_only_ever_raises_value_error(content):
    try:
        kind = protocol.check_request(content)
    except ValueError:
        return
    assert kind in protocol.TO_PYTHON and isinstance(content, dict)


def test_the_fuzzed_view_still_steps_and_inspects():
    view, sent, w = _view()
    view._on_message(view, {"type": "command", "cmd": "last", "node": None}, [])
    assert view.steps["finished"] and w.grad is not None
    view._on_message(view, {"type": "inspect", "request": 1, "node": 0, "what": "value"}, [])
    assert sent[-1]["type"] == "tensor" and np.isfinite(w.grad.numpy()).all()
