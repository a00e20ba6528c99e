"""The inspector on a real model in JupyterLab (Chromium): resnet18 traced at 4x3x32x32, shown with
its backward pass to step. A conv node's key figures are in view without scrolling, its lines of
source name the model's forward and the notebook's call, its heatmap has a colour bar and reads
the value under the pointer, channel 3 is picked, the gradient that flowed in is shown once
backward ran, and the inspector follows the step cursor. Screenshots at 1280 px, light and dark."""
import contextlib
import json
import re
import time

from conftest import SCREENSHOTS, notebook
from playwright.sync_api import Error as PlaywrightError
from test_notebook import open_and_run

CELL = """import graphgrad as gg
from graphgrad import viz
gg.manual_seed(0)
model = gg.models.resnet18()
x = gg.randn(4, 3, 32, 32)
y = gg.randint(0, 1000, (4,))
with gg.trace(model) as t:
    loss = gg.nn.functional.cross_entropy(model(x), y)
viz.show(t, backward=loss, height=560)"""

NUMBER = r"-?\d[\d.e+-]*|0|nan|inf"
# the inspector's title is the label of the node at the stepper's cursor, one step in
FOLLOWED = """() => {
  const app = document.querySelector('.gg-root').parentElement.__graphgrad, s = app.model.get('steps');
  const n = app.graph.nodes.find((n) => n.id === s.current);
  return s.position === 1 && n && document.querySelector('.gg-insp-title').textContent.startsWith(n.label);
}"""


def hover_value(page, picture):
    """Move the pointer over a point of a picture and read what the inspector says is there."""
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    picture.hover(position={"x": box["width"] * 0.4, "y": box["height"] * 0.6})
    readout = picture.locator("xpath=..").locator(".gg-readout")
    return readout.inner_text()


def test_inspector_on_resnet18(lab, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        (lab["root"] / "inspector.ipynb").write_text(json.dumps(notebook([CELL])))
        open_and_run(lab, page, "inspector.ipynb")
        root = page.locator(".gg-root").first
        root.locator(".gg-node").first.wait_for(timeout=120_000)
        root.scroll_into_view_if_needed()
        inspector = root.locator(".gg-inspector")

        # select a conv node (the stem's) through search
        root.locator(".gg-search").fill("conv2d")
        root.locator(".gg-node.gg-match").first.click()
        props = inspector.locator(".gg-props")
        assert props.locator("tr[data-prop='shape'] td").inner_text() == "[4, 64, 16, 16]"
        assert props.locator("tr[data-prop='dtype'] td").inner_text() == "float32 · cpu · 256 KiB"
        # two places: the model's forward that ran the op, and the notebook line that called the model
        ran = props.locator("tr[data-prop='source']").inner_text()
        assert "resnet.py" in ran and "self.conv1(x)" in ran, ran
        assert "model(x)" in props.locator("tr[data-prop='caller']").inner_text()

        # key figures, visible without scrolling in the 560 px widget
        figures = inspector.locator(".gg-figures")
        value_min = figures.locator("tr[data-stat='min'] td").first
        page.wait_for_function("document.querySelector('.gg-figures tr[data-stat=\"min\"] td').textContent !== '…'")
        assert re.fullmatch(NUMBER, value_min.inner_text()), value_min.inner_text()
        assert figures.locator("tr[data-stat='NaN'] td").first.inner_text() == "0"
        panel_box, figures_box = inspector.bounding_box(), figures.bounding_box()
        assert abs(panel_box["height"] - 560) <= 2, panel_box   # the widget's height: the inspector scrolls inside it
        assert figures_box["y"] + figures_box["height"] <= panel_box["y"] + panel_box["height"], (figures_box, panel_box)

        # the value's heatmap: one channel at full size (not "downsampled"), a colour bar labelled min and max
        value = inspector.locator(".gg-tensor[data-what='value']")
        heatmap = value.locator(".gg-heatmap")
        heatmap.wait_for()
        assert value.locator(".gg-downsampled").count() == 0
        ticks = value.locator(".gg-colourbar-labels")
        assert re.fullmatch(NUMBER, ticks.locator("[data-at='min']").inner_text())
        assert re.fullmatch(NUMBER, ticks.locator("[data-at='max']").inner_text())
        value.locator(".gg-readout").scroll_into_view_if_needed()
        assert re.fullmatch(rf"\[0, 0, \d+, \d+\] = ({NUMBER})", hover_value(page, heatmap))
        inspector.screenshot(path=str(SCREENSHOTS / "inspector-value.png"))   # colour bar and the value under the pointer

        # channel 3: Python sends that plane; the pointer reads it
        channel = value.locator("label[data-dim='channel'] input")
        channel.fill("3")
        channel.press("Enter")
        channel.blur()
        heatmap = inspector.locator(".gg-tensor[data-what='value'][data-index='0,3'] .gg-heatmap")
        heatmap.wait_for()
        assert hover_value(page, heatmap).startswith("[0, 3, ")

        # before backward ran, the gradient tab says why it has nothing
        inspector.locator(".gg-tab[data-tab='grad']").click()
        grad = inspector.locator(".gg-tensor[data-what='grad']")
        assert "yet" in grad.inner_text()   # no gradient reached it yet
        assert "gradient in: no gradient reached this node (yet)" in inspector.locator(".gg-fig-note").inner_text()
        # run backward to the end: the gradient that flowed into the conv, channel 3 still picked
        root.locator("button[title='Last step (run to the end)']").click()
        grad = inspector.locator(".gg-tensor[data-what='grad'][data-index='0,3']")
        grad.locator(".gg-heatmap").wait_for(timeout=120_000)
        assert "flowed back into conv2d" in grad.locator(".gg-explain").inner_text()
        assert grad.locator("label[data-dim='channel'] input").input_value() == "3"
        assert hover_value(page, grad.locator(".gg-heatmap")).startswith("[0, 3, ")
        grad_min = figures.locator("tr[data-stat='min'] td").nth(1)
        assert re.fullmatch(NUMBER, grad_min.inner_text()), grad_min.inner_text()
        root.screenshot(path=str(SCREENSHOTS / "inspector-light.png"))
        page.screenshot(path=str(SCREENSHOTS / "inspector-light-1280.png"))

        # what the conv sent to its weight
        inspector.locator(".gg-tab[data-tab='sent']").click()
        sent = inspector.locator(".gg-tensor[data-what='sent']")
        sent.locator(".gg-input-pick").select_option(value="1")   # conv2d(x, weight): input 1
        sent = inspector.locator(".gg-tensor[data-what='sent']")
        sent.locator(".gg-meta-line").wait_for()
        assert "[64, 3, 7, 7]" in sent.locator(".gg-meta-line").inner_text()
        assert sent.locator("label[data-dim='out-channel']").count() == 1   # a weight's dimensions, not a batch
        sent.locator(".gg-images").wait_for()                                # 3 input channels: RGB filters
        # its figures join value and gradient in, side by side
        inspector.locator(".gg-figures[data-ready~='sent']").wait_for()
        assert figures.locator("th.gg-fig-head").all_inner_texts() == ["value", "gradient in", "to weight"]
        assert abs(inspector.bounding_box()["height"] - 560) <= 2, inspector.bounding_box()
        inspector.screenshot(path=str(SCREENSHOTS / "inspector-sent.png"))

        # follow the step cursor: one step back, the inspector shows the node the stepper is at
        inspector.locator(".gg-follow input").check()
        root.locator("button[title='First step']").click()
        root.locator(".gg-next").click()
        page.wait_for_function(FOLLOWED, timeout=30_000)

        # the dark theme: the same inspector through JupyterLab's variables
        inspector.locator(".gg-follow input").uncheck()
        root.locator("button[title='Last step (run to the end)']").click()
        page.wait_for_function("document.querySelector('.gg-step-pos').textContent.includes('/')")
        root.locator(".gg-search").fill("conv2d")
        root.locator(".gg-node.gg-match").first.click()
        inspector.locator(".gg-tab[data-tab='grad']").click()
        inspector.locator(".gg-tensor[data-what='grad'] .gg-heatmap").wait_for()
        page.evaluate("jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        time.sleep(1)
        root.screenshot(path=str(SCREENSHOTS / "inspector-dark.png"))
        page.screenshot(path=str(SCREENSHOTS / "inspector-dark-1280.png"))
        inspector.screenshot(path=str(SCREENSHOTS / "inspector-dark-panel.png"))
        assert errors == [], errors
    finally:   # the session's JupyterLab back in the light theme for the tests after this one
        with contextlib.suppress(PlaywrightError):
            page.evaluate("jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
        context.close()
