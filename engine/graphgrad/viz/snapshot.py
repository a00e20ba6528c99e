"""A static picture of a graph (schema v1), an SVG drawn in Python inside a bit of HTML: the widget adds
it to its mimebundle as text/html, so a saved notebook still shows the graph where no widget manager
runs it (an untrusted or shared notebook opened without running, nbconvert, nbviewer). Simple layered
layout, top down like the widget's ELK layout: an op's layer is its longest path from a leaf, a leaf
sits just above its first consumer, one barycenter pass orders each layer. Every string from the graph
(names come from Python) is escaped.

Beside it, view() makes the saved view (MIME, JSON) that every widget output carries for graphgrad's
JupyterLab extension (src/): the graph with its module tree, the statistics of the values and
gradients still at hand and the training curves, each within a size bound."""
import base64
import json
import math
from html import escape

from .._version import __version__
from .tensors import summarize

MAX_NODES = 300        # beyond this the picture says how many more there are rather than growing
BOX_H, LAYER_GAP, COL_GAP, PAD = 34, 26, 12, 8
CHAR_W, MAX_CHARS = 7, 28
SUB_CHAR_W = 6.5      # the shape line, at font-size 10 (digits and punctuation)
COLORS = {"param": "#eab308", "input": "#eab308", "op": "#3b82f6"}


def html(graph, title=""):
    """A <div> with a caption and the picture as an <img> of a data: URL: notebook front ends keep
    an <img> when they sanitize untrusted HTML (JupyterLab drops inline <svg>), and an SVG shown
    as an image runs no script. Used where the live widget cannot render."""
    picture, hidden = svg(graph)
    note = f" ({hidden} more nodes not drawn)" if hidden else ""
    caption = (f"graphgrad graph{': ' + title if title else ''} — a static snapshot{note}; "
               "run the cell for the live widget")
    data = base64.b64encode(picture.encode()).decode()
    return (f'<div class="gg-static"><div style="font-size: 11px; opacity: 0.7">{escape(caption)}</div>'
            f'<img style="max-width: 100%" alt="{escape(caption)}" src="data:image/svg+xml;base64,{data}"></div>')


def svg(graph):
    """(the SVG document, how many nodes were left out)."""
    nodes = [n for n in graph.get("nodes", []) if n.get("phase") != "backward"] or graph.get("nodes", [])
    shown, hidden = nodes[:MAX_NODES], max(0, len(nodes) - MAX_NODES)
    ids = {n["id"] for n in shown}
    edges = [(e["source"], e["target"]) for e in graph.get("edges", []) if e["source"] in ids and e["target"] in ids]
    rows = _layers(shown, edges)
    boxes, width = _place(rows)
    height = PAD + len(rows) * (BOX_H + LAYER_GAP)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="#fff"/>',   # an image: readable on dark themes too
             '<defs><marker id="gg-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
             'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker></defs>']
    for s, t in edges:
        (x1, y1, w1), (x2, y2, w2) = boxes[s], boxes[t]
        parts.append(f'<line x1="{x1 + w1 / 2:.0f}" y1="{y1 + BOX_H}" x2="{x2 + w2 / 2:.0f}" y2="{y2}" '
                     'stroke="#888" stroke-width="1.1" marker-end="url(#gg-arrow)"/>')
    for n in shown:
        x, y, w = boxes[n["id"]]
        color = COLORS.get(n.get("kind"), COLORS["op"])
        sub = _shape(n)
        label = _clip(_text(n))
        fit = f' textLength="{len(label) * CHAR_W}" lengthAdjust="spacingAndGlyphs"' if len(label) >= 8 else ""
        tip = " · ".join(str(v) for v in (n.get("name") or n.get("label"), n.get("grad_fn"), n.get("module"), sub) if v)
        parts.append(f'<g class="gg-static-node" data-node="{escape(str(n["id"]))}"><title>{escape(tip)}</title>'
                     f'<rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="4" fill="{color}" fill-opacity="0.2" '
                     f'stroke="{color}"/><text x="{x + w / 2:.0f}" y="{y + (14 if sub else 21)}" text-anchor="middle" '
                     f'fill="#333"{fit}>{escape(label)}</text><text x="{x + w / 2:.0f}" y="{y + 27}" '
                     f'text-anchor="middle" fill="#333" fill-opacity="0.6" font-size="10">{escape(sub)}</text></g>')
    parts.append("</svg>")
    return "".join(parts), hidden


def _shape(n):
    return "[" + ", ".join(map(str, n["shape"])) + "]" if n.get("shape") is not None else ""


def _width(n):
    """A box wide enough for its label (clipped, and held to its estimate by textLength) and its shape."""
    return max(len(_clip(_text(n))) * CHAR_W, len(_shape(n)) * SUB_CHAR_W) + 16


def _text(n):
    return n.get("name") or n.get("label") or n.get("op") or ""


def _clip(s):
    return s if len(s) <= MAX_CHARS else s[:MAX_CHARS - 1] + "…"


def _layers(nodes, edges):
    """Nodes per layer, a node one layer below its lowest input (Kahn's order; ids in a cycle go last)."""
    preds = {n["id"]: [] for n in nodes}
    succs = {n["id"]: [] for n in nodes}
    for s, t in edges:
        preds[t].append(s)
        succs[s].append(t)
    waiting = {i: len(p) for i, p in preds.items()}
    order = [i for i, k in waiting.items() if k == 0]
    layer = dict.fromkeys(preds, 0)
    for i in order:                       # order grows while it is walked
        for t in succs[i]:
            layer[t] = max(layer[t], layer[i] + 1)
            waiting[t] -= 1
            if waiting[t] == 0:
                order.append(t)
    for i, p in preds.items():            # a leaf sits just above its first consumer, not all at the top
        if not p and succs[i]:
            layer[i] = min(layer[t] for t in succs[i]) - 1
    rows = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in nodes:
        rows[layer[n["id"]]].append(n)
    # one top-down barycenter pass: sit each node under the mean place of its inputs
    place = {}
    for row in rows:
        row.sort(key=lambda n: sum(place[p] for p in preds[n["id"]]) / len(preds[n["id"]]) if preds[n["id"]] else 0)
        place.update((n["id"], k) for k, n in enumerate(row))
    return rows


def _place(rows):
    """{id: (x, y, width)} with every layer centred, and the picture's width."""
    widths = [[max(_width(n), 44) for n in row] for row in rows]
    total = max((sum(w) + COL_GAP * (len(w) - 1) for w in widths), default=0) + 2 * PAD
    boxes = {}
    for k, (row, ws) in enumerate(zip(rows, widths)):
        x = (total - sum(ws) - COL_GAP * (len(ws) - 1)) / 2
        for n, w in zip(row, ws):
            boxes[n["id"]] = (round(x), PAD + k * (BOX_H + LAYER_GAP), w)
            x += w + COL_GAP
    return boxes, round(total)


# ---- the saved view: what a notebook output keeps for the JupyterLab extension ----------------------

MIME = "application/vnd.graphgrad.graph+json"
VIEW_VERSION = 1
MAX_POINTS = 500             # per curve, thinned evenly (the last point kept)
MAX_TENSORS = 400            # node values and gradients whose statistics an output keeps
TENSOR_BYTES = 256 * 1024    # of JSON for those statistics, previews included
MAX_PREVIEW = 1024           # elements; a bigger preview (a heatmap, images) is left out of an output
GRAPH_BYTES = 4 * 1024 * 1024


def thin(steps, values, max_points=MAX_POINTS):
    """At most max_points of a curve, evenly strided, always with its last point."""
    n = len(steps)
    if n <= max_points:
        return list(steps), list(values)
    keep = sorted(set(range(0, n, -(-n // (max_points - 1)))) | {n - 1})
    return [steps[i] for i in keep], [values[i] for i in keep]


def _finite(values, digits=None):
    """JSON has no NaN or infinity: they are null (the statistics count NaN and Inf separately)."""
    out = []
    for v in values:
        v = float(v)
        out.append((float(f"{v:.{digits}g}") if digits else v) if math.isfinite(v) else None)
    return out


def inspected(graph, tensor, max_tensors=MAX_TENSORS):
    """(node id, "value" or "grad", summarize()'s header and buffers, the tensor) for the nodes whose
    tensors `tensor(node, what)` can still give, in graph order (backward mirrors last)."""
    nodes = sorted(graph.get("nodes", []), key=lambda n: n.get("phase") == "backward")
    count = 0
    for n in nodes:
        for what in ("value", "grad"):
            if count >= max_tensors:
                return
            try:
                t, _ = tensor(n["id"], what)
            except Exception:  # a source that cannot answer for this node (released, another device): skip it
                t = None
            if t is None:
                continue
            try:
                header, buffers = summarize(t)
            except (TypeError, ValueError):   # not numbers (a dtype the inspector cannot show)
                continue
            count += 1
            yield n["id"], what, header, buffers, t


def view(graph, title="", height=560, fold_depth=0, panels=("graph", "inspector"), curves=(), tensor=None):
    """The JSON an output carries under MIME: the graph (with its module tree), the statistics of the
    values and gradients still at hand (within TENSOR_BYTES) and the curves, thinned (within
    MAX_POINTS each) — what the extension draws when the widget's model is gone."""
    notes = []
    graph = graph or {}
    if len(json.dumps(graph)) > GRAPH_BYTES:
        notes.append(f"the graph ({len(graph.get('nodes', []))} nodes) is too large to keep in a notebook: "
                     "save it with viz.save(obj, 'run.ggtrace')")
        graph = {}
    tensors, used = [], 0
    for node, what, header, (stats, hist, preview), t in inspected(graph, tensor) if tensor and graph else ():
        if preview.size > MAX_PREVIEW:
            header = {**header, "preview_kind": "none", "preview_shape": []}
            preview = preview[:0]
        entry = {"node": node, "what": what, "device": str(getattr(t, "device", "cpu")), **header,
                 "stats": _finite(stats), "hist": _finite(hist), "preview": _finite(preview.reshape(-1), digits=5)}
        size = len(json.dumps(entry))
        if used + size > TENSOR_BYTES:
            notes.append(f"statistics kept for {len(tensors)} tensors (the output's budget)")
            break
        tensors.append(entry)
        used += size
    saved_curves = []
    for chart, name, steps, values in curves:
        x, y = thin(steps, values)
        if len(x) < len(steps):
            notes.append(f"curves thinned to {MAX_POINTS} points")
        saved_curves.append({"name": name, "chart": chart, "x": _finite(x), "y": _finite(y)})
    return {"version": VIEW_VERSION, "graphgrad": __version__, "title": title, "height": height,
            "fold_depth": fold_depth, "panels": list(panels), "graph": graph or None, "curves": saved_curves,
            "tensors": tensors, "notes": sorted(set(notes))}
