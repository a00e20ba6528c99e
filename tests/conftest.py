"""Shared test helpers: the GPU marker's skip, and converting results for comparison with torch."""
import pytest


def _gpu_available():
    try:
        import graphgrad
        return graphgrad.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a GPU with CuPy")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
