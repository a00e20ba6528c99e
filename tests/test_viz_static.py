"""The static picture a graph widget adds to its mimebundle (text/html with an SVG image), which saved
notebooks keep showing without a kernel: present beside the live view, every node drawn in layers top
down, names escaped (in the HTML and inside the SVG, which must stay well-formed XML)."""
import base64
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import graphgrad as gg
from graphgrad import viz
from graphgrad.viz import snapshot, synthetic

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EVIL = "<img src=x onerror=alert(1)>"
SVG = "{http://www.w3.org/2000/svg}"


def evil_mlp():
    gg.manual_seed(0)
    params = {"fc1.weight": gg.randn(4, 3, requires_grad=True), "fc1.bias": gg.zeros(4, requires_grad=True),
              "fc2.weight": gg.randn(1, 4, requires_grad=True), EVIL + ".bias": gg.zeros(1, requires_grad=True)}
    h = (gg.randn(5, 3) @ params["fc1.weight"].t() + params["fc1.bias"]).relu()
    return (h @ params["fc2.weight"].t() + params[EVIL + ".bias"]).pow(2).mean(), params


class Page(HTMLParser):
    """The HTML as a browser reads it: its tags (with attributes) and its text."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def picture(html):
    """(the page, the SVG in its one <img> parsed as XML)."""
    page = Page(html)
    imgs = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(imgs) == 1
    prefix = "data:image/svg+xml;base64,"
    assert imgs[0]["src"].startswith(prefix)
    return page, ET.fromstring(base64.b64decode(imgs[0]["src"][len(prefix):]))


def boxes(svg):
    """{node id: its rectangle (x, y, width, height)}."""
    return {int(g.get("data-node")): tuple(float(g.find(SVG + "rect").get(k)) for k in ("x", "y", "width", "height"))
            for g in svg.iter(SVG + "g") if g.get("class") == "gg-static-node"}


def test_widget_bundle_has_the_live_view_and_an_escaped_static_picture():
    loss, params = evil_mlp()
    widget = viz.show(loss, params=params, title="MLP <b>")
    data, _ = widget._repr_mimebundle_()
    assert set(data) == {"text/plain", WIDGET_VIEW, "text/html", snapshot.MIME}   # the saved view: tests/test_document.py
    assert data[WIDGET_VIEW]["model_id"] == widget.model_id
    page, svg = picture(data["text/html"])
    assert [tag for tag, _ in page.tags] == ["div", "div", "img"]           # the title made no <b>
    assert "MLP <b>" in "".join(page.text)
    assert {el.tag.removeprefix(SVG) for el in svg.iter()} == {"svg", "rect", "line", "g", "title", "text",
                                                                "defs", "marker", "path"}   # arrowheads
    assert all(line.get("marker-end") == "url(#gg-arrow)" for line in svg.iter(SVG + "line"))
    svg_text = "".join(svg.itertext())
    assert EVIL + ".bias" in svg_text                                        # shown literally, as text
    assert "fc1.weight" in svg_text and "[4, 3]" in svg_text and "MeanBackward0" in svg_text
    assert set(boxes(svg)) == {n["id"] for n in widget.graph["nodes"]}


def test_layers_run_top_down_and_boxes_never_overlap():
    graph = synthetic.transformer(2)
    rects = boxes(ET.fromstring(snapshot.svg(graph)[0]))
    assert len(rects) == len(graph["nodes"])
    for e in graph["edges"]:       # every input sits in a higher layer than what consumes it
        assert rects[e["source"]][1] < rects[e["target"]][1]
    rows = {}
    for x, y, w, _ in rects.values():
        rows.setdefault(y, []).append((x, x + w))
    for spans in rows.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


def test_big_graphs_are_cut_and_say_so_and_backward_mirrors_are_left_out():
    graph = synthetic.transformer(20)
    assert len(graph["nodes"]) > snapshot.MAX_NODES
    page, svg = picture(snapshot.html(graph))
    assert len(boxes(svg)) == snapshot.MAX_NODES
    assert f"{len(graph['nodes']) - snapshot.MAX_NODES} more nodes not drawn" in "".join(page.text)
    small = synthetic.transformer(1)
    mirrored = dict(small, nodes=small["nodes"] + [dict(small["nodes"][-1], id=10_000, phase="backward")])
    assert len(boxes(ET.fromstring(snapshot.svg(mirrored)[0]))) == len(small["nodes"])


def test_no_picture_before_there_is_a_graph():
    data, _ = viz.monitor(display=False)._repr_mimebundle_()
    assert "text/html" not in data and WIDGET_VIEW in data


def test_nbconvert_html_export_shows_the_picture():
    # a widget output saved without widget state: the export falls back to the bundle's text/html
    import nbformat
    from nbconvert import HTMLExporter
    loss, params = evil_mlp()
    data, metadata = viz.show(loss, params=params)._repr_mimebundle_()
    output = nbformat.v4.new_output("display_data", data=data, metadata=metadata)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("viz.show(loss)", outputs=[output])])
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    svg_url = Page(data["text/html"]).tags[-1][1]["src"]
    assert 'class="gg-static"' in body and svg_url in body


def test_labels_and_shapes_fit_their_boxes():
    """A box is as wide as its shape line needs, and a long label is held to the box's estimate."""
    graph = {"schema": 1, "structure_hash": "x", "iteration": 0, "modules": [], "edges": [], "nodes": [
        {"id": 0, "kind": "op", "op": "conv2d", "label": "conv2d", "name": None, "shape": [16, 3, 224, 224], "phase": "forward"},
        {"id": 1, "kind": "op", "op": "x", "label": "WWWWWWWWWWWWWWWWWWWWWWWW", "name": None, "shape": None, "phase": "forward"}]}
    svg = ET.fromstring(snapshot.svg(graph)[0])
    rects = boxes(svg)
    assert rects[0][2] >= len("[16, 3, 224, 224]") * snapshot.SUB_CHAR_W
    long_label = next(t for t in svg.iter(SVG + "text") if t.text == "WWWWWWWWWWWWWWWWWWWWWWWW")
    assert float(long_label.get("textLength")) <= rects[1][2] - 10
