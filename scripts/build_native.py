"""Compile graphgrad's C kernels (engine/graphgrad/native/*.c) into extension modules beside them.

The build hook (scripts/hatch_build.py) runs this on every install; by hand, after changing a .c file:

    .venv/bin/python scripts/build_native.py

Only the standard library is used: the compiler and flags are the ones this Python was built with
(sysconfig), plus -ffp-contract=off, which the kernels need to give torch's numbers bit for bit. A
module is rebuilt when it is missing or older than its source. Where no C compiler is found, or the
compile fails, nothing is built and graphgrad computes the same numbers with NumPy, slower
(graphgrad.native says why it has no kernels)."""
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import sysconfig

NATIVE = pathlib.Path(__file__).resolve().parent.parent / "engine" / "graphgrad" / "native"
FLAGS = ["-O2", "-fPIC", "-fno-strict-aliasing", "-ffp-contract=off", "-fno-fast-math", "-Wall"]


def module_path(source):
    return source.with_name("_" + source.stem + sysconfig.get_config_var("EXT_SUFFIX"))


def compile_command(source, target):
    """The command that builds one module: this Python's shared-library link line (LDSHARED: gcc
    -shared on Linux, clang -bundle -undefined dynamic_lookup on macOS) with its headers."""
    link = shlex.split(sysconfig.get_config_var("LDSHARED") or "cc -shared")
    include = sysconfig.get_paths()["include"]
    return [*link, *FLAGS, f"-I{include}", str(source), "-o", str(target), "-lm"]


def build(native=NATIVE, log=sys.stderr):
    """Build every stale module; returns the modules that are up to date afterwards."""
    built = []
    for source in sorted(native.glob("*.c")):
        target = module_path(source)
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            built.append(target)
            continue
        command = compile_command(source, target)
        if shutil.which(command[0]) is None:
            print(f"graphgrad: no C compiler ({command[0]}) found; {source.name} not built, so graphgrad "
                  f"draws randn and randperm with NumPy (the same numbers, several times slower)", file=log)
            continue
        print(f"graphgrad: compiling {source.name} ({' '.join(command[:1] + FLAGS[:1])} ...)", file=log)
        # into a new file, then moved over the old one: a process that has the old one loaded keeps it
        fresh = target.with_name(target.name + ".new")
        command[command.index(str(target))] = str(fresh)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"graphgrad: compiling {source.name} failed; graphgrad draws with NumPy instead "
                  f"(the same numbers, slower). The compiler said:\n{done.stderr}", file=log)
            fresh.unlink(missing_ok=True)
            continue
        os.replace(fresh, target)
        built.append(target)
    return built


if __name__ == "__main__":
    print("\n".join(str(p) for p in build()) or "nothing built")
