"""graphgrad's layers import downward only: import-linter's contracts in pyproject.toml (the layer
list) hold for the package, and break when a lower layer imports a higher one. Imports inside
functions count as well: a lazy import is no way around a layer."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "engine" / "graphgrad"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"   # import-linter, from the test extra


def lint_imports(search_path):
    """Run the contracts on the graphgrad found first on `search_path`."""
    env = dict(os.environ, PYTHONPATH=str(search_path))
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_import_downward_only():
    result = lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_import_from_a_higher_layer_breaks_the_contract(tmp_path):
    """The check is not vacuous: ops (layer 3) importing the backward engine (autograd, layer 4)
    inside a function, as the core once did to get round a cycle, fails it."""
    copy = tmp_path / "graphgrad"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "labextension"))
    with open(copy / "ops" / "util.py", "a") as f:
        f.write("\n\ndef _reaches_up():\n    from ..autograd import engine\n    return engine\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "graphgrad.ops is not allowed to import graphgrad.autograd" in result.stdout
    assert "graphgrad.ops.util -> graphgrad.autograd.engine" in result.stdout
