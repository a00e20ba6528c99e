"""graphgrad's JupyterLab extension (src/) in a real JupyterLab and Notebook 7, in Chromium: a notebook run
and saved in JupyterLab shows its graphs and curves again from the saved outputs after the server is
restarted (a fresh kernel, so no widget model: trusted, and untrusted as a shared notebook is); a
.ggtrace file opens in the graphgrad viewer with a double-click in the file browser; a corrupted one says
what is wrong; the palette and launcher commands work."""
import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from conftest import MLP_CELL, jupyter, notebook, own_errors, shot

MIME = "application/vnd.graphgrad.graph+json"
MONITOR_CELL = """mon = viz.monitor()
for i in range(300):
    mon.log(loss=1.0 / (1 + 0.02 * i), acc=min(1.0, i / 200))
print("loop done")"""
TRACE_CELL = """from graphgrad import nn
gg.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
with gg.trace(model) as t:
    out = nn.functional.cross_entropy(model(gg.randn(16, 4)), gg.randint(0, 3, (16,)))
    out.backward()
t.save("run.ggtrace", title="traced MLP")"""


def test_the_extension_is_installed_and_enabled():
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True)
    listing = out.stdout + out.stderr
    line = next((ln for ln in listing.splitlines() if "graphgrad v" in ln), "")
    assert "enabled" in line and "OK" in line, listing


def open_lab(page, server, path=""):
    """JupyterLab on `path`, or with a fresh workspace (no tabs left by the tests before)."""
    page.goto(f"{server['url']}/lab" + (f"/tree/{path}" if path else "?reset"))
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-LabShell')", timeout=60_000)


def wait_idle(page):
    try:   # JupyterLab may still ask which kernel to start: take the one offered (the notebook's)
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=8_000)
    except Exception:
        pass
    page.wait_for_function("document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle' && "
                           "!document.body.textContent.includes('No Kernel')", timeout=60_000)


def drawn(page, root, nodes=5):
    """Wait for a graph view in `root` (a locator) to draw at least `nodes` boxes."""
    root.locator(".gg-node:visible").nth(nodes - 1).wait_for(timeout=60_000)


def inspected(root, stat="max"):
    """The inspector's figure for the selected node's value, once shown (a saved statistic)."""
    cell = root.locator(f".gg-inspector tr[data-stat='{stat}'] td").first
    cell.wait_for(timeout=15_000)
    return cell.inner_text()


@pytest.fixture(scope="module")
def saved_in_lab(lab, chromium):
    """The notebook run in JupyterLab and saved there (its outputs as JupyterLab writes them)."""
    (lab["root"] / "saved.ipynb").write_text(json.dumps(notebook([MLP_CELL, MONITOR_CELL, TRACE_CELL])))
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_lab(page, lab, "saved.ipynb")
    wait_idle(page)
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    page.locator(".jp-OutputArea-output pre", has_text="loop done").wait_for(timeout=120_000)
    page.wait_for_function("document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'")
    page.wait_for_timeout(1500)   # the monitor's output is updated after its cell (its saved curves)
    drawn(page, page.locator(".gg-root").first)
    shot(page, "ext-0-live")
    page.evaluate("() => jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("!document.querySelector('.jp-mod-dirty')", timeout=30_000)
    context.close()
    return lab["root"] / "saved.ipynb"


def test_saved_notebook_is_small_and_carries_saved_views(saved_in_lab):
    nb = json.loads(saved_in_lab.read_text())
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    views = [o["data"][MIME] for o in outputs if MIME in o.get("data", {})]
    assert len(views) == 2
    graph_view, monitor_view = views
    assert len(graph_view["graph"]["nodes"]) >= 10 and graph_view["tensors"]
    assert {c["chart"] for c in monitor_view["curves"]} >= {"loss"} and len(monitor_view["curves"][0]["x"]) > 100
    assert saved_in_lab.stat().st_size < 1_000_000


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_reopened_without_its_kernel_the_notebook_shows_graphs_and_curves(saved_in_lab, trusted, tmp_path_factory, page):
    with jupyter("lab", tmp_path_factory) as server:   # a new server: the widgets' kernel is gone
        path = server["root"] / "saved.ipynb"
        shutil.copy(saved_in_lab, path)
        if trusted:   # as the user's own JupyterLab keeps it: signed in the server's notary
            nb = nbformat.read(path, as_version=4)
            NotebookNotary(data_dir=str(server["home"] / ".local" / "share" / "jupyter")).sign(nb)
        open_lab(page, server, "saved.ipynb")
        roots = page.locator(".jp-OutputArea-output .gg-root")
        roots.nth(1).wait_for(timeout=60_000)
        assert roots.count() == 2
        graph, monitor = roots.nth(0), roots.nth(1)
        drawn(page, graph, 10)
        assert "saved output" in page.locator(".jp-OutputArea-output .gg-saved-note").first.inner_text()
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        # the monitor's curves, from the saved points
        loss = monitor.locator(".gg-chart[data-chart='loss']")
        loss.wait_for(timeout=30_000)
        page.wait_for_function("Number(document.querySelector(\".gg-chart[data-chart='loss']\").dataset.points) > 100")
        monitor.scroll_into_view_if_needed()
        shot(page, f"ext-1-reopened-{'trusted' if trusted else 'untrusted'}-curves")
        # interactive: search, click a node (the loss: its value was saved), read its saved statistics; no stepping
        graph.scroll_into_view_if_needed()
        graph.locator(".gg-search").fill("mean")
        match = graph.locator(".gg-node.gg-match", has_text="mean")
        match.wait_for()
        match.click()
        nb = json.loads(saved_in_lab.read_text())
        view = next(o["data"][MIME] for c in nb["cells"] for o in c.get("outputs", []) if MIME in o.get("data", {}))
        loss_id = next(n["id"] for n in view["graph"]["nodes"] if n["op"] == "mean")
        saved_max = next(t["stats"][2] for t in view["tensors"] if t["node"] == loss_id and t["what"] == "value")
        assert inspected(graph) == f"{saved_max:.5g}"
        assert graph.locator(".gg-next").count() == 0
        shot(page, f"ext-2-reopened-{'trusted' if trusted else 'untrusted'}-graph")
        assert own_errors(page) == [], page.errors


@pytest.fixture(scope="module")
def traces(saved_in_lab):
    """run.ggtrace (written by the notebook's Trace.save) and a corrupted copy, beside the notebook."""
    root = saved_in_lab.parent
    good = root / "run.ggtrace"
    assert good.exists()
    (root / "broken.ggtrace").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    return root


def double_click(page, name):
    page.evaluate("() => jupyterapp.commands.execute('filebrowser:refresh')")
    item = page.locator(f".jp-DirListing-item[title^='Name: {name}']")
    item.wait_for(timeout=30_000)
    item.dblclick()


def test_a_trace_opens_with_a_double_click(lab, traces, page):
    open_lab(page, lab)
    double_click(page, "run.ggtrace")
    doc = page.locator(".jp-MainAreaWidget .gg-document .gg-root")
    doc.wait_for(timeout=60_000)
    drawn(page, doc, 6)
    assert "traced MLP" in page.locator(".gg-document .gg-saved-note").inner_text()
    # the stored statistics of a parameter, in the inspector
    doc.locator(".gg-node:visible", has_text="linear").first.click()   # a traced op: its value and gradient were saved
    assert inspected(doc) not in ("", "–")
    shot(page, "ext-3-trace-document")
    assert own_errors(page) == [], page.errors
    # the viewer is offered for "Open With", and the palette's command opens it too
    factories = page.evaluate("() => jupyterapp.docRegistry.preferredWidgetFactories('run.ggtrace').map(f => f.name)")
    assert "graphgrad viewer" in factories
    page.evaluate("() => jupyterapp.commands.execute('graphgrad:open-trace', {path: 'run.ggtrace'})")
    assert page.evaluate("() => jupyterapp.commands.hasCommand('graphgrad:open-trace')")


def test_a_corrupted_trace_says_what_is_wrong(lab, traces, page):
    open_lab(page, lab)
    double_click(page, "broken.ggtrace")
    error = page.locator(".gg-document .gg-error")
    error.wait_for(timeout=60_000)
    text = error.inner_text()
    assert "graphgrad cannot show this trace file" in text and ("truncated" in text or "corrupted" in text), text
    shot(page, "ext-4-corrupted-trace")


def test_launcher_item_opens_the_tour(lab, page):
    open_lab(page, lab)
    page.evaluate("() => jupyterapp.commands.execute('launcher:create')")
    item = page.locator(".jp-LauncherCard:visible", has_text="New graphgrad notebook")
    item.wait_for(timeout=30_000)
    shot(page, "ext-5-launcher")
    item.click()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    tour = json.loads((lab["root"] / "graphgrad_tour.ipynb").read_text())
    assert any("viz.show" in "".join(c["source"]) for c in tour["cells"])


def test_notebook7_shows_the_saved_outputs(nb7, saved_in_lab, page):
    shutil.copy(saved_in_lab, nb7["root"] / "saved.ipynb")
    page.goto(f"{nb7['url']}/notebooks/saved.ipynb")
    roots = page.locator(".jp-OutputArea-output .gg-root")
    roots.nth(1).wait_for(timeout=60_000)
    drawn(page, roots.nth(0), 10)
    shot(page, "ext-6-notebook7-saved")
    assert own_errors(page) == [], page.errors


def test_without_the_extension_the_kernel_sends_the_front_end(tmp_path_factory, page):
    """Where no graphgrad extension runs (VS Code, Colab; here JupyterLab with it disabled) the widget's
    small loader gets the front end from the kernel: pushed while the monitor's loop keeps the kernel
    busy (the curves grow before the loop ends), asked for by the graph shown after it."""
    slow_loop = """mon = viz.monitor()
for i in range(400):
    mon.log(loss=1.0 / (1 + 0.02 * i))
    time.sleep(0.01)
print("loop done")"""
    with jupyter("lab", tmp_path_factory) as server:
        labconfig = server["home"] / "config" / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": {"graphgrad": True}}))
        (server["root"] / "live.ipynb").write_text(json.dumps(notebook([MLP_CELL, slow_loop])))
        open_lab(page, server, "live.ipynb")
        wait_idle(page)
        assert page.evaluate("() => globalThis.graphgradFrontEnd === undefined")   # the extension is off
        page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")
        chart = page.locator(".gg-chart[data-chart='loss']")
        chart.wait_for(timeout=60_000)
        done = page.locator(".jp-OutputArea-output pre", has_text="loop done")
        assert done.count() == 0 and int(chart.get_attribute("data-points") or 0) < 400
        done.wait_for(timeout=60_000)
        drawn(page, page.locator(".jp-OutputArea-output .gg-root").first, 10)
        shot(page, "ext-7-no-extension-live")
        assert own_errors(page) == [], page.errors
