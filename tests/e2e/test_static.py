"""A notebook saved with its outputs and opened without running (it was run elsewhere: the server never
ran it, so it opens untrusted, as a shared notebook does) shows the graph the widget saved beside its
live view, drawn by graphgrad's JupyterLab extension, in JupyterLab and in Notebook 7 (the static
picture it also saves, text/html, is for nbconvert and nbviewer: tests/test_viz_static.py). The
extension's own tests: tests/e2e/test_extension.py."""
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import MLP_CELL, notebook, own_errors, shot

PAGES = {"lab": "lab/tree", "nb7": "notebooks"}


@pytest.fixture(scope="module")
def saved():
    nb = nbformat.from_dict(notebook([MLP_CELL]))
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    return nb


@pytest.mark.parametrize("app", PAGES)
def test_saved_outputs_show_the_saved_graph(app, saved, page, request):
    server = request.getfixturevalue(app)
    nbformat.write(saved, str(server["root"] / "saved.ipynb"))
    page.goto(f"{server['url']}/{PAGES[app]}/saved.ipynb")
    view = page.locator(".jp-Notebook .gg-saved")
    view.locator(".gg-node:visible").first.wait_for(timeout=60_000)
    assert "saved output" in view.locator(".gg-saved-note").inner_text()
    assert page.locator(".gg-static").count() == 0 and page.dialogs == []
    shot(page, f"{app}-saved-static")
    assert own_errors(page) == [], page.errors
