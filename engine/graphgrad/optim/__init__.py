"""graphgrad.optim: torch.optim's algorithms (SGD, Adam, AdamW, RMSprop, Adadelta, Adagrad,
Adamax, NAdam, RAdam, ASGD, Rprop, SparseAdam, LBFGS) and the learning-rate schedulers."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD",
           "Rprop", "SparseAdam", "LBFGS", "lr_scheduler"]
