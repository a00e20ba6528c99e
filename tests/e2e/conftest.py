"""JupyterLab 4 and Notebook 7 on localhost for the browser tests: a random free port, no token, a
temporary root folder; stopped after the tests. Runs only with GRAPHGRAD_E2E=1 (scripts/test sets it)."""
import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import browser

SCREENSHOTS = pathlib.Path(__file__).parent / "screenshots"


def pytest_collection_modifyitems(items):
    reason = None
    if os.environ.get("GRAPHGRAD_E2E") != "1":
        reason = "browser tests run with GRAPHGRAD_E2E=1 (scripts/test sets it)"
    elif not browser.available():
        reason = f"no Chromium at {browser.CHROMIUM} (apt-get install chromium)"
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


EVIL = "<img src=x onerror=alert(1)>"
# a tiny MLP by hand whose graph the widget shows; one parameter's module is named like an HTML tag
MLP_CELL = f"""import time
import graphgrad as gg
from graphgrad import viz
gg.manual_seed(0)
params = {{"fc1.weight": gg.randn(4, 3, requires_grad=True), "fc1.bias": gg.zeros(4, requires_grad=True),
          "fc2.weight": gg.randn(1, 4, requires_grad=True), {EVIL!r} + ".bias": gg.zeros(1, requires_grad=True)}}
x = gg.randn(5, 3)
h = (x @ params["fc1.weight"].t() + params["fc1.bias"]).relu()
loss = (h @ params["fc2.weight"].t() + params[{EVIL!r} + ".bias"]).pow(2).mean()
viz.show(loss, params=params, title="MLP", height=480)"""


def notebook(cells):
    """An .ipynb (as a dict) with these code cells, not run."""
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                       "source": src} for i, src in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def open_notebook(page, url):
    """Open a notebook in JupyterLab and wait until its kernel is idle (taking the kernel JupyterLab
    offers, if it asks which to start)."""
    page.goto(url)
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
    try:
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=8_000)
    except Exception:
        pass
    page.wait_for_function("document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle' && "
                           "!document.body.textContent.includes('No Kernel')", timeout=60_000)


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def own_errors(page):
    """The page's uncaught errors less one Notebook 7.6 throws by itself at load (its shortcuts plugin;
    a plain `1+1` notebook shows it too)."""
    return [e for e in page.errors
            if not (e.startswith("Cannot read properties of undefined (reading 'schema')") and "notebook_core." in e)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the two front ends users run: each server started as its own command line
APPS = {
    "lab": ["jupyterlab", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
    "notebook": ["notebook", "--JupyterNotebookApp.expose_app_in_browser=True"],
}


@contextlib.contextmanager
def jupyter(app, tmp_path_factory):
    """A Jupyter server (`python -m <app>`) on localhost: {"url", "root", "home"}."""
    root = tmp_path_factory.mktemp(app)
    home = tmp_path_factory.mktemp("home")
    port = free_port()
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    module, *app_args = APPS[app]
    cmd = [sys.executable, "-m", module, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           f"--ServerApp.root_dir={root}", *app_args]
    if app == "lab":   # no "news?" toast over the page (Notebook 7 asks nothing)
        settings = home / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log = open(home / "server.log", "w")  # noqa: SIM115  (the server writes to it while it runs)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{module} did not start:\n" + (home / "server.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield {"url": url, "root": root, "home": home}
    finally:   # the server and the kernels it started: their own process group
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        log.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab 4."""
    with jupyter("lab", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def nb7(tmp_path_factory):
    """Jupyter Notebook 7."""
    with jupyter("notebook", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    with browser.launch() as b:
        yield b


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    page.dialogs = []
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"{e}\n{e.stack}"))
    SCREENSHOTS.mkdir(exist_ok=True)
    yield page
    context.close()
