"""Bad input: graphgrad raises torch's exception class with torch's message (the facts named:
shapes, dims, dtypes), and leaves its inputs as they were (values and version counters)."""
import re

import numpy as np
import pytest

import graphgrad

torch = pytest.importorskip("torch")


def f32(*shape):
    return np.asarray(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) / 7 - 0.5)


def f64(*shape):
    return f32(*shape).astype(np.float64)


def i64(*shape, high=None):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % (high or 10 ** 6)


def i32(*shape):
    return i64(*shape).astype(np.int32)


def b8(*shape):
    return (np.arange(int(np.prod(shape))) % 2 == 0).reshape(shape)


class Case:
    """fn(lib, *tensors) must raise. match: "exact" (the message is torch's), "start" (ours is the
    start of torch's, which adds internal detail), or a regex ours must match where torch's text
    names its internals."""

    def __init__(self, name, arrays, fn, match="exact", grad=()):
        self.name, self.arrays, self.fn, self.match, self.grad = name, arrays, fn, match, grad


def _mm(lib, a, b):
    return lib.mm(a, b)


CASES = [
    # broadcasting
    Case("add_broadcast", [f32(2, 3), f32(2, 5)], lambda L, a, b: a + b),
    Case("mul_broadcast_3d", [f32(4, 2, 3), f32(4, 3)], lambda L, a, b: a * b),
    Case("where_broadcast", [b8(2, 3), f32(2, 3), f32(4)], lambda L, c, a, b: L.where(c, a, b)),
    Case("inplace_broadcast", [f32(1, 3), f32(2, 3)], lambda L, a, b: a.add_(b)),
    Case("maximum_broadcast", [f32(2, 3), f32(2)], lambda L, a, b: L.maximum(a, b)),
    # matrix products
    Case("mm_shapes", [f32(2, 3), f32(4, 5)], _mm),
    Case("matmul_2d", [f32(2, 3), f32(4, 5)], lambda L, a, b: a @ b),
    Case("mv_shapes", [f32(2, 3), f32(4)], lambda L, a, b: L.mv(a, b)),
    Case("matmul_mv", [f32(2, 3), f32(4)], lambda L, a, b: a @ b),
    Case("dot_sizes", [f32(3), f32(4)], lambda L, a, b: L.dot(a, b)),
    Case("dot_2d", [f32(2, 3), f32(3)], lambda L, a, b: L.dot(a, b)),
    Case("bmm_shapes", [f32(2, 3, 4), f32(2, 5, 6)], lambda L, a, b: L.bmm(a, b)),
    Case("bmm_batch", [f32(2, 3, 4), f32(3, 4, 5)], lambda L, a, b: L.bmm(a, b)),
    Case("bmm_2d", [f32(3, 4), f32(4, 5)], lambda L, a, b: L.bmm(a, b)),
    Case("matmul_batched", [f32(2, 3, 4), f32(2, 5, 6)], lambda L, a, b: a @ b),
    Case("matmul_batch_broadcast", [f32(2, 3, 4), f32(3, 4, 5)], lambda L, a, b: a @ b),
    Case("matmul_nd_2d", [f32(2, 3, 4), f32(5, 6)], lambda L, a, b: a @ b),
    Case("matmul_1d_nd", [f32(3), f32(2, 4, 5)], lambda L, a, b: a @ b),
    Case("matmul_nd_1d", [f32(2, 3, 4), f32(5)], lambda L, a, b: a @ b),
    Case("matmul_1d_nd_grad", [f32(3), f32(2, 4, 5)], lambda L, a, b: a @ b, grad=(0,)),
    Case("matmul_2d_nd_grad", [f32(3, 4), f32(2, 5, 6)], lambda L, a, b: a @ b, grad=(0,)),
    Case("matmul_2d_nd", [f32(3, 4), f32(2, 5, 6)], lambda L, a, b: a @ b),
    Case("matmul_1d_2d", [f32(3), f32(4, 5)], lambda L, a, b: a @ b),
    Case("matmul_0d", [f32(), f32(3)], lambda L, a, b: a @ b),
    Case("matmul_dtypes", [f32(2, 3), f64(3, 2)], lambda L, a, b: a @ b),
    Case("mm_3d", [f32(2, 3, 4), f32(4, 5)], _mm),
    Case("einsum_fewer", [f32(3, 4)], lambda L, x: L.einsum("ij,jk->ik", x)),
    Case("einsum_more", [f32(3, 4)], lambda L, x: L.einsum("ij->ij", x, x)),
    Case("einsum_subscripts", [f32(3, 4)], lambda L, x: L.einsum("ijk->ij", x)),
    Case("einsum_sizes", [f32(3, 4), f32(5, 2)], lambda L, a, b: L.einsum("ij,jk->ik", a, b)),
    Case("einsum_output", [f32(3)], lambda L, x: L.einsum("i->ij", x)),
    Case("linear_shapes", [f32(2, 3), f32(4, 5)], lambda L, x, w: _linear(L)(x, w)),
    # views and reshapes
    Case("view_noncontiguous", [f32(2, 3)], lambda L, x: x.t().view(6)),
    Case("view_size", [f32(2, 3)], lambda L, x: x.view(4)),
    Case("view_infer", [f32(2, 3)], lambda L, x: x.view(-1, 4)),
    Case("reshape_size", [f32(2, 3)], lambda L, x: x.reshape(4, 2)),
    Case("reshape_two_unknowns", [f32(2, 3)], lambda L, x: x.reshape(-1, -1)),
    Case("reshape_negative", [f32(2, 3)], lambda L, x: x.reshape(-2, 3)),
    Case("expand_size", [f32(2, 3)], lambda L, x: x.expand(2, 4)),
    Case("expand_fewer_dims", [f32(2, 3)], lambda L, x: x.expand(3)),
    Case("permute_length", [f32(2, 3)], lambda L, x: x.permute(0, 1, 2), match="start"),
    Case("permute_repeat", [f32(2, 3)], lambda L, x: x.permute(0, 0)),
    Case("t_3d", [f32(2, 3, 4)], lambda L, x: x.t()),
    Case("flatten_order", [f32(2, 3, 4)], lambda L, x: x.flatten(2, 1)),
    Case("repeat_fewer_dims", [f32(2, 3)], lambda L, x: x.repeat(2)),
    Case("narrow_past_end", [f32(4, 3)], lambda L, x: x.narrow(0, 3, 2)),
    Case("unbind_0d", [f32()], lambda L, x: x.unbind()),
    Case("chunk_zero", [f32(4)], lambda L, x: x.chunk(0)),
    Case("split_sizes_sum", [f32(5, 2)], lambda L, x: x.split([2, 2])),
    # cat and stack
    Case("cat_sizes", [f32(2, 3), f32(2, 4)], lambda L, a, b: L.cat([a, b])),
    Case("cat_ndim", [f32(2, 3), f32(3)], lambda L, a, b: L.cat([a, b])),
    Case("cat_empty_list", [], lambda L: L.cat([])),
    Case("cat_0d", [f32(), f32()], lambda L, a, b: L.cat([a, b])),
    Case("cat_dim", [f32(2, 3), f32(2, 3)], lambda L, a, b: L.cat([a, b], 2)),
    Case("stack_sizes", [f32(2, 3), f32(2, 4)], lambda L, a, b: L.stack([a, b])),
    Case("stack_empty", [], lambda L: L.stack([])),
    Case("stack_dim", [f32(2, 3), f32(2, 3)], lambda L, a, b: L.stack([a, b], 3)),
    # indexing
    Case("index_int", [f32(3)], lambda L, x: x[5]),
    Case("index_second_dim", [f32(2, 3)], lambda L, x: x[0, 5]),
    Case("index_negative", [f32(2, 3)], lambda L, x: x[-3]),
    Case("index_too_many", [f32(2)], lambda L, x: x[0, 0]),
    Case("index_tensor", [f32(3), i64(1) + 5], lambda L, x, i: x[i]),
    Case("index_float_tensor", [f32(3), f32(1)], lambda L, x, i: x[i]),
    Case("index_mask_shape", [f32(3, 2), b8(2)], lambda L, x, m: x[m]),
    Case("index_select_range", [f32(3, 2), i64(1) + 3], lambda L, x, i: x.index_select(0, i)),
    Case("take_range", [f32(3, 2), i64(1) + 6], lambda L, x, i: x.take(i)),
    Case("setitem_shape", [f32(3, 2), f32(3)], lambda L, x, v: x.__setitem__(0, v)),
    # dims out of range
    Case("sum_dim", [f32(2, 3)], lambda L, x: x.sum(2)),
    Case("sum_dims", [f32(2, 3)], lambda L, x: x.sum((0, -3))),
    Case("sum_dim_repeated", [f32(2, 3)], lambda L, x: x.sum((0, 0))),
    Case("mean_dim", [f32(2, 3)], lambda L, x: x.mean(-3)),
    Case("max_dim", [f32(2, 3)], lambda L, x: x.max(2)),
    Case("argmax_dim", [f32(2, 3)], lambda L, x: x.argmax(5)),
    Case("softmax_dim", [f32(2, 3)], lambda L, x: x.softmax(2)),
    Case("squeeze_dim", [f32(2, 1)], lambda L, x: x.squeeze(2)),
    Case("unsqueeze_dim", [f32(2, 3)], lambda L, x: x.unsqueeze(4)),
    Case("transpose_dim", [f32(2, 3)], lambda L, x: x.transpose(0, 2)),
    Case("cumsum_dim", [f32(2, 3)], lambda L, x: x.cumsum(-3)),
    Case("var_dim", [f32(2, 3)], lambda L, x: x.var(2)),
    Case("flip_dim", [f32(2, 3)], lambda L, x: x.flip(2)),
    Case("dim_of_0d", [f32()], lambda L, x: x.sum(1)),
    # gather, scatter
    Case("gather_dtype", [f32(3, 4), i64(3, 1).astype(np.int16)], lambda L, x, i: x.gather(1, i)),
    Case("gather_ndim", [f32(3, 4), i64(3, 1, 1)], lambda L, x, i: x.gather(1, i)),
    Case("gather_size", [f32(3, 4), i64(4, 1)], lambda L, x, i: x.gather(1, i)),
    Case("gather_bounds", [f32(3, 4), i64(3, 1) + 7], lambda L, x, i: x.gather(1, i)),
    Case("gather_dim", [f32(3, 4), i64(3, 1)], lambda L, x, i: x.gather(2, i)),
    Case("scatter_bounds", [f32(3, 4), i64(3, 1) + 7, f32(3, 1)], lambda L, x, i, s: x.scatter(1, i, s)),
    Case("scatter_src_size", [f32(3, 4), i64(3, 1) % 4, f32(2, 1)], lambda L, x, i, s: x.scatter(1, i, s)),
    Case("scatter_size", [f32(3, 4), i64(4, 1) % 4], lambda L, x, i: x.scatter(1, i, 2.0)),
    Case("scatter_src_dtype", [f32(3, 4), i64(3, 1) % 4, f64(3, 1)], lambda L, x, i, s: x.scatter(1, i, s)),
    Case("scatter_add_bounds", [f32(3, 4), i64(3, 1) + 4, f32(3, 1)], lambda L, x, i, s: x.scatter_add(1, i, s)),
    Case("index_select_dtype", [f32(3, 2), f32(1)], lambda L, x, i: x.index_select(0, i)),
    Case("index_select_2d", [f32(3, 2), i64(1, 1)], lambda L, x, i: x.index_select(0, i)),
    Case("index_tensors_shapes", [f32(2, 3), i64(2), i64(3) % 2], lambda L, x, i, j: x[i, j]),
    Case("index_mask_2d", [f32(2, 3), b8(2, 2)], lambda L, x, m: x[m]),
    Case("index_mask_second", [f32(2, 3), b8(2)], lambda L, x, m: x[:, m]),
    Case("setitem_more_dims", [f32(3, 2), f32(2, 2)], lambda L, x, v: x.__setitem__(0, v)),
    Case("setitem_slice_shape", [f32(3, 2), f32(3, 2)], lambda L, x, v: x.__setitem__(slice(0, 2), v)),
    Case("setitem_advanced_shape", [f32(3, 2), i64(2), f32(3, 2)], lambda L, x, i, v: x.__setitem__(i, v)),
    Case("narrow_start", [f32(3)], lambda L, x: x.narrow(0, 4, 0)),
    Case("narrow_length", [f32(3)], lambda L, x: x.narrow(0, 1, -1)),
    Case("softmax_long_dim0", [i64(2, 3)], lambda L, a: a.log_softmax(0)),
    Case("sub_bool_scalar", [f32(3)], lambda L, a: a - True),
    Case("argmax_dim_empty", [f32(3, 0)], lambda L, x: x.argmax(1)),
    # in place
    Case("inplace_float_into_long", [i64(3), f32(3)], lambda L, a, b: a.add_(b)),
    Case("inplace_scalar_into_long", [i64(3)], lambda L, a: a.mul_(2.5)),
    Case("inplace_div_long", [i64(3)], lambda L, a: a.div_(2)),
    Case("inplace_long_into_bool", [b8(3)], lambda L, a: a.add_(1)),
    Case("inplace_leaf", [f32(3)], lambda L, a: a.mul_(2), grad=(0,)),
    Case("inplace_iadd_long", [i64(2, 3), f64(2, 3)], lambda L, a, b: a.__iadd__(b)),
    # dtypes
    Case("sub_bool", [b8(3), b8(3)], lambda L, a, b: a - b),
    Case("neg_bool", [b8(3)], lambda L, a: -a),
    Case("mean_long", [i64(3)], lambda L, a: a.mean()),
    Case("var_long", [i64(3)], lambda L, a: a.var(), match="start"),
    Case("softmax_long", [i64(3)], lambda L, a: a.softmax(0)),
    Case("bitwise_float", [f32(3), f32(3)], lambda L, a, b: a & b),
    Case("invert_float", [f32(3)], lambda L, a: ~a, match="start"),
    Case("where_condition", [f32(3), f32(3), f32(3)], lambda L, c, a, b: L.where(c, a, b)),
    Case("masked_fill_mask", [f32(3), i64(3)], lambda L, x, m: x.masked_fill(m, 0.0)),
    Case("int_negative_power", [i64(3)], lambda L, a: a ** -1),
    Case("int_floor_divide_zero", [i64(3), i64(3) * 0], lambda L, a, b: a // b),
    Case("int_remainder_zero", [i64(3)], lambda L, a: a % 0),
    Case("int_fmod_zero", [i64(3), i64(3) * 0], lambda L, a, b: a.fmod(b)),
    Case("int_div_trunc_zero", [i64(3)], lambda L, a: a.div(0, rounding_mode="trunc")),
    Case("requires_grad_long", [i64(3)], lambda L, a: a.requires_grad_()),
    # reductions of nothing, missing arguments
    Case("max_empty", [f32(0, 3)], lambda L, x: x.max()),
    Case("max_dim_empty", [f32(0, 3)], lambda L, x: x.max(0)),
    Case("argmax_empty", [f32(0)], lambda L, x: x.argmax()),
    Case("clamp_no_bounds", [f32(3)], lambda L, x: x.clamp()),
    Case("item_many", [f32(3)], lambda L, x: x.item()),
    Case("div_rounding_mode", [f32(3)], lambda L, x: x.div(2, rounding_mode="round")),
    # linear algebra
    Case("det_1d", [f32(3)], lambda L, a: L.linalg.det(a)),
    Case("inv_not_square", [f32(2, 3)], lambda L, a: L.linalg.inv(a)),
    Case("solve_shapes", [f32(3, 3), f32(2, 2)], lambda L, a, b: L.linalg.solve(a, b)),
    Case("solve_vector", [f32(3, 3), f32(2)], lambda L, a, b: L.linalg.solve(a, b)),
    # sliding blocks
    Case("unfold_2d", [f32(5, 5)], lambda L, x: L.nn.functional.unfold(x, 2)),
    Case("unfold_5d", [f32(1, 1, 1, 5, 5)], lambda L, x: L.nn.functional.unfold(x, 2)),
    Case("fold_1d", [f32(5)], lambda L, x: L.nn.functional.fold(x, (5, 5), 2)),
    Case("fold_channels", [f32(1, 7, 16)], lambda L, x: L.nn.functional.fold(x, (5, 5), 2)),
    Case("fold_blocks", [f32(1, 8, 15)], lambda L, x: L.nn.functional.fold(x, (5, 5), 2)),
]


def _linear(lib):
    return lib.nn.functional.linear if lib is torch else getattr(graphgrad, "nn", graphgrad).functional.linear


def _tensors(lib, case):
    made = []
    for i, a in enumerate(case.arrays):
        t = graphgrad.tensor(a) if lib is graphgrad else torch.from_numpy(a.copy())
        if i in case.grad:
            t.requires_grad_()
        made.append(t)
    return made


def _raised(lib, case, tensors):
    try:
        case.fn(lib, *tensors)
    except Exception as e:  # the point is which exception
        return e
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_error_matches_torch(case):
    want = _raised(torch, case, _tensors(torch, case))
    assert want is not None, "torch accepts this: the case is wrong"
    tensors = _tensors(graphgrad, case)
    versions = [t._version for t in tensors]
    got = _raised(graphgrad, case, tensors)
    assert got is not None, f"graphgrad raised nothing; torch: {type(want).__name__}: {want}"
    assert type(got) is type(want), f"{type(got).__name__}: {got}\ntorch: {type(want).__name__}: {want}"
    ours, theirs = str(got), str(want)
    if case.match == "exact":
        assert ours == theirs
    elif case.match == "start":
        assert theirs.startswith(ours) and ours, f"{ours!r}\nis not the start of torch's\n{theirs!r}"
    else:
        assert re.fullmatch(case.match, ours), ours
    for t, a, v in zip(tensors, case.arrays, versions):  # the inputs are untouched
        np.testing.assert_array_equal(t.detach().numpy(), a)
        assert t._version == v, "an input's version moved"
