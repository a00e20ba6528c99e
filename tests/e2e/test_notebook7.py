"""The widget in Jupyter Notebook 7 (its own server and page, not JupyterLab's): the graph draws and a
click fills the inspector."""
import json

from conftest import EVIL, MLP_CELL, notebook, own_errors, shot

KERNEL_IDLE = ("jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle' && "
               "document.querySelector('.jp-Notebook')")


def test_notebook7_draws_and_inspects(nb7, page):
    (nb7["root"] / "nb7.ipynb").write_text(json.dumps(notebook([MLP_CELL])))
    page.goto(f"{nb7['url']}/notebooks/nb7.ipynb")
    page.wait_for_function("window.jupyterapp", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")

    graph = page.locator(".gg-root").first
    graph.locator(".gg-node").first.wait_for(timeout=60_000)
    assert graph.locator(".gg-node").count() >= 6
    assert graph.locator(".gg-label", has_text=EVIL).count() == 1
    assert page.locator(".gg-root img").count() == 0 and page.dialogs == []
    graph.locator(".gg-search").fill("fc1.weight")
    graph.locator(".gg-badge.gg-match").click()
    inspector = graph.locator(".gg-inspector")
    assert inspector.locator("tr[data-prop='shape'] td").inner_text() == "[4, 3]"
    inspector.locator(".gg-figures[data-ready~='value']").wait_for()
    shot(page, "nb7-inspect")
    assert own_errors(page) == [], page.errors

