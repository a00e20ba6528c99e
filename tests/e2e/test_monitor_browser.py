"""The training monitor in a real JupyterLab in Chromium: curves grow while the loop runs, legends
show values without hovering, one cursor moves across every chart, a click on the NaN mark shows
that step's graph (where the NaN was born marked), and a switch to the dark theme redraws the charts
in its colours without a reload. Screenshots at 1280 px wide, light and dark."""
import json
import re
import time

from conftest import SCREENSHOTS, notebook

CELLS = [
    """import time
import graphgrad as gg
from graphgrad import viz
nn = gg.nn
gg.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
opt = gg.optim.SGD(net.parameters(), lr=0.05)
x, y = gg.randn(32, 4), gg.randint(0, 3, (32,))
mon = viz.monitor(net, height=420)""",
    """for i in mon.track(range(2000)):
    batch = x.clone()
    if i == 1600:
        batch[0, 0] = float("nan")      # a bad batch: the loss turns NaN here, and stays
    opt.zero_grad()
    loss = nn.functional.cross_entropy(net(batch), y)
    loss.backward()
    opt.step()
    mon.log(loss=loss)
    if i % 100 == 99:
        with gg.no_grad():
            mon.log(loss=nn.functional.cross_entropy(net(x + 0.1), y), run="eval")
    time.sleep(0.008)
print("loop done")""",
]


def open_notebook(lab, page, name, cells):
    (lab["root"] / name).write_text(json.dumps(notebook(cells)))
    page.goto(f"{lab['url']}/lab/tree/{name}")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
    try:   # JupyterLab may still ask which kernel to start: take the one offered
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=8_000)
    except Exception:
        pass
    page.wait_for_function("document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle' && "
                           "!document.body.textContent.includes('No Kernel')", timeout=60_000)
    page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")


def points(chart):
    return int(chart.get_attribute("data-points") or 0)


def test_monitor_live_curves_linked_cursor_nan_click_and_dark_theme(lab, page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_notebook(lab, page, "monitor.ipynb", CELLS)
    root = page.locator(".gg-root").first
    loss = root.locator(".gg-chart[data-chart='loss']")
    loss.wait_for(timeout=60_000)

    # live: the loss chart gains points while the loop runs; its legend shows the latest value unhovered
    counts = []
    for _ in range(5):
        counts.append(points(loss))
        time.sleep(0.4)
    assert counts[-1] > counts[0] > 0, counts
    legend = loss.locator(".gg-chart-legend-item[data-series='train'] .gg-chart-legend-value")
    assert re.match(r"^[0-9.e+-]+ @ \d+", legend.inner_text()), legend.inner_text()
    assert re.search(r"\d+ steps/s", root.locator(".gg-mon-status").inner_text())
    assert re.search(r"left", root.locator(".gg-mon-status").inner_text())
    # the graph panel follows the latest recorded step while the loop runs, not only the first
    shown = root.locator(".gg-mon-shown")
    first_shown = int(re.search(r"step (\d+)", shown.inner_text()).group(1))
    page.wait_for_function("(s) => +(document.querySelector('.gg-mon-shown')?.textContent.match(/step (\\d+)/) ?? [0, 0])[1] > s",
                           arg=first_shown, timeout=20_000)
    root.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "monitor-1-running.png"))

    page.locator(".jp-OutputArea-output pre", has_text="loop done").wait_for(timeout=120_000)
    page.wait_for_function("[...document.querySelectorAll('.gg-marker')].some((m) => m.dataset.role.includes('nan'))",
                           timeout=20_000)
    # train and eval on one chart; per-parameter gradient norms named by module path
    assert loss.locator(".gg-chart-legend-item[data-series='eval']").count() == 1
    grad = root.locator(".gg-chart[data-chart='grad norm']")
    assert grad.locator(".gg-chart-legend-item[data-series='0.weight']").count() == 1

    # one cursor across charts: hovering the loss chart moves the grad-norm chart's cursor to the same step
    box = loss.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    at_loss = loss.locator(".gg-chart-legend-value").first.inner_text().rsplit("@", 1)[-1].strip()
    at_grad = grad.locator(".gg-chart-legend-value").first.inner_text().rsplit("@", 1)[-1].strip()
    grad_cursor = grad.locator(".u-cursor-x")
    assert grad_cursor.is_visible()
    # the same step, as near as the gradient norms' sampling allows (measured every k-th step, under a budget)
    spacing = 2000 / (points(grad) / grad.locator(".gg-chart-legend-item").count())
    assert abs(int(float(at_loss)) - int(float(at_grad))) <= spacing, (at_loss, at_grad, spacing)
    page.screenshot(path=str(SCREENSHOTS / "monitor-2-cursor.png"))

    # a click on the NaN mark: that step's graph, pinned, with the NaN's birth marked
    nan_mark = loss.locator(".gg-marker[data-role*='nan']")
    step = int(nan_mark.get_attribute("data-step"))
    assert step == 1600   # the step the NaN came in, not the next (where it came in through the weights)
    nan_mark.click()
    shown = root.locator(".gg-mon-shown")
    page.wait_for_function(f"document.querySelector('.gg-mon-shown')?.textContent.includes('step {step}')", timeout=20_000)
    assert "NaN" in shown.inner_text()
    root.locator(".gg-follow-latest").wait_for()
    root.locator(".gg-canvas").scroll_into_view_if_needed()
    try:
        root.locator(".gg-node.gg-nan-born").first.wait_for(timeout=20_000)
    finally:
        page.screenshot(path=str(SCREENSHOTS / "monitor-3-nan-step.png"))
    assert root.locator(".gg-node").count() >= 5
    assert "batch" in (root.locator(".gg-node.gg-nan-born").first.text_content() or "")   # born in the bad batch itself
    assert root.locator(".gg-steps").count() == 0 and root.locator(".gg-next").count() == 0   # no stepping here
    # inspecting a node there: its value arrives (and no breakpoint button is offered)
    root.locator(".gg-node.gg-nan-born").first.click()
    inspector = root.locator(".gg-inspector")
    inspector.locator(".gg-tensor").first.wait_for(timeout=20_000)
    assert not inspector.locator("text=breakpoint").is_visible()

    # the dark theme, switched live: the charts are redrawn in its colours, no reload (from the light
    # one: the theme is a setting the server keeps, and an earlier test may have left it dark)
    page.evaluate("() => jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' })")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
    page.wait_for_timeout(500)
    light_grid = loss.get_attribute("data-grid")
    page.evaluate("() => jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' })")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_function(f"document.querySelector(\".gg-chart[data-chart='loss']\").dataset.grid !== {json.dumps(light_grid)}",
                           timeout=20_000)
    root.locator(".gg-charts").scroll_into_view_if_needed()
    page.wait_for_function("!document.querySelector('#jupyterlab-splash')", timeout=20_000)   # the theme's splash gone
    page.screenshot(path=str(SCREENSHOTS / "monitor-4-dark.png"))
    page.evaluate("() => jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' })")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
    assert not [e for e in page.errors if "graphgrad" in e or "uPlot" in e], page.errors
