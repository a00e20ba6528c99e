"""The README and the docs as a newcomer uses them: every ```python block runs as pasted, on its own
(a fresh interpreter; blocks marked ```python notebook in a kernel, with the names of the blocks
before them reset) and does what it says; the version lives in one place."""
import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.M | re.S)


def python_blocks(kind, pages=(README,)):
    """pytest params of the ```python blocks in `pages`: kind "script" (plain) or "notebook"."""
    blocks = []
    for page in pages:
        for n, (info, source) in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
            if ("notebook" in info.split()) == (kind == "notebook"):
                blocks.append(pytest.param(source, id=f"{page.relative_to(ROOT)}:{n}"))
    return blocks


def test_the_readme_has_the_blocks_it_promises():
    assert len(python_blocks("script")) >= 4
    assert len(python_blocks("notebook")) >= 3
    assert "docs/images/graph.png" in README.read_text(encoding="utf-8")


def run_pasted(source, folder):
    """The block saved as a file and run by a fresh interpreter, as a user pasting it would."""
    path = folder / "snippet.py"
    path.write_text(source)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=folder)


@pytest.mark.parametrize("source", python_blocks("script", PAGES))
def test_script_block_runs_as_pasted(source, tmp_path):
    done = run_pasted(source, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # what the comments promise is what prints (a tensor's rows wrap over lines)
    printed = " ".join(done.stdout.split())
    for expected in re.findall(r"print\(.*?\)\s+# (tensor\(.+?\)|graphgrad\.Size\(.+?\))(?::|$)", source, re.M):
        assert expected in printed, (expected, done.stdout)


def test_anomaly_mode_names_the_op_and_line(tmp_path):
    (source,) = [p.values[0] for p in python_blocks("script") if "detect_anomaly" in p.values[0]]
    done = run_pasted(source, tmp_path)
    assert "tensor([nan, 3.])" in done.stdout
    assert "Function 'SqrtBackward0' returned nan values" in done.stdout
    assert "`y = (x.sqrt() * x).sum()`" in done.stdout


@pytest.mark.parametrize("pages", [PAGES[:1], PAGES[1:]], ids=["README", "docs"])
def test_notebook_blocks_run_in_a_kernel_and_show_a_widget(pages, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    blocks = [p.values[0] for p in python_blocks("notebook", pages)]
    assert blocks
    # one kernel for all the blocks (a kernel starts slowly); each cell forgets the names before it
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%reset -f\n" + b) for b in blocks])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"], cell
        views = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert len(views) == 1, cell.source


def test_the_version_lives_in_one_place():
    import graphgrad
    from graphgrad import viz
    from graphgrad._version import __version__
    assert graphgrad.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", __version__)
    assert viz.GraphWidget().version == __version__              # the widget's footer shows it
    assert json.loads((ROOT / "package.json").read_text())["version"] == __version__
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
