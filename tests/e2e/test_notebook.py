"""The widget in a real JupyterLab in Chromium: a notebook runs, the graph appears, a click
inspects a node (its shape), backward "next" moves the cursor and a gradient appears, the loss
chart gains points while a loop runs, and a module named like an HTML tag is shown as text."""
import json
import pathlib
import time

from conftest import EVIL, MLP_CELL, SCREENSHOTS, notebook, open_notebook, shot

CELLS = [
    MLP_CELL,
    # 2: a training-like loop feeding the monitor
    """mon = viz.monitor(interval=0.05)
for i in range(1500):
    mon.log(loss=1.0 / (1 + 0.01 * i), acc=min(1.0, i / 1000))
    time.sleep(0.01)
print("loop done")""",
]


def test_notebook_widget_end_to_end(lab, page):
    (lab["root"] / "widget.ipynb").write_text(json.dumps(notebook(CELLS)))
    open_notebook(page, f"{lab['url']}/lab/tree/widget.ipynb")
    page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")   # don't wait for it
    shot(page, "0-started")

    # the loss chart gains points while the loop still runs, and the last point arrives after it
    chart = page.locator(".gg-chart[data-chart='loss']")
    chart.wait_for(timeout=60_000)
    counts = []
    for _ in range(6):
        counts.append(int(chart.get_attribute("data-points") or 0))
        time.sleep(0.3)
    shot(page, "1-monitor-running")
    assert counts[-1] > counts[0] > 0, counts
    assert counts[0] < 1500, counts          # seen before the loop finished
    page.locator(".jp-OutputArea-output pre", has_text="loop done").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector(\".gg-chart[data-chart='loss']\")?.dataset.points === '1500'",
                           timeout=10_000)
    page.locator(".gg-chart[data-chart='acc']").wait_for()   # one chart per metric
    charts = page.locator(".gg-charts")
    charts.scroll_into_view_if_needed()
    charts.screenshot(path=str(SCREENSHOTS / "1b-charts.png"))

    # the graph is drawn
    graph = page.locator(".gg-root").first
    graph.locator(".gg-node").first.wait_for(timeout=30_000)
    graph.scroll_into_view_if_needed()
    assert graph.locator(".gg-node").count() >= 6
    shot(page, "2-graph")

    # HTML-looking names are text: the module's op is labelled with the tag literally, no <img> exists
    evil = graph.locator(".gg-label", has_text=EVIL)
    assert evil.count() == 1
    assert page.locator(".gg-root img").count() == 0
    assert page.dialogs == []

    # search for a parameter (a badge in the op that reads it), click it, read its shape in the inspector
    graph.locator(".gg-search").fill("fc1.weight")
    match = graph.locator(".gg-badge.gg-match")
    match.wait_for()
    match.click()
    inspector = graph.locator(".gg-inspector")
    assert inspector.locator("tr[data-prop='shape'] td").inner_text() == "[4, 3]"
    inspector.locator(".gg-figures[data-ready~='value']").wait_for()
    assert "no gradient yet" in inspector.locator(".gg-fig-note").inner_text()
    shot(page, "3-inspect-param")

    # backward "next": one real node runs; the cursor moves onto it; its gradient appears
    graph.locator(".gg-next").click()
    current = graph.locator(".gg-node.gg-current")
    current.wait_for()
    first = current.get_attribute("data-node")
    assert graph.locator(".gg-step-pos").inner_text().startswith("1")
    current.click()
    inspector.locator(".gg-figures[data-ready~='grad']").wait_for()
    assert "mean" in inspector.locator(".gg-insp-title").inner_text()   # the loss's node: MeanBackward0
    shot(page, "4-step-1")
    graph.locator(".gg-next").click()
    page.wait_for_function(
        f"document.querySelector('.gg-node.gg-current')?.getAttribute('data-node') !== '{first}'")
    # run to the end: the parameter's gradient is there
    graph.locator("button[title='Last step (run to the end)']").click()
    page.wait_for_function("document.querySelector('.gg-step-pos').textContent.includes('/')")
    graph.locator(".gg-search").fill("fc1.weight")
    graph.locator(".gg-badge.gg-match").click()
    inspector.locator(".gg-tab[data-tab='grad']").click()
    grad = inspector.locator(".gg-tensor[data-what='grad']")
    grad.locator(".gg-meta-line").wait_for()
    assert "[4, 3]" in grad.inner_text()
    shot(page, "5-backward-done")

    # the dark theme restyles the widget through JupyterLab's CSS variables
    page.evaluate("jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    time.sleep(1)
    bg = graph.evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), bg
    shot(page, "6-dark")
    # the theme is a user setting the server keeps: leave the light one for the tests after this
    page.evaluate("jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
    assert page.errors == [], page.errors


def open_and_run(lab, page, name):
    open_notebook(page, f"{lab['url']}/lab/tree/{name}")
    page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")   # don't wait for it


def test_example_tour_draws_every_widget(lab, page):
    import shutil
    src = pathlib.Path(__file__).resolve().parents[2] / "examples" / "widget_tour.ipynb"
    shutil.copy(src, lab["root"] / "tour.ipynb")
    open_and_run(lab, page, "tour.ipynb")
    page.locator(".jp-OutputArea-output pre", has_text="final loss").wait_for(timeout=90_000)
    roots = page.locator(".gg-root")
    page.wait_for_function("[...document.querySelectorAll('.gg-root')].filter(r => r.dataset.drawn).length === 3",
                           timeout=30_000)
    for i in range(3):
        roots.nth(i).scroll_into_view_if_needed()
        roots.nth(i).screenshot(path=str(SCREENSHOTS / f"tour-{i}.png"))
    assert page.locator(".gg-chart[data-chart='grad norm']").count() == 1
    assert page.errors == [], page.errors
