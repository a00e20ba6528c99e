"""graphgrad.utils: data loading (graphgrad.utils.data)."""
from . import data

__all__ = ["data"]
