"""graphgrad.nn: modules, layers, losses, functional, init and utils, as torch.nn."""
from . import functional, init, utils
from .module import Module
from .modules import *  # noqa: F403
from .parameter import Buffer, Parameter
from . import parallel
from .parallel import DataParallel
from . import modules

# nn's public names, for `from graphgrad.nn import *` and type checkers (a py.typed package's imports are
# private without them): the namespaces, Module, Parameter, Buffer, DataParallel, then every layer
__all__ = ["functional", "init", "utils", "parallel", "Module", "Parameter", "Buffer", "DataParallel"]
__all__ += modules.__all__
