"""The checked-in type stubs (engine/graphgrad/tensor.pyi, ops/__init__.pyi) are what
scripts/gen_tensor_stub.py writes from the ops' declarations: an op added or changed without
regenerating them fails here, so editors always complete what Tensor really has."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUBS = [ROOT / "engine" / "graphgrad" / "tensor.pyi", ROOT / "engine" / "graphgrad" / "ops" / "__init__.pyi"]


def test_the_stubs_are_current():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_tensor_stub.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_stubs_name_the_generated_methods():
    for path in STUBS:
        ast.parse(path.read_text(), str(path))  # valid stub syntax
    tensor = ast.parse(STUBS[0].read_text())
    (cls,) = [node for node in tensor.body if isinstance(node, ast.ClassDef) and node.name == "Tensor"]
    methods = {node.name for node in cls.body if isinstance(node, ast.FunctionDef)}
    assert {"exp", "exp_", "add", "__add__", "__radd__", "__iadd__", "sum", "reshape", "clip_", "backward"} <= methods
