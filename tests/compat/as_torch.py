"""Run a program with graphgrad standing in for torch: `python as_torch.py graphgrad prog.py`
puts graphgrad in sys.modules under torch's names (torch, torch.nn, torch.optim, ...; any
torch.X imported later is graphgrad.X), then runs the program as __main__. With `torch` as
the first argument the program runs with real torch, through the same path."""
import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class _GraphgradAsTorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds torch.X as graphgrad.X: the module object itself, so `import torch.nn as nn`
    and `from torch.optim import Adadelta` get graphgrad's."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            if importlib.util.find_spec("graphgrad" + name[len("torch"):]) is None:
                return None  # not in graphgrad: the program's import fails as it would
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("graphgrad" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass  # already imported as graphgrad.X


def alias_graphgrad_as_torch():
    import graphgrad
    sys.modules["torch"] = graphgrad
    for name, module in list(sys.modules.items()):
        if name.startswith("graphgrad."):
            sys.modules.setdefault("torch" + name[len("graphgrad"):], module)
    sys.meta_path.insert(0, _GraphgradAsTorch())


if __name__ == "__main__":
    library, program = sys.argv[1], sys.argv[2]
    if library == "graphgrad":
        alias_graphgrad_as_torch()
    sys.argv = sys.argv[2:]
    runpy.run_path(program, run_name="__main__")
