"""The examples run as a user runs them, and print what they promise: the scripts in a fresh
interpreter, the notebooks top to bottom in a kernel (their widgets are built in Python; the browser
tests draw them)."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = pathlib.Path(ROOT) / "examples"


def run_example(name):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_train_digits_learns_and_shows_the_recorded_step():
    stdout = run_example("train_digits.py")
    accuracy = float(stdout.split("test accuracy ")[-1].split()[0])
    assert accuracy > 0.93
    assert "linear         model.1    [64, 128]  AddmmBackward0" in stdout
    assert "nll_loss       loss_fn" in stdout


def test_second_order_example_finds_rosenbrocks_minimum_and_steps_a_custom_function():
    stdout = run_example("second_order.py")
    assert "dy/dx = 12, d2y/dx2 = 12" in stdout
    assert "newton step 6: p = [1.000000, 1.000000]" in stdout
    heading = "the backward pass, one node per debugger step:"
    assert heading in stdout and stdout.index(heading) < stdout.index("  step 0: SumBackward0")
    assert "RoundStraightThroughBackward, the backward of the forward op 'RoundStraightThrough'" in stdout
    assert "t.grad = tensor([ 6., 30.])" in stdout  # d/dt round(3t)^2 taken as 2 * round(3t) * 3


def test_debug_nan_example_stops_at_the_sqrt_and_says_it_in_words():
    stdout = run_example("debug_nan.py")
    assert "breakpoint: nan first appeared in a gradient at SqrtBackward0" in stdout
    assert "(SqrtBackward0): it received a finite gradient and sent on 1 NaN of 8" in stdout
    assert "anomaly mode: Function 'SqrtBackward0' returned nan values" in stdout


# each notebook: how many widgets it shows, and a line it prints
NOTEBOOKS = {
    "01_graph.ipynb": (2, "the first relu: "),
    "02_step_backward.ipynb": (1, "model.0.weight.grad matches: True"),
    "03_live_training.ipynb": (2, "test accuracy 0.9"),   # the monitor and tqdm's bar
    "04_resnet18.ipynb": (3, "losses: "),                 # two tqdm bars and the graph
}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_example_notebook_runs(name):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    widgets, line = NOTEBOOKS[name]
    assert len(views) == widgets
    assert line in "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")


def test_every_example_notebook_is_tested_and_saved_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    numbered = sorted(p.name for p in EXAMPLES.glob("[0-9][0-9]_*.ipynb"))
    assert numbered == sorted(NOTEBOOKS)
    for path in EXAMPLES.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
