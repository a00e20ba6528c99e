"""The widget protocol, Python half (the browser half is js/protocol.ts; tests/viz_protocol.json is
the written-down spec both halves are checked against: `python -m graphgrad.viz.protocol` rewrites it).

Synced traits carry state a newly opened view needs (the graph structure, the stepper's position);
custom messages carry requests, replies and numbers. Numbers never travel as JSON lists: they go
as binary buffers beside a small JSON header, one buffer per array listed in BUFFERS."""
import json
import pathlib

from ..tracing.graph import SCHEMA as GRAPH_SCHEMA

VERSION = 1

# Summary statistics of a tensor, in this order, as one float64 buffer.
STATS = ("numel", "min", "max", "mean", "std", "norm", "nan", "inf", "zeros")
HIST_BINS = 32
PREVIEW_KINDS = ("none", "values", "heatmap", "images")

# Browser -> Python messages and their fields.
TO_PYTHON = {
    "hello": ("version",),                      # a view opened: resend what traits don't carry (curves)
    "inspect": ("request", "node", "what"),     # what: INSPECT_WHAT
    "command": ("cmd", "node"),                 # a stepper command (COMMANDS); node for run_to
    "breakpoint": ("node", "on"),
    "show_step": ("step",),                     # a monitor's marked point was clicked (step None: the latest)
}
COMMANDS = ("first", "prev", "next", "last", "run_to", "continue", "forward", "backward")
# Fields a browser -> Python message may leave out (each with its default).
TO_PYTHON_OPTIONAL = {
    # input: whose gradient "sent" means (0); index: the leading indices of the 2-D plane a preview of 3 or
    # more dimensions shows ([batch, channel] of N,C,H,W; a channel of -1: the 3 channels as RGB)
    "inspect": ("input", "index"),
}
# value: what the node made; grad: the gradient that reached its output (a backward node: the one it
# received); sent: the gradient its backward passed to its input `input`
INSPECT_WHAT = ("value", "grad", "sent")

# Python -> browser messages, their fields and the binary buffers that follow them.
TO_BROWSER = {
    "tensor": ("request", "node", "what", "available", "reason", "shape", "dtype", "device",
               "preview_kind", "preview_shape", "truncated", "index"),  # index: the plane shown, or None
    # series: [{name, chart, count, replace, tail}]; replace: drop that series' points first; tail: its buffer
    # ends with one more x, y: its latest point
    "points": ("reset", "series"),
    "error": ("message",),
    # a monitor's state: markers [{step, role, label, note}] of the steps kept whole, the step the graph
    # shows (pinned: clicked, else the latest), steps/s, done/total, seconds left, flags {no_gradient, dead_relu}
    "monitor": ("markers", "shown", "pinned", "step", "rate", "done", "total", "left", "flags"),
    # a monitor's newer step of the structure the graph trait holds: per node in its order the ids and op
    # seconds, and [position, {nan, inf, born}] for the nodes flagged (the view relabels the graph it has)
    "graph_values": ("iteration", "structure_hash", "ids", "seconds", "flags"),
}
BUFFERS = {
    "tensor": ("stats:float64", "hist:float64", "preview:float32"),
    "points": ("xy:float64*",),                 # one buffer per series: x0, y0, x1, y1, ...
}

# Synced traits (state) and the fields of the stepper's state.
TRAITS = ("protocol_version", "graph", "steps", "panels", "fold_depth", "height", "title", "version")
STEP_FIELDS = ("mode", "available", "position", "total", "current", "done", "ready", "finished",
               "breakpoints", "message", "flagged")

SPEC_PATH = pathlib.Path(__file__).resolve().parents[3] / "tests" / "viz_protocol.json"


def spec():
    """Everything both halves must agree on, as JSON."""
    return {"version": VERSION, "graph_schema": GRAPH_SCHEMA, "stats": list(STATS), "hist_bins": HIST_BINS,
            "preview_kinds": list(PREVIEW_KINDS), "commands": list(COMMANDS),
            "to_python": {k: list(v) for k, v in TO_PYTHON.items()},
            "to_python_optional": {k: list(v) for k, v in TO_PYTHON_OPTIONAL.items()},
            "inspect_what": list(INSPECT_WHAT),
            "to_browser": {k: list(v) for k, v in TO_BROWSER.items()},
            "buffers": {k: list(v) for k, v in BUFFERS.items()},
            "traits": list(TRAITS), "step_fields": list(STEP_FIELDS)}


def message(kind, **fields):
    """A Python -> browser header; a missing or unknown field is a bug in the caller."""
    expected = TO_BROWSER[kind]
    if set(fields) != set(expected):
        raise ValueError(f"{kind} message needs fields {sorted(expected)}, got {sorted(fields)}")
    return {"type": kind, **fields}


def _integer(value):
    return type(value) is int  # JSON numbers that are whole; a bool is not one


def _integer_or_none(value):
    return value is None or type(value) is int


# What each field of a browser -> Python message must be (js/protocol.ts's types); a message is
# checked whole before anything acts on it, so a malformed one changes nothing.
FIELD_CHECKS = {
    "version": (_integer, "an integer"),
    "request": (_integer, "an integer"),
    "node": (_integer, "an integer node id"),
    "input": (lambda v: _integer(v) and v >= 0, "a non-negative integer"),
    "index": (lambda v: v is None or (isinstance(v, list) and len(v) <= 8 and all(map(_integer, v))),
              "a list of integers or null"),
    "on": (lambda v: type(v) is bool, "true or false"),
    "step": (_integer_or_none, "an integer or null"),
}
FIELD_CHECKS_BY_KIND = {("command", "node"): (_integer_or_none, "an integer node id or null")}


def check_request(content):
    """Validate a browser -> Python message whole (its type, required fields and every field's
    type); returns its type or raises ValueError."""
    kind = content.get("type") if isinstance(content, dict) else None
    if not isinstance(kind, str) or kind not in TO_PYTHON:
        raise ValueError(f"unknown widget message {kind!r}")
    missing = [f for f in TO_PYTHON[kind] if f not in content]
    if missing:
        raise ValueError(f"{kind} message lacks {missing}")
    if kind == "command" and not (isinstance(content["cmd"], str) and content["cmd"] in COMMANDS):
        raise ValueError(f"unknown stepper command {str(content['cmd'])[:80]!r}")
    if kind == "inspect" and not (isinstance(content["what"], str) and content["what"] in INSPECT_WHAT):
        raise ValueError(f"inspect: what must be one of {INSPECT_WHAT}, not {str(content['what'])[:80]!r}")
    for field in TO_PYTHON[kind] + TO_PYTHON_OPTIONAL.get(kind, ()):
        if field not in content:
            continue
        check, expected = FIELD_CHECKS_BY_KIND.get((kind, field)) or FIELD_CHECKS.get(field, (None, None))
        if check is not None and not check(content[field]):
            raise ValueError(f"{kind}: {field} must be {expected}, not {str(content[field])[:80]!r}")
    if kind == "command" and content["cmd"] == "run_to" and content["node"] is None:
        raise ValueError("command run_to needs a node")
    return kind


if __name__ == "__main__":
    SPEC_PATH.write_text(json.dumps(spec(), indent=2) + "\n")
    print(f"wrote {SPEC_PATH}")
