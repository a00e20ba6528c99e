"""Render benchmark: a 5,000-node trace laid out and first drawn by the widget in headless Chromium.

    .venv/bin/python bench/render.py            # prints one line per case; screenshots in bench/results/

Times run from the widget's render() call to the second animation frame after the graph is drawn
(so the first paint is included). Target: at most 2 s for the 5,000-node trace."""
import functools
import http.server
import pathlib
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from browser import launch  # noqa: E402

from graphgrad.viz import synthetic  # noqa: E402

CASES = [  # (what, blocks, fold depth): 179 blocks is 5,022 nodes
    ("5,022-node trace, default view (modules unfolded outermost first up to ~200 boxes)", 179, 0),
    ("5,022-node trace, every module unfolded", 179, -1),
    ("1,002-node trace, every module unfolded", 35, -1),
    ("122-node trace (4 blocks), every module unfolded", 4, -1),
]


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
        for i, (what, blocks, depth) in enumerate(CASES):
            graph = synthetic.transformer(blocks)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_function("window.ready === true")
            state = {"graph": graph, "steps": {"available": False, "mode": "none"}, "panels": ["graph", "inspector"],
                     "fold_depth": depth, "height": 700, "title": "", "protocol_version": 1}
            r = page.evaluate("s => start(s)", state)
            page.screenshot(path=str(out / f"render_{i}.png"))
            print(f"{what}: {r['ms']:.0f} ms to first draw (layout {r['layout']:.0f} ms, draw {r['draw']:.0f} ms, "
                  f"{r['nodes']} boxes, {r['edges']} edges drawn)")
            page.close()
    server.shutdown()


if __name__ == "__main__":
    main()
