"""graphgrad.nn: modules, layers, losses, functional, init and utils, as torch.nn."""
from . import functional, init, utils
from .module import Module
from .modules import *  # noqa: F403
from .parameter import Buffer, Parameter
from . import parallel
from .parallel import DataParallel
