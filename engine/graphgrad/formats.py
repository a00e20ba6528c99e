"""torch's memory formats and layouts as named constants. graphgrad's arrays are always dense
and row-major (NumPy/CuPy strides), so `contiguous_format` is what every tensor has; asking for
`channels_last` is accepted and gives the same values in row-major order."""


class _Constant:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return "graphgrad." + self._name  # as dtypes print

    def __reduce__(self):  # pickles as the module-level constant, so identity survives save/load
        return self._name


class memory_format(_Constant):
    pass


class layout(_Constant):
    pass


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
strided = layout("strided")
