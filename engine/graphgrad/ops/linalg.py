"""Matrix products: matmul (1-D, 2-D, batched) and the named forms PyTorch records
(MmBackward0, MvBackward0, DotBackward0, BmmBackward0), plus linear (AddmmBackward0)."""
import math

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .dispatch import Op, apply, op
from .graph_array import saved_input
from .public import public
from .util import broadcast_shapes, sum_to, variant, xp_of


class _Product(Op):
    saves = {"a": "input 0", "b": "input 1"}

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b


@op("mm", "MmBackward0", category="linalg")
class Mm(_Product):
    def backward(self, grad):
        ga = grad @ self.b.T if self.next_functions[0][0] is not None else None
        gb = self.a.T @ grad if self.next_functions[1][0] is not None else None
        return ga, gb


@op("mv", "MvBackward0", category="linalg")
class Mv(_Product):
    def backward(self, grad):
        ga = xp_of(grad).outer(grad, self.b) if self.next_functions[0][0] is not None else None
        return ga, self.a.T @ grad


@op("dot", "DotBackward0", category="linalg")
class Dot(_Product):
    def backward(self, grad):
        return grad * self.b, grad * self.a


@op("matmul", "UnsafeViewBackward0", category="linalg")
class BatchedMatmul(_Product):
    """Batched (and 1-D by N-D) products, broadcasting the batch dimensions. PyTorch folds the
    batch into one mm or bmm and views the result back: the node it records is that view."""
    # a, b: a 1-D operand as a row or a column
    saves = {"a_in": "input 0", "b_in": "input 1", "a": "derived", "b": "derived"}

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        self.a_in, self.b_in = a, b
        self.regraph()
        out = self.a @ self.b
        if a.ndim == 1:
            out = out[..., 0, :]
        if b.ndim == 1:
            out = out[..., 0]
        return out

    def regraph(self):
        a, b = self.a_in, self.b_in
        self.a = a[None, :] if a.ndim == 1 else a   # (1, k): a row vector
        self.b = b[:, None] if b.ndim == 1 else b   # (k, 1): a column

    def backward(self, grad):
        xp = xp_of(grad)
        if len(self.a_shape) == 1:
            grad = xp.expand_dims(grad, -2)
        if len(self.b_shape) == 1:
            grad = xp.expand_dims(grad, -1)
        ga = grad @ xp.swapaxes(self.b, -1, -2)
        gb = xp.swapaxes(self.a, -1, -2) @ grad
        ga = sum_to(ga, self.a.shape).reshape(self.a_shape)
        gb = sum_to(gb, self.b.shape).reshape(self.b_shape)
        return ga, gb


Bmm = variant(BatchedMatmul, "bmm", "BmmBackward0")
# 1-D @ 2-D: PyTorch computes (1, k) @ (k, n) and squeezes the row away
VecMat = variant(BatchedMatmul, "vecmat", "SqueezeBackward4")
# a matrix that needs a gradient @ a batch: PyTorch multiplies the transposes and copies the result
MatmulCopy = variant(BatchedMatmul, "matmul_copy", "CloneBackward0")


def _shape_str(shape):
    return "x".join(map(str, shape))


@public(method=True, operators=("__matmul__", "__rmatmul__"))
def matmul(input: Tensor, other) -> Tensor:
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {input.dtype._legacy[:-6].lower()} "
                           f"!= {other.dtype._legacy[:-6].lower()}")
    if a.ndim == 2 and b.ndim == 2:
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(a.shape)} and "
                               f"{_shape_str(b.shape)})")
        return apply(Mm, input, other)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
                               f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
                               "respectively")
        return apply(Dot, input, other)
    if a.ndim == 2 and b.ndim == 1:
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({_shape_str(a.shape)}), vec "
                               f"({b.shape[0]})")
        return apply(Mv, input, other)
    # the rest fold into one mm/mv or broadcast into one bmm, as PyTorch does; a size mismatch is
    # reported by whichever of them PyTorch runs, so the message depends on the path
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    k_a, k_b = a.shape[-1], (b.shape[0] if b.ndim == 1 else b.shape[-2])
    copy = (a.ndim >= 2 and b.ndim >= 3 and input.requires_grad and math.prod(batch_a) == 1
            and (a.ndim == 2 or math.prod(batch_b) > 1))
    if b.ndim <= 2:                              # 1-D @ matrix, or a batch folded into rows
        if k_a != k_b:
            rows = math.prod(a.shape[:-1])
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k_a} and {_shape_str(b.shape)})"
                               if b.ndim == 2 else f"size mismatch, got input ({rows}), mat ({rows}x{k_a}), vec "
                               f"({k_b})")
        return apply(VecMat if a.ndim == 1 else BatchedMatmul, input, other)
    if copy or (a.ndim == 1 and input.requires_grad):  # b's batch folded, transposed
        if k_a != k_b:
            rows = math.prod(batch_b) * b.shape[-1]
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k_b} and {k_a}x{a.shape[-2]})"
                               if a.ndim > 1 else f"size mismatch, got input ({rows}), mat ({rows}x{k_b}), vec "
                               f"({k_a})")
        return apply(MatmulCopy if copy else BatchedMatmul, input, other)
    batch = math.prod(broadcast_shapes(batch_a, batch_b))
    if k_a != k_b:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k_a}] but "
                           f"got: [{batch}, {k_b}].")
    return apply(BatchedMatmul, input, other)


@public(method=True)
def mm(input: Tensor, mat2) -> Tensor:
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError("self must be a matrix" if input.ndim != 2 else "mat2 must be a matrix")
    return matmul(input, mat2)


@public(method=True)
def bmm(input: Tensor, mat2) -> Tensor:
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    (n, _, k), (n2, k2, _) = input.shape, mat2.shape
    if (n2, k2) != (n, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k}] but got: "
                           f"[{n2}, {k2}].")
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype._legacy[:-6]} but found {mat2.dtype._legacy[:-6]}")
    return apply(Bmm, input, mat2)


@public(method=True)
def mv(input: Tensor, vec) -> Tensor:
    return matmul(input, vec)


@public(method=True)
def dot(input: Tensor, other) -> Tensor:
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return matmul(input, other)


@op("outer", "MulBackward0", category="linalg")  # PyTorch computes it as a column times a row
class Outer(_Product):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).outer(a, b)

    def backward(self, grad):
        return grad @ self.b, self.a @ grad


@public(method=True)
def outer(input: Tensor, vec2) -> Tensor:
    return apply(Outer, input, vec2)


@op("linear", "AddmmBackward0", category="linalg")
class Linear(Op):
    """x @ W.T + b in one node: what nn.Linear records for 2-D input."""
    saves = {"x": "input 0", "w": "input 1"}

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        out = x @ w.T
        if b is not None:
            out += b
        return out

    def backward(self, grad):
        x, w = self.x, self.w
        gx = grad @ w if self.next_functions[0][0] is not None else None
        if x.ndim == 2:
            gw = grad.T @ x
        else:
            gw = grad.reshape(-1, grad.shape[-1]).T @ x.reshape(-1, x.shape[-1])
        gb = grad.reshape(-1, grad.shape[-1]).sum(0) if len(self.next_functions) > 2 else None
        return gx, gw, gb


# PyTorch records linear as the last op of its computation, which depends on the input's rank
LinearMm = variant(Linear, "linear_mm", "MmBackward0")                        # 2-D, no bias
LinearVec = variant(Linear, "linear_vec", "SqueezeBackward4")                 # 1-D, no bias
LinearFold = variant(Linear, "linear_fold", "UnsafeViewBackward0")            # N-D, no bias
LinearView = variant(Linear, "linear_view", "ViewBackward0")                  # 1-D or N-D with a bias


@public
def linear(input: Tensor, weight, bias=None) -> Tensor:
    if input.shape[-1] != weight.shape[-1]:
        rows = input._data.size // max(input.shape[-1], 1) if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype._legacy[:-6]} and "
                           f"{weight.dtype._legacy[:-6]}")
    nd = input.ndim
    if bias is None:
        return apply(LinearMm if nd == 2 else LinearVec if nd == 1 else LinearFold, input, weight)
    return apply(Linear if nd == 2 else LinearView, input, weight, bias)



@op("addmm", "AddmmBackward0", category="linalg")
class Addmm(Op):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    saves = {"m1": "input 1", "m2": "input 2"}

    def forward(self, x, m1, m2, beta=1, alpha=1):
        self.m1, self.m2, self.beta, self.alpha, self.in_shape = m1, m2, beta, alpha, x.shape
        product = m1 @ m2
        if alpha != 1:
            product *= alpha
        return product + (x if beta == 1 else beta * x) if beta != 0 else product

    def backward(self, grad):
        nf, a = self.next_functions, self.alpha
        gx = sum_to(grad * self.beta if self.beta != 1 else grad, self.in_shape) if nf[0][0] is not None else None
        g1 = (grad @ self.m2.T) * a if nf[1][0] is not None else None
        g2 = (self.m1.T @ grad) * a if nf[2][0] is not None else None
        return gx, g1, g2


@public(method=True, inplace=True)
def addmm(input: Tensor, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError("mat1 must be a matrix, got %d-D tensor" % mat1.ndim if mat1.ndim != 2 else
                           "mat2 must be a matrix, got %d-D tensor" % mat2.ndim)
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(mat1.shape)} and "
                           f"{_shape_str(mat2.shape)})")
    broadcast_shapes(input._data.shape, (mat1.shape[0], mat2.shape[1]))
    return apply(Addmm, input, mat1, mat2, beta=beta, alpha=alpha)


def _einsum_parse(equation, shapes):
    """'ij,jk->ik' (with ... and an implicit output) -> ([subscripts per operand], output), each
    ... spelt out as capital letters, one per broadcast dim."""
    equation = equation.replace(" ", "")
    lhs, arrow, out = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(shapes) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the equation")
    n_ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t), default=0)
    ell = "".join(chr(ord("Z") - i) for i in reversed(range(n_ell)))
    spelt = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            k = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:] if k else "")
        if len(term) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match "
                               f"the number of dimensions ({len(shape)}) for operand {len(spelt)}"
                               + ("" if "..." in equation else " and no ellipsis was given"))
        spelt.append(term)
    seen = {}
    for i, (term, shape) in enumerate(zip(spelt, shapes)):
        for c, n in zip(term, shape):
            if seen.get(c, n) != n and 1 not in (n, seen[c]):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast "
                                   f"with previously seen size {seen[c]}")
            seen[c] = n if seen.get(c, 1) == 1 else seen[c]
    if arrow:
        out = out.replace("...", ell)
        for c in out:
            if c not in seen:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   "operand")
    else:  # implicit: the broadcast dims, then the letters used once, in order
        counts = {}
        for term in spelt:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return spelt, out


@op("einsum", "EinsumBackward0", category="linalg")
class Einsum(Op):
    """One node for the whole contraction (PyTorch records the permutes, views and bmm it is
    made of; here the gradient of each operand is the contraction of the others with grad)."""
    saves = {"arrays": "derived, kept"}  # the operands, as given: regraph() puts them back in the graph

    def forward(self, *arrays, terms, out):
        self.arrays, self.terms, self.out = arrays, terms, out
        return xp_of(arrays[0]).einsum(",".join(terms) + "->" + out, *arrays)

    def regraph(self):
        self.arrays = tuple(saved_input(self, i, a) for i, a in enumerate(self.arrays))

    def backward(self, grad):
        xp = xp_of(grad)
        sizes = {c: n for term, a in zip(self.terms, self.arrays) for c, n in zip(term, a.shape)}
        grads = []
        for i, (term, (nxt, _)) in enumerate(zip(self.terms, self.next_functions)):
            if nxt is None:
                grads.append(None)
                continue
            others = [(t, a) for j, (t, a) in enumerate(zip(self.terms, self.arrays)) if j != i]
            letters = "".join(dict.fromkeys(term))               # each letter once
            seen = set(self.out).union(*(t for t, _ in others))
            made = "".join(c for c in letters if c in seen)
            g = xp.einsum(",".join([self.out] + [t for t, _ in others]) + "->" + made, grad,
                          *(a for _, a in others))
            # letters only this operand has were summed away: the gradient is constant along them
            g = xp.broadcast_to(g.reshape([sizes[c] if c in made else 1 for c in letters]),
                                [sizes[c] for c in letters])
            if len(letters) == len(term):
                grads.append(g if made == letters else xp.ascontiguousarray(g))
                continue
            # a repeated letter is a diagonal: the gradient lands on it, zero elsewhere
            full = xp.zeros([sizes[c] for c in term], grad.dtype)
            index = tuple(xp.arange(sizes[c]).reshape([-1 if k == letters.index(c) else 1
                                                       for k in range(len(letters))]) for c in term)
            full[index] = g
            grads.append(full)
        return tuple(grads)


@public
def einsum(equation, *operands) -> Tensor:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, out = _einsum_parse(equation, [o.shape for o in operands])
    dt = dtypes.result_type(*operands)
    operands = [o if o.dtype is dt else o.to(dt) for o in operands]
    return apply(Einsum, *operands, terms=tuple(terms), out=out)


# ---- inverses and determinants (graphgrad.linalg) ------------------------------------------------

class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix the factorisation cannot handle (a singular one)."""


def _square(a, name):
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {a.shape[-2]} by "
                           f"{a.shape[-1]} matrices")
    if a.dtype.itemsize == 2 and a.dtype.is_floating_point:  # no LAPACK in half precision, as in torch
        kind = a.dtype._legacy[:-6]
        if name == "linalg.inv":
            raise RuntimeError(f"linalg.inv: Low precision dtypes not supported. Got {kind}")
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{kind}'")


def _zero_pivot(a):
    """The 1-based index of the first zero pivot of LU with partial pivoting (LAPACK's getrf), as
    torch's singular-matrix errors name it; the first matrix of a batch that has one."""
    host = a.get() if hasattr(a, "get") else a  # (a CuPy array comes to the host: this is an error path)
    for m in np.asarray(host, dtype=np.float64).reshape((-1,) + a.shape[-2:]):
        m = m.copy()
        for k in range(m.shape[0]):
            p = k + int(np.argmax(np.abs(m[k:, k])))
            if m[p, k] == 0:
                return k + 1
            m[[k, p]] = m[[p, k]]
            m[k + 1:, k:] -= np.outer(m[k + 1:, k] / m[k, k], m[k, k:])
    return 1


@op("linalg_inv", "LinalgInvExBackward0", category="linalg")
class Inv(Op):
    saves = {"out": "output"}

    def forward(self, a):
        xp = xp_of(a)
        try:
            self.out = xp.linalg.inv(a)
        except xp.linalg.LinAlgError:
            raise LinAlgError(f"linalg.inv: The diagonal element {_zero_pivot(a)} is zero, the inversion could not "
                              "be completed because the input matrix is singular.") from None
        return self.out

    def backward(self, grad):
        inv_t = xp_of(grad).swapaxes(self.out, -1, -2)
        return (-(inv_t @ grad @ inv_t),)


class _OfMatrix(Op):
    """An op of a matrix A (input 0) whose backward needs A and the result."""
    saves = {"a": "input 0", "out": "output"}


@op("linalg_det", "LinalgDetBackward0", category="linalg")
class Det(_OfMatrix):
    """d det(A) / dA = det(A) A^-T (for an invertible A)."""

    def forward(self, a):
        self.a = a
        self.out = xp_of(a).linalg.det(a)
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        scale = (grad * self.out)[..., None, None]
        return (scale * xp.swapaxes(xp.linalg.inv(self.a), -1, -2),)


@op("linalg_solve", "LinalgSolveExBackward0", category="linalg")
class Solve(_OfMatrix):
    """X with A X = B; B a matrix (..., n, k) or, with left vectors, (..., n)."""

    def forward(self, a, b):
        xp = xp_of(a)
        self.vector = b.ndim == a.ndim - 1
        try:
            out = xp.linalg.solve(a, b[..., None] if self.vector else b)
        except xp.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None
        self.a, self.out = a, (out[..., 0] if self.vector else out)
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        g, x = (grad[..., None], self.out[..., None]) if self.vector else (grad, self.out)
        gb = xp.linalg.solve(xp.swapaxes(self.a, -1, -2), g)
        ga = -(gb @ xp.swapaxes(x, -1, -2))
        return ga, (gb[..., 0] if self.vector else gb)


def inv(A):
    _square(A, "linalg.inv")
    return apply(Inv, A)


def det(A):
    _square(A, "linalg.det")
    return apply(Det, A)


def solve(A, B, *, left=True):
    if not left:
        raise NotImplementedError("graphgrad: linalg.solve(left=False) is not supported; solve A^T X^T = B^T")
    _square(A, "linalg.solve")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if (B.shape[-1] if vector else B.shape[-2]) != A.shape[-1]:
        b_shape = tuple(B.shape) + ((1,) if vector else ())  # a vector is a column
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {'x'.join(map(str, b_shape))})")
    return apply(Solve, A, B)
