"""The graph view on real models, as a newcomer meets it in JupyterLab at 1280 px: resnet18 opens
folded and readable, a module used twice gets a box per call, parameters are badges, drag pans and
only a chevron or a title folds, the wheel scrolls the notebook unless the graph has focus, keys step
and fit, states compose and a legend explains them, a planted NaN's birth is named and found in
one click, a backward stop selects the offending gradient; light and dark screenshots."""
import json
import time

import pytest
from conftest import SCREENSHOTS, notebook, open_notebook, own_errors, shot

SETUP = """import graphgrad as gg
from graphgrad import models, nn, viz
gg.manual_seed(0)"""
RESNET = """model = models.resnet18()
x, y = gg.randn(4, 3, 32, 32), gg.tensor([1, 2, 3, 4])
with gg.trace(model) as t:
    loss = nn.functional.cross_entropy(model(x), y)
viz.show(t, backward=loss, title="resnet18")"""
TRANSFORMER = """class Block(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.ln1, self.qkv, self.proj = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln2, self.fc1, self.act, self.fc2 = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)
    def forward(self, x):
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        att = (q @ k.transpose(-2, -1) / 4.0).softmax(dim=-1)
        x = x + self.proj(att @ v)
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))
block = Block()
with gg.trace(block) as t2:
    out = block(gg.randn(2, 5, 16)).pow(2).mean()
viz.show(t2, title="transformer block")"""
NAN = """net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8))
with gg.trace(net) as t3:
    h = net(gg.randn(3, 4))
    r = (h - 0.5).sqrt()          # negative inputs: NaN is born here
    bad_loss = r.mean()
viz.show(t3, backward=bad_loss, title="planted NaN")"""
BACKWARD_NAN = """w = gg.tensor([0.0, 1.0], requires_grad=True)
grad_loss = (w.sqrt() * gg.tensor([1.0, 2.0])).sum()   # sqrt's gradient at 0 is Inf
viz.show(grad_loss, title="NaN in backward")"""
TENSOR = """mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
data = gg.randn(5, 3)
viz.show(mlp(data).pow(2).mean(), title="no trace")"""

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@pytest.fixture(scope="module")
def views(lab, chromium):
    """The notebook run once in a 1280 px page; each test looks at its own widget."""
    (lab["root"] / "graphs.ipynb").write_text(json.dumps(notebook([SETUP, RESNET, TRANSFORMER, NAN, BACKWARD_NAN, TENSOR])))
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"{e}\n{e.stack}"))
    open_notebook(page, f"{lab['url']}/lab/tree/graphs.ipynb")
    # windowed notebooks only render cells near the view: draw every cell so all widgets exist
    page.evaluate("() => { const n = jupyterapp.shell.currentWidget.content; n.notebookConfig = {...n.notebookConfig, windowingMode: 'none'}; }")
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function("[...document.querySelectorAll('.gg-root')].filter(r => r.dataset.drawn).length >= 5", timeout=180_000)
    yield page
    context.close()


def widget(page, title):
    root = page.locator(".gg-root", has=page.locator(".gg-title", has_text=title))
    root.scroll_into_view_if_needed()
    return root


def settled(root):
    """The graph area's box once the notebook has stopped scrolling (wheel scrolling is smooth)."""
    last = None
    for _ in range(40):
        box = root.locator(".gg-svg").bounding_box()
        if box == last:
            return box
        last = box
        time.sleep(0.1)
    return last


def transform(root):
    return root.locator(".gg-viewport").get_attribute("transform")


def screen_box(root, selector):
    return root.locator(selector).first.bounding_box()


def test_resnet18_opens_folded_and_readable(views):
    page = views
    root = widget(page, "resnet18")
    shot(page, "graph-resnet18-first-view")
    labels = root.locator(".gg-node .gg-label").all_text_contents()
    for layer in ("layer1", "layer2", "layer3", "layer4"):
        assert any(label.startswith(f"▸ {layer} · Sequential") for label in labels), labels
    assert any(label.startswith("conv1 · conv2d") for label in labels)
    assert any(label.startswith("fc · linear") for label in labels)
    assert root.locator(".gg-node").count() <= 20, labels
    # drawn within a second of the output appearing (its first draw, timed by the view itself)
    first = root.evaluate("r => r.parentElement.__graphgrad.timings.firstDraw")
    print(f"resnet18's first view drawn {first:.0f} ms after the output appeared")
    assert first <= 1000, first
    layer2 = root.locator(".gg-node[data-call='model.layer2#0']")
    assert "ops → [4, 128, 4, 4]" in layer2.text_content()
    # legible: the first view's zoom keeps 12 px labels at 8 px or more on screen
    k = float(transform(root).split("scale(")[1].rstrip(")"))
    assert k >= 0.66, k
    # parameters are badges in their op, not 62 boxes
    conv1 = root.locator(".gg-node", has_text="conv1 · conv2d")
    assert conv1.locator(".gg-badge").text_content().startswith("weight 64×3×7×7")


def test_a_chevron_opens_one_level_and_keeps_the_box_in_place(views):
    page = views
    root = widget(page, "resnet18")
    before = root.locator(".gg-node[data-call='model.layer1#0'] .gg-unfold").bounding_box()
    root.locator(".gg-node[data-call='model.layer1#0'] .gg-unfold").click()
    group = root.locator(".gg-group[data-call='model.layer1#0']")
    group.wait_for()
    after = root.locator(".gg-group-title[data-call='model.layer1#0']").bounding_box()
    assert abs(after["x"] - before["x"]) < 12 and abs(after["y"] - before["y"]) < 12, (before, after)
    # one level: its two blocks, folded
    assert root.locator(".gg-node[data-call='model.layer1.0#0']").count() == 1
    assert root.locator(".gg-node[data-call='model.layer1.1#0']").count() == 1
    # a module called twice (the block's ReLU) gets a box per call: open block 0
    root.locator(".gg-node[data-call='model.layer1.0#0'] .gg-unfold").click()
    root.locator(".gg-group[data-call='model.layer1.0#0']").wait_for()
    labels = root.locator(".gg-label").all_text_contents()
    assert "relu · relu" in labels and "relu (call 2) · relu" in labels
    shot(page, "graph-resnet18-layer1-open")
    # folding from the title puts it back
    root.locator(".gg-group-title[data-call='model.layer1#0']").click()
    root.locator(".gg-node[data-call='model.layer1#0']").wait_for()
    assert root.locator(".gg-group[data-call='model.layer1#0']").count() == 0


def test_unfold_all_and_fold_do_what_they_say(views):
    page = views
    root = widget(page, "resnet18")
    root.locator("button", has_text="unfold all").click()
    page.wait_for_function("() => document.querySelectorAll('.gg-root')[0].querySelectorAll('.gg-group').length > 10")
    assert root.locator(".gg-cat-module").count() == 0          # nothing folded is left
    opened = root.locator(".gg-node").count()
    assert opened > 60
    root.locator(".gg-minimap").wait_for()                      # a big view shows where you are
    shot(page, "graph-resnet18-unfolded")
    root.locator("button", has_text="fold").last.click()
    page.wait_for_function("() => document.querySelectorAll('.gg-root')[0].querySelectorAll('.gg-group').length === 0")
    assert root.locator(".gg-node[data-call='model#0']").count() == 1


def test_drag_pans_from_inside_a_module_box_and_never_folds(views):
    page = views
    root = widget(page, "transformer block")
    group = root.locator(".gg-group").first
    group.wait_for()
    settled(root)
    start = transform(root)
    # empty space inside a module's box, in view: the first such point on a grid over the graph area
    x, y = root.evaluate("""r => {
      const svg = r.querySelector('.gg-svg').getBoundingClientRect();
      for (let y = svg.top + 20; y < svg.bottom - 20; y += 9)
        for (let x = svg.left + 20; x < svg.right - 170; x += 9) {   // not the overview in the corner
          const e = document.elementFromPoint(x, y);
          if (e && r.contains(e) && e.closest('.gg-group') && !e.closest('.gg-node, .gg-group-title')) return [x, y];
        }
      return [null, null];
    }""")
    assert x is not None, "no empty space inside a module box in view"
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 60, y - 40, steps=6)
    page.mouse.up()
    assert transform(root) != start
    assert root.locator(".gg-group").count() >= 1                # still unfolded


def test_the_wheel_scrolls_the_notebook_unless_the_graph_has_focus(views):
    page = views
    root = widget(page, "transformer block")
    root.locator(".gg-title").click()   # focus elsewhere: the widget's title (the cell takes the focus)
    canvas = settled(root)
    scrolled = "r => r.closest('.jp-WindowedPanel-outer, .jp-Notebook').scrollTop"   # this notebook's scroller
    before, start = root.evaluate(scrolled), transform(root)
    page.mouse.move(canvas["x"] + 100, canvas["y"] + 100)
    page.mouse.wheel(0, 300)
    time.sleep(0.4)
    assert transform(root) == start
    assert root.evaluate(scrolled) != before
    # with Ctrl it zooms: at a point of the graph in view (the scroll moved it)
    canvas = settled(root)
    y = max(canvas["y"], 150) + 40
    assert y < canvas["y"] + canvas["height"]
    page.mouse.move(canvas["x"] + 100, y)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)
    page.keyboard.up("Control")
    time.sleep(0.3)

    assert transform(root) != start


def test_keys_step_fit_and_search(views):
    page = views
    root = widget(page, "resnet18")
    root.locator(".gg-svg").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    page.wait_for_function("[...document.querySelectorAll('.gg-step-pos')].some(e => e.textContent.startsWith('1'))")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("[...document.querySelectorAll('.gg-step-pos')].some(e => e.textContent.startsWith('2'))")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("[...document.querySelectorAll('.gg-step-pos')].some(e => e.textContent.startsWith('1'))")
    root.locator(".gg-svg").click(position={"x": 5, "y": 5})
    page.keyboard.press("+")
    zoomed = transform(root)
    page.keyboard.press("f")
    assert transform(root) != zoomed
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.classList.contains('gg-search')")
    page.keyboard.type("max_pool")
    page.keyboard.press("Escape")
    root.locator(".gg-svg").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    assert root.locator(".gg-search").input_value() == ""


def test_states_compose_and_the_legend_explains_them(views):
    page = views
    root = widget(page, "resnet18")
    # step once more so the loss's node is done and current, then select it too
    current = root.locator(".gg-node.gg-current")
    current.wait_for()
    root.locator("button", has_text="fit").click()   # the whole graph in view, the cursor's node too
    current.locator(".gg-box").click()
    both = root.locator(".gg-node.gg-current.gg-selected")
    both.wait_for()
    assert both.locator(".gg-ring").count() == 1 and both.locator(".gg-cursor").count() == 1
    root.locator(".gg-search").fill("nll")
    assert root.locator(".gg-node.gg-current.gg-selected.gg-match .gg-halo").count() == 1
    root.locator(".gg-search").fill("")
    root.locator("button", has_text="legend").click()
    legend = root.locator(".gg-legend")
    assert legend.locator(".gg-legend-row").count() == 10
    for words in ("selected", "current step", "NaN/Inf born here", "NaN/Inf spread here", "breakpoint", "ready"):
        assert words in legend.inner_text()
    shot(page, "graph-states-legend")
    root.locator("button", has_text="legend").click()
    # the loss node is ready at the start, not red: nothing on a fresh graph reads as an error
    assert root.locator(".gg-node.gg-nan-born, .gg-node.gg-nan-spread, .gg-node.gg-grad-bad").count() == 0


def test_a_planted_nan_is_named_where_it_was_born_and_found_in_one_click(views):
    page = views
    root = widget(page, "planted NaN")
    banner = root.locator(".gg-banner")
    text = banner.inner_text()
    assert "NaN first appeared in 'sqrt'" in text and "(h - 0.5).sqrt()" in text, text
    assert "node " not in text
    assert root.locator(".gg-node.gg-nan-born").count() == 1
    assert "sqrt" in root.locator(".gg-node.gg-nan-born").text_content()
    assert root.locator(".gg-node.gg-nan-spread").count() >= 1
    toolbar = root.locator(".gg-toolbar").bounding_box()
    banner.locator("button", has_text="show").click()
    root.locator(".gg-node.gg-nan-born.gg-selected").wait_for()
    assert "sqrt" in root.locator(".gg-insp-title").inner_text()
    assert root.locator(".gg-toolbar").bounding_box()["height"] == toolbar["height"]
    shot(page, "graph-nan-born")


def test_a_backward_stop_names_the_op_and_selects_its_gradient(views):
    page = views
    root = widget(page, "NaN in backward")
    toolbar = root.locator(".gg-toolbar").bounding_box()
    root.locator("button[title='Continue to a breakpoint or NaN/Inf']").click()
    banner = root.locator(".gg-banner-msg")
    banner.wait_for()
    assert "stopped: NaN or Inf in the gradient from" in banner.inner_text()
    assert "node " not in banner.inner_text()
    root.locator(".gg-node.gg-grad-bad.gg-selected").wait_for()
    assert root.locator(".gg-toolbar").bounding_box()["height"] == toolbar["height"]
    shot(page, "graph-nan-backward-stop")


def test_a_tensor_graph_without_a_trace_names_and_groups_its_nodes(views):
    page = views
    root = widget(page, "no trace")
    labels = root.locator(".gg-label").all_text_contents()
    assert "data" in labels                                        # the input is shown, by its name
    badges = root.locator(".gg-badge").all_text_contents()
    assert any(b.startswith("weight 4×3") for b in badges), badges
    assert root.locator(".gg-group[data-call='mlp#0']").count() == 1
    assert root.locator(".gg-group-title[data-call='mlp#0']").text_content().startswith("▾ mlp · Sequential")
    shot(page, "graph-tensor-no-trace")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_in_both_themes(views, theme):
    page = views

    def use(name):   # the theme is a user setting the server keeps: other tests' pages get it too
        page.evaluate(f"jupyterapp.commands.execute('apputils:change-theme', {{theme: '{THEMES[name]}'}})")
        page.wait_for_function(f"document.body.dataset.jpThemeLight === '{str(name == 'light').lower()}'", timeout=30_000)

    use(theme)
    try:
        time.sleep(0.8)
        for title in ("resnet18", "transformer block", "planted NaN"):
            widget(page, title).screenshot(path=str(SCREENSHOTS / f"graph-{title.replace(' ', '-')}-{theme}.png"))
    finally:
        use("light")
    assert own_errors(page) == [], page.errors
