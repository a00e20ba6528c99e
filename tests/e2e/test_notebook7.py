"""The widget in Jupyter Notebook 7 (its own server and page, not JupyterLab's): the graph draws and a
click fills the inspector; a notebook saved with its outputs and opened without running shows the static
picture the widget left beside its live view."""
import json

import nbformat
from nbclient import NotebookClient

from conftest import EVIL, MLP_CELL, SCREENSHOTS, notebook, shot

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
    assert graph.locator(".gg-node").count() >= 10
    assert graph.locator(".gg-group-title", has_text=EVIL).count() == 1
    assert page.locator(".gg-root img").count() == 0 and page.dialogs == []
    graph.locator(".gg-search").fill("fc1.weight")
    graph.locator(".gg-node.gg-match").click()
    inspector = graph.locator(".gg-inspector")
    assert inspector.locator("tr[data-prop='shape'] td").inner_text() == "[4, 3]"
    inspector.locator(".gg-tensor[data-what='value'] .gg-stats").wait_for()
    shot(page, "nb7-inspect")
    assert own_errors(page) == [], page.errors


def test_saved_outputs_show_the_static_graph_without_a_kernel(nb7, page):
    # run elsewhere (nbclient) and saved: this server never ran it, so it opens as an untrusted file does
    nb = nbformat.from_dict(notebook([MLP_CELL]))
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    nbformat.write(nb, str(nb7["root"] / "saved.ipynb"))
    page.goto(f"{nb7['url']}/notebooks/saved.ipynb")
    picture = page.locator(".jp-OutputArea-output .gg-static img")
    picture.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('.gg-static img').naturalWidth > 100")   # the SVG decoded
    assert "static snapshot" in page.locator(".gg-static").inner_text()
    assert page.locator(".gg-root").count() == 0 and page.dialogs == []
    shot(page, "nb7-saved-static")
    assert own_errors(page) == [], page.errors


def own_errors(page):
    # Notebook 7.6's shortcuts plugin throws once on its own at page load (a plain `1+1` notebook too)
    return [e for e in page.errors if "/static/notebook/notebook_core." not in e]
