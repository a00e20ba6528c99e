"""torch.backends.cpu: what the CPU kernels use. graphgrad's are NumPy's, which pick their own
vector instructions at run time; the answer names the widest NumPy reports."""
from typing import Any

import numpy as np


def get_cpu_capability():
    core: Any = getattr(np, "_core", None) or np.core
    found = getattr(core._multiarray_umath, "__cpu_features__", {})
    if found.get("AVX512F"):
        return "AVX512"
    return "AVX2" if found.get("AVX2") else "DEFAULT"
