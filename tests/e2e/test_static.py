"""A notebook saved with its outputs and opened without running (it was run elsewhere: the server never
ran it, so it opens untrusted, as a shared notebook does) shows the static picture the widget left
beside its live view, in JupyterLab and in Notebook 7."""
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
def test_saved_outputs_show_the_static_graph(app, saved, page, request):
    server = request.getfixturevalue(app)
    nbformat.write(saved, str(server["root"] / "saved.ipynb"))
    page.goto(f"{server['url']}/{PAGES[app]}/saved.ipynb")
    page.locator(".jp-OutputArea-output .gg-static img").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('.gg-static img').naturalWidth > 100")   # the SVG decoded
    assert "static snapshot" in page.locator(".gg-static").inner_text()
    assert page.locator(".gg-root").count() == 0 and page.dialogs == []
    shot(page, f"{app}-saved-static")
    assert own_errors(page) == [], page.errors
