"""Render benchmark: real and synthetic traces laid out and first drawn by the widget in headless Chromium.

    .venv/bin/python bench/render.py            # one line per case; screenshots in bench/results/

Times run from the widget's render() call to the second animation frame after the graph is drawn
(so the first paint is included), in a fresh page each (a cold ELK: the page's first view). Panning
is timed over 60 animation frames that each move the view. Targets (issue 12): resnet18's first view
<= 1 s; a 50,000-node trace first drawn <= 3 s and panned at >= 30 frames a second."""
import functools
import http.server
import pathlib
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser import launch  # noqa: E402

from graphgrad.viz import synthetic  # noqa: E402

def resnet18_graph():
    import graphgrad as gg
    from graphgrad import models, nn
    from graphgrad.viz.sources import TraceSource
    gg.manual_seed(0)
    model = models.resnet18()
    x, y = gg.randn(4, 3, 32, 32), gg.tensor([1, 2, 3, 4])
    with gg.trace(model) as t:
        nn.functional.cross_entropy(model(x), y).backward()
    return TraceSource(t).graph


CASES = [  # (what, graph maker, fold depth): 179 synthetic blocks is 5,022 nodes, 1,790 is 50,122
    ("resnet18 traced at 4x3x32x32, first view", resnet18_graph, 0),
    ("resnet18, every module unfolded", resnet18_graph, -1),
    ("5,022-node trace, first view", lambda: synthetic.transformer(179), 0),
    ("5,022-node trace, every module unfolded", lambda: synthetic.transformer(179), -1),
    ("50,122-node trace, first view", lambda: synthetic.transformer(1790), 0),
    ("50,122-node trace, every module unfolded", lambda: synthetic.transformer(1790), -1),
]

PAN = """async () => {
  const view = document.getElementById("host").__graphgrad.view;
  const frames = 60, t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    view.pan(i % 2 ? -37 : 41, i % 3 ? 23 : -19);
    await new Promise((r) => requestAnimationFrame(() => r()));
  }
  return frames / ((performance.now() - t0) / 1000);
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    server = serve()
    url = f"http://127.0.0.1:{server.server_address[1]}/bench/render_harness.html"
    with launch() as browser:
        for i, (what, make, depth) in enumerate(CASES):
            graph = make()
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_function("window.ready === true")
            state = {"graph": graph, "steps": {"available": False, "mode": "none"}, "panels": ["graph", "inspector"],
                     "fold_depth": depth, "height": 700, "title": "", "protocol_version": 1}
            r = page.evaluate("s => start(s)", state)
            page.screenshot(path=str(out / f"render_{i}.png"))
            fps = page.evaluate(PAN)
            print(f"{what}: {r['ms']:.0f} ms to first draw (prepare {r['prepare']:.0f} ms, "
                  f"layout {r['layout']:.0f} ms, draw {r['draw']:.0f} ms, {r['nodes']} boxes, "
                  f"{r['edges']} edges drawn); panned at {fps:.0f} frames/s")
            page.close()
    server.shutdown()


if __name__ == "__main__":
    main()
