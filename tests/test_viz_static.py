"""The static picture a graph widget adds to its mimebundle (text/html), which saved notebooks keep
showing without a kernel: present beside the live view, every node drawn in layers, names escaped."""
from html.parser import HTMLParser

import graphgrad as gg
from graphgrad import viz
from graphgrad.viz import snapshot, synthetic

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EVIL = "<img src=x onerror=alert(1)>"


def evil_mlp():
    gg.manual_seed(0)
    params = {"fc1.weight": gg.randn(4, 3, requires_grad=True), "fc1.bias": gg.zeros(4, requires_grad=True),
              "fc2.weight": gg.randn(1, 4, requires_grad=True), EVIL + ".bias": gg.zeros(1, requires_grad=True)}
    h = (gg.randn(5, 3) @ params["fc1.weight"].t() + params["fc1.bias"]).relu()
    return (h @ params["fc2.weight"].t() + params[EVIL + ".bias"]).pow(2).mean(), params


class Parsed(HTMLParser):
    """Tags, node groups (data-node -> their <rect>) and all text, as a browser would see them."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.rects, self.text, self._node = [], {}, [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "g" and "data-node" in attrs:
            self._node = int(attrs["data-node"])
        if tag == "rect" and self._node is not None:
            self.rects[self._node] = {k: float(attrs[k]) for k in ("x", "y", "width", "height")}

    def handle_data(self, data):
        self.text.append(data)


def test_widget_bundle_has_the_live_view_and_an_escaped_static_picture():
    loss, params = evil_mlp()
    widget = viz.show(loss, params=params, title="MLP <b>")
    data, _ = widget._repr_mimebundle_()
    assert set(data) == {"text/plain", WIDGET_VIEW, "text/html"}
    assert data[WIDGET_VIEW]["model_id"] == widget.model_id
    html = data["text/html"]
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    page = Parsed(html)
    assert set(page.tags) <= {"div", "svg", "g", "title", "rect", "text", "line"}
    text = "".join(page.text)
    assert EVIL in text and "MLP <b>" in text            # shown literally once parsed
    assert set(page.rects) == {n["id"] for n in widget.graph["nodes"]}
    assert "fc1.weight" in text and "[4, 3]" in text and "MeanBackward0" in text


def test_layers_run_top_down_and_boxes_never_overlap():
    graph = synthetic.transformer(2)
    page = Parsed(snapshot.html(graph))
    rects = page.rects
    assert len(rects) == len(graph["nodes"])
    for e in graph["edges"]:       # every input sits in a higher layer than what consumes it
        assert rects[e["source"]]["y"] < rects[e["target"]]["y"]
    rows = {}
    for r in rects.values():
        rows.setdefault(r["y"], []).append((r["x"], r["x"] + r["width"]))
    for spans in rows.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


def test_big_graphs_are_cut_and_say_so_and_backward_mirrors_are_left_out():
    graph = synthetic.transformer(20)
    assert len(graph["nodes"]) > snapshot.MAX_NODES
    html = snapshot.html(graph)
    assert len(Parsed(html).rects) == snapshot.MAX_NODES
    assert f"{len(graph['nodes']) - snapshot.MAX_NODES} more nodes not drawn" in html
    small = synthetic.transformer(1)
    mirrored = dict(small, nodes=small["nodes"] + [dict(small["nodes"][-1], id=10_000, phase="backward")])
    assert len(Parsed(snapshot.html(mirrored)).rects) == len(small["nodes"])


def test_no_picture_before_there_is_a_graph():
    data, _ = viz.monitor(display=False)._repr_mimebundle_()
    assert "text/html" not in data and WIDGET_VIEW in data
