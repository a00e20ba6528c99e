"""The package's version, in one place: pyproject.toml reads it (hatch's dynamic version),
`graphgrad.__version__` re-exports it and the widget shows it in its footer."""
__version__ = "0.1.0"
