"""A namespace of named switches that stores settings and refuses names it does not know, as
torch's `backends.cuda.matmul` does (a typo would otherwise be silently ignored)."""


class Flags:
    def __init__(self, **defaults):
        object.__setattr__(self, "_values", dict(defaults))

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute {name}") from None

    def __setattr__(self, name, value):
        if name not in self._values:
            raise AttributeError(f"Unknown attribute {name}")
        self._values[name] = value
