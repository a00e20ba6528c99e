"""The README's notebook blocks (```python notebook) run in JupyterLab, each draws its widget, and the
first one's picture becomes the README's: docs/images/graph.png, 1280 px wide.

Re-take the picture after changing the widget (needs Debian's Chromium):

    GRAPHGRAD_E2E=1 .venv/bin/python -m pytest -q tests/e2e/test_readme_picture.py
"""
import json
import pathlib
import sys

from conftest import notebook, own_errors
from test_notebook import open_and_run

ROOT = pathlib.Path(__file__).resolve().parents[2]
PICTURE = ROOT / "docs" / "images" / "graph.png"
WIDTH = 1280
sys.path.insert(0, str(ROOT / "tests"))
from test_readme import python_blocks  # noqa: E402


def test_readme_notebook_blocks_draw_and_make_the_picture(lab, page):
    import graphgrad
    cells = [p.values[0] for p in python_blocks("notebook")]
    (lab["root"] / "readme.ipynb").write_text(json.dumps(notebook(cells)))
    page.set_viewport_size({"width": WIDTH, "height": 1200})
    open_and_run(lab, page, "readme.ipynb")
    page.evaluate("() => jupyterapp.shell.collapseLeft()")
    page.locator(".jp-OutputArea-output pre", has_text="final loss").wait_for(timeout=120_000)
    roots = page.locator(".gg-root")
    page.wait_for_function(f"[...document.querySelectorAll('.gg-root')].filter(r => r.dataset.drawn).length"
                           f" >= {len(cells)}", timeout=60_000)
    for i in range(len(cells)):   # every widget says which graphgrad drew it
        assert roots.nth(i).locator(".gg-footer").inner_text() == f"graphgrad {graphgrad.__version__}"

    # the first block's graph, with a node inspected, as a newcomer sees it
    graph = roots.first
    graph.scroll_into_view_if_needed()
    graph.locator(".gg-search").fill("conv")
    graph.locator(".gg-node.gg-match").first.click()
    graph.locator(".gg-inspector", has_text="ConvolutionBackward0").wait_for()
    graph.evaluate("e => e.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(500)   # the scroll and the inspector's canvases settle
    box = graph.bounding_box()
    top = max(0, box["y"] - 8)
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PICTURE), clip={"x": 0, "y": top, "width": WIDTH,
                                             "height": box["y"] + box["height"] + 8 - top})
    assert own_errors(page) == [], page.errors
