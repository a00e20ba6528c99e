"""The example scripts run as a user runs them, and print what they promise."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    assert "RoundStraightThroughBackward, the backward of the forward op 'RoundStraightThrough'" in stdout
    assert "t.grad = tensor([ 6., 30.])" in stdout  # d/dt round(3t)^2 taken as 2 * round(3t) * 3
