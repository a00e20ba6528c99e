"""All parameters as one flat vector, and back."""
from ... import ops
from ...autograd.grad_mode import no_grad


def parameters_to_vector(parameters):
    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.data = vec[offset:offset + n].reshape(p.shape)
            offset += n
