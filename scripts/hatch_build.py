"""Hatch build hook: bundles the notebook widget's front end (js/ -> engine/graphgrad/viz/static)
with npm when the bundle is missing or older than its sources, builds the JupyterLab extension
(src/ -> engine/graphgrad/labextension, see build_labextension), and compiles the C kernels
(engine/graphgrad/native, see build_native).

Node.js is needed only to build from source. A bundle already built is used as it is when npm is
not on PATH (with a note if js/ changed since), so a wheel, or a checkout whose bundle was built
once, installs without Node. With neither npm nor a bundle, the build stops with a message that
says what to do instead of a bare "could not find npm"."""
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TARGETS = ("engine/graphgrad/viz/static/widget.js", "engine/graphgrad/viz/static/widget.css")
SOURCES = ("js", "package.json", "package-lock.json")
LABEXTENSION = "engine/graphgrad/labextension"

NO_NODE = """
graphgrad: the notebook widget's front end (TypeScript in js/) is not built, and building it from
source needs Node.js 20 or newer with npm on PATH; npm was not found.

Either
  - install Node.js (https://nodejs.org or your system's package manager) and run this again, or
  - install a built wheel instead, which needs no Node: build it once where Node is available,
        pip wheel . --no-deps -w dist
    and install that file anywhere:  pip install dist/graphgrad-*.whl
"""


def newest_mtime(root, names):
    times = [0.0]
    for name in names:
        path = root / name
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        times += [p.stat().st_mtime for p in files if "test" not in p.relative_to(root).parts[:2]]
    return max(times)


class WidgetBundleHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        root = pathlib.Path(self.root)
        self.bundle_widget(root)
        self.build_labextension(root, build_data)
        self.build_native(root, build_data)

    def build_native(self, root, build_data):
        """graphgrad's C kernels (scripts/build_native.py), compiled beside their sources; a wheel that
        carries them is tagged for this Python and platform. Without a compiler none is built, and
        graphgrad computes the same numbers with NumPy."""
        spec = importlib.util.spec_from_file_location("build_native", root / "scripts" / "build_native.py")
        assert spec is not None and spec.loader is not None
        build_native = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(build_native)
        if build_native.build(root / "engine" / "graphgrad" / "native"):
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def bundle_widget(self, root):
        targets = [root / t for t in TARGETS]
        built = all(t.exists() for t in targets)
        stale = not built or min(t.stat().st_mtime for t in targets) < newest_mtime(root, SOURCES)
        if not stale:
            return
        npm = shutil.which("npm")
        if npm is None:
            if built:
                print("graphgrad: npm not found; using the widget bundle already built in "
                      "engine/graphgrad/viz/static (older than js/)", file=sys.stderr)
                return
            raise SystemExit(NO_NODE)   # the message alone, no traceback
        print("graphgrad: building the widget's front end with npm (npm install, npm run build)", file=sys.stderr)
        env = dict(os.environ, npm_config_fund="false", npm_config_audit="false")
        subprocess.run([npm, "install"], cwd=root, env=env, check=True)
        subprocess.run([npm, "run", "build"], cwd=root, env=env, check=True)
        missing = [str(t) for t in targets if not t.exists()]
        if missing:
            raise RuntimeError(f"graphgrad: `npm run build` did not make {', '.join(missing)}")

    def build_labextension(self, root, build_data):
        """The JupyterLab extension (src/ -> engine/graphgrad/labextension), shipped where JupyterLab finds
        it (share/jupyter/labextensions/graphgrad; an editable install copies it there too). src/build.mjs
        rebuilds it only when its inputs changed. Without Node an extension already built is shipped; with
        neither, none is (the widget still works: its kernel sends it the front end)."""
        out = root / LABEXTENSION
        node = shutil.which("node")
        if node is not None:
            print("graphgrad: building the JupyterLab extension (node src/build.mjs)", file=sys.stderr)
            env = dict(os.environ, GRAPHGRAD_PYTHON=sys.executable, npm_config_fund="false", npm_config_audit="false")
            subprocess.run([node, "src/build.mjs"], cwd=root, env=env, check=True)
        if not (out / "package.json").exists() or not any(out.glob("static/remoteEntry.*.js")):
            print("graphgrad: no JupyterLab extension built (Node.js not found); saved notebooks will not show "
                  "their graphs without a kernel", file=sys.stderr)
            return
        shared = build_data.setdefault("shared_data", {})
        for path in out.rglob("*"):
            if path.is_file():
                shared[str(path)] = f"share/jupyter/labextensions/graphgrad/{path.relative_to(out).as_posix()}"
        if not (out / "install.json").exists():  # (src/build.mjs copies it into the build)
            shared[str(root / "src" / "install.json")] = "share/jupyter/labextensions/graphgrad/install.json"
