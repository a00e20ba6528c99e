"""`pip install .` without Node.js: a widget bundle already built is used; without one, the build
says what to do (Node 20+, or a built wheel) instead of "could not find cmd (npm)"."""
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATIC = pathlib.Path("engine/graphgrad/viz/static")


def project_copy(tmp_path):
    """The files a wheel is built from, without node_modules and without a built bundle."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "static", "*.pyc", "*.so")  # as a fresh checkout
    for name in ("engine", "js"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "package.json", "package-lock.json",
                 "scripts/hatch_build.py", "scripts/build_native.py"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, src / name)
    return src


def wheel_without_node(src, out, extra_path=None):
    """`pip wheel .` with a PATH that has Python but no npm (-v: with what the build hook says)."""
    path = os.pathsep.join(filter(None, [os.path.dirname(sys.executable), extra_path]))
    env = dict(os.environ, PATH=path, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", str(src), "--no-deps", "-w", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_a_built_bundle_installs_without_node(tmp_path):
    src = project_copy(tmp_path)
    (src / STATIC).mkdir()
    for name in ("widget.js", "widget.css"):
        (src / STATIC / name).write_text("/* built */")
    done = wheel_without_node(src, tmp_path / "dist")
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("graphgrad-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "graphgrad/viz/static/widget.js" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    # no C compiler on that PATH either: the kernels are not built, and the build says so
    assert "no C compiler" in done.stderr + done.stdout
    assert not any(n.endswith(".so") for n in names) and wheel.name.endswith("-py3-none-any.whl")


@pytest.mark.slow
def test_a_wheel_carries_the_compiled_kernels(tmp_path):
    """With a C compiler (and a built bundle), the wheel carries graphgrad/native's module and is
    tagged for this Python and platform."""
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    src = project_copy(tmp_path)
    (src / STATIC).mkdir()
    for name in ("widget.js", "widget.css"):
        (src / STATIC / name).write_text("/* built */")
    tools = tmp_path / "bin"  # the compiler and its assembler and linker on PATH, and no Node
    tools.mkdir()
    for name in ("gcc", "as", "ld"):
        (tools / name).symlink_to(shutil.which(name))
    done = wheel_without_node(src, tmp_path / "dist", extra_path=str(tools))
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("graphgrad-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("graphgrad/native/_kernels.") and n.endswith(".so") for n in names), names
    assert "-py3-none-any" not in wheel.name


@pytest.mark.slow
def test_no_bundle_and_no_node_says_what_to_do(tmp_path):
    done = wheel_without_node(project_copy(tmp_path), tmp_path / "dist")
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "needs Node.js 20 or newer with npm on PATH" in out
    assert "pip install dist/graphgrad-*.whl" in out
    assert "Traceback" not in out
