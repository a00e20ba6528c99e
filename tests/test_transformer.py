"""nn.MultiheadAttention, the Transformer layers and F.scaled_dot_product_attention against torch
2.13: parameters initialised from the same manual_seed are torch's, and outputs and gradients are
torch's, dropout included (the same draws in the same order) in train mode."""
import warnings

import numpy as np
import pytest
import torch

import graphgrad as gg

R = np.random.default_rng(5)


def both(build, seed=0):
    """build(lib) under the same seed in torch and graphgrad."""
    torch.manual_seed(seed)
    t = build(torch)
    gg.manual_seed(seed)
    g = build(gg)
    return g, t


def assert_same_parameters(g, t):
    g_params, t_params = dict(g.named_parameters()), dict(t.named_parameters())
    assert list(g_params) == list(t_params)
    for name in t_params:
        np.testing.assert_array_equal(g_params[name].detach().numpy(), t_params[name].detach().numpy(), err_msg=name)


def run(lib, module, arrays, masks, seed, double):
    """The module on the inputs (float64 or float32) under a seed; the output, its gradient wrt
    the inputs and every parameter for a fixed output gradient."""
    dtype = lib.float64 if double else lib.float32
    inputs = [lib.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    masks = {k: v if not isinstance(v, np.ndarray) else lib.tensor(v) if v.dtype == bool else
             lib.tensor(v, dtype=dtype) for k, v in masks.items()}
    lib.manual_seed(seed)
    out = module(*inputs, **masks)
    out = out[0] if isinstance(out, tuple) else out
    up = np.random.default_rng(9).standard_normal(tuple(out.shape))
    (out * lib.tensor(up, dtype=dtype)).sum().backward()
    grads = [x.grad.numpy() for x in inputs] + [p.grad.numpy() for p in module.parameters() if p.grad is not None]
    return out.detach().numpy(), grads


def compare(build, arrays, masks=None, train=True, seed=0, double=True, atol=1e-10):
    g, t = both(build)
    assert_same_parameters(g, t)
    if double:
        g.double(), t.double()
    g.train(train), t.train(train)
    expected, t_grads = run(torch, t, arrays, masks or {}, seed + 1, double)
    got, g_grads = run(gg, g, arrays, masks or {}, seed + 1, double)
    np.testing.assert_allclose(got, expected, atol=atol, rtol=atol * 10, err_msg="output")
    assert len(g_grads) == len(t_grads)
    for i, (a, b) in enumerate(zip(g_grads, t_grads)):
        np.testing.assert_allclose(a, b, atol=atol, rtol=atol * 10, err_msg=f"gradient {i}")


def x(*shape):
    return R.standard_normal(shape)


def causal(n):
    return np.triu(np.ones((n, n), bool), 1)


# ---- scaled_dot_product_attention ------------------------------------------------------------------------

SDPA = [
    ("plain", dict()),
    ("scale", dict(scale=0.3)),
    ("bool_mask", dict(attn_mask=R.random((4, 5)) > 0.3)),
    ("float_mask", dict(attn_mask=R.standard_normal((4, 5)))),
    ("causal", dict(is_causal=True)),
    ("causal_and_mask", dict(attn_mask=R.random((4, 5)) > 0.3, is_causal=True)),
    ("a_row_masked_everywhere", dict(attn_mask=np.array([[True] * 5, [False] * 5, [True] * 5, [True, False] * 2 + [True]]))),
    ("dropout", dict(dropout_p=0.3)),
    ("dropout_mask", dict(dropout_p=0.5, attn_mask=R.random((4, 5)) > 0.3)),
]


@pytest.mark.parametrize("name, kwargs", SDPA, ids=[c[0] for c in SDPA])
@pytest.mark.parametrize("shapes", [((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)),     # torch's fused CPU kernel
                                    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)),     # its math path:
                                    ((3, 4, 8), (3, 5, 8), (3, 5, 8)),              # other shapes
                                    ((2, 3, 4, 8), (1, 3, 5, 8), (3, 5, 8))], ids=["fused", "value_size", "3d",
                                                                                  "broadcast"])
def test_sdpa_matches_torch(name, kwargs, shapes):
    q, k, v = (x(*s) for s in shapes)
    results, grad_fns = [], []
    for lib in (torch, gg):
        inputs = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        kw = {n: (lib.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kwargs.items()}
        lib.manual_seed(4)
        try:
            out = lib.nn.functional.scaled_dot_product_attention(*inputs, **kw)
        except RuntimeError as e:  # torch's math path refuses a mask with is_causal
            results.append(str(e))
            continue
        out.backward(lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape))))
        results.append([out.detach().numpy()] + [i.grad.numpy() for i in inputs])
        grad_fns.append(type(out.grad_fn).__name__)
    if isinstance(results[0], str):
        assert results[1] == results[0]
        return
    for a, b in zip(results[1], results[0]):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=1e-10)
    assert grad_fns[1] == grad_fns[0]


def test_sdpa_double_backward():
    """(first derivatives and finite differences: the op table's scaled_dot_product_attention)"""
    q, k, v = (gg.tensor(x(1, 2, 3, 4), requires_grad=True) for _ in range(3))
    mask = gg.tensor(R.random((3, 3)) > 0.2)
    # torch's fused CPU kernel has no double backward; its math path (3-d inputs) has
    tq, tk, tv = (torch.tensor(t.detach().numpy().reshape(2, 3, 4), requires_grad=True) for t in (q, k, v))
    outs = []
    for lib, inputs, m in ((gg, (q, k, v), mask), (torch, (tq, tk, tv), torch.tensor(mask.numpy()))):
        out = lib.nn.functional.scaled_dot_product_attention(*inputs, attn_mask=m)
        assert lib is torch or type(out.grad_fn).__name__ == "ScaledDotProductFlashAttentionForCpuBackward0"
        grads = lib.autograd.grad((out ** 2).sum(), inputs, create_graph=True)
        outs.append([g.detach().numpy() for g in lib.autograd.grad(sum((g ** 3).sum() for g in grads), inputs)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a.reshape(b.shape), b, atol=1e-10, rtol=1e-8)


def test_sdpa_errors():
    with pytest.raises(RuntimeError, match="same dtype"):
        gg.nn.functional.scaled_dot_product_attention(gg.ones(2, 3), gg.ones(2, 3, dtype=gg.float64), gg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"query \[2, 3\], key \[2, 4\]"):
        gg.nn.functional.scaled_dot_product_attention(gg.ones(2, 3), gg.ones(2, 4), gg.ones(2, 4))


# ---- MultiheadAttention -------------------------------------------------------------------------------

def test_mha_self_attention_with_weights_and_dropout():
    g, t = both(lambda lib: lib.nn.MultiheadAttention(8, 2, dropout=0.25))
    assert_same_parameters(g, t)
    g.double(), t.double()
    a = x(5, 3, 8)
    res = []
    for lib, m in ((torch, t), (gg, g)):
        q = lib.tensor(a, requires_grad=True)
        lib.manual_seed(11)
        out, weights = m(q, q, q)
        (out.sum() + (weights * 3).sum()).backward()
        res.append([out.detach().numpy(), weights.detach().numpy(), q.grad.numpy(), m.in_proj_weight.grad.numpy()])
    for a_, b_ in zip(res[1], res[0]):
        np.testing.assert_allclose(a_, b_, atol=1e-12)


MHA = [
    ("batch_first_padding", lambda lib: lib.nn.MultiheadAttention(8, 4, dropout=0.3, batch_first=True),
     [x(2, 5, 8)] * 1, {"key_padding_mask": np.array([[False] * 4 + [True], [False] * 5])}),
    ("cross_kdim_vdim", lambda lib: lib.nn.MultiheadAttention(8, 2, kdim=6, vdim=3), [x(4, 2, 8), x(5, 2, 6),
                                                                                      x(5, 2, 3)], {}),
    ("bias_kv_zero_attn_mask", lambda lib: lib.nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True),
     [x(4, 2, 8), x(5, 2, 8), x(5, 2, 8)], {"attn_mask": R.standard_normal((4, 5))}),
    ("no_bias_unbatched", lambda lib: lib.nn.MultiheadAttention(8, 2, bias=False), [x(4, 8), x(5, 8), x(5, 8)], {}),
    ("causal_no_weights", lambda lib: lib.nn.MultiheadAttention(8, 2, dropout=0.2), [x(4, 2, 8)] * 3,
     {"attn_mask": causal(4), "is_causal": True, "need_weights": False}),
]


@pytest.mark.parametrize("name, build, arrays, masks", MHA, ids=[c[0] for c in MHA])
def test_mha_matches_torch(name, build, arrays, masks):
    masks = dict(masks)
    flags = {k: masks.pop(k) for k in ("is_causal", "need_weights") if k in masks}
    compare(lambda lib: _SelfAttention(build(lib), flags), arrays, masks)


class _SelfAttention:
    """An attention module called with one input as query, key and value (q is k is v), flags added."""

    def __init__(self, module, flags):
        self.module, self.flags = module, flags

    def __call__(self, *inputs, **kw):
        inputs = inputs * 3 if len(inputs) == 1 else inputs
        return self.module(*inputs, **kw, **self.flags)

    def __getattr__(self, name):
        return getattr(self.module, name)


# ---- the Transformer layers ----------------------------------------------------------------------------

def test_mha_initialisation_is_torchs():
    g, t = both(lambda lib: lib.nn.MultiheadAttention(16, 4, add_bias_kv=True, kdim=5, vdim=7))
    assert_same_parameters(g, t)
    assert repr(g) == repr(t)


LAYERS = [
    ("encoder_layer_post_norm", lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.2), [x(5, 3, 8)],
     {"src_mask": causal(5)}),
    ("encoder_layer_norm_first_gelu_batch_first", lambda lib: lib.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.3, activation="gelu", norm_first=True, batch_first=True), [x(3, 5, 8)],
     {"src_key_padding_mask": np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])}),
    ("encoder_layer_causal_hint", lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1), [x(4, 2, 8)],
     {"src_mask": causal(4), "is_causal": True}),
    ("encoder_layer_module_activation_no_bias", lambda lib: lib.nn.TransformerEncoderLayer(
        8, 4, 12, dropout=0.1, activation=lib.nn.GELU(), bias=False), [x(4, 8)], {}),
    ("encoder_stack", lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.2),
                                                            num_layers=3, norm=lib.nn.LayerNorm(8)), [x(5, 2, 8)],
     {"mask": np.triu(np.full((5, 5), -np.inf), 1)}),
    ("decoder_layer", lambda lib: lib.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.2), [x(4, 2, 8), x(6, 2, 8)],
     {"tgt_mask": causal(4), "memory_key_padding_mask": np.array([[False] * 6, [False] * 4 + [True] * 2])}),
    ("decoder_layer_norm_first_batch_first", lambda lib: lib.nn.TransformerDecoderLayer(
        8, 2, 16, dropout=0.2, norm_first=True, batch_first=True), [x(2, 4, 8), x(2, 6, 8)],
     {"tgt_key_padding_mask": np.array([[False] * 4, [False] * 3 + [True]])}),
    ("decoder_stack", lambda lib: lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.2), 2),
     [x(4, 2, 8), x(6, 2, 8)], {"tgt_mask": np.triu(np.full((4, 4), -np.inf), 1)}),
    ("transformer", lambda lib: lib.nn.Transformer(8, 2, 2, 2, 16, dropout=0.2), [x(6, 2, 8), x(4, 2, 8)],
     {"tgt_mask": np.triu(np.full((4, 4), -np.inf), 1), "src_key_padding_mask": np.array([[False] * 6,
                                                                                          [False] * 5 + [True]])}),
    ("transformer_batch_first_norm_first", lambda lib: lib.nn.Transformer(
        8, 4, 1, 2, 16, dropout=0.1, batch_first=True, norm_first=True, activation="gelu"),
     [x(2, 6, 8), x(2, 4, 8)], {"tgt_is_causal": True, "tgt_mask": np.triu(np.full((4, 4), -np.inf), 1)}),
]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("name, build, arrays, masks", LAYERS, ids=[c[0] for c in LAYERS])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_layers_match_torch(name, build, arrays, masks, train):
    compare(build, arrays, masks, train=train)


def test_float32_training_steps_match_torch():
    """A few Adam steps of a small encoder in float32 with dropout: torch's losses."""
    losses = []
    for lib in (torch, gg):
        lib.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True), 2)
        head = lib.nn.Linear(16, 3)
        opt = lib.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-3)
        data = lib.tensor(np.random.default_rng(0).standard_normal((4, 6, 16)), dtype=lib.float32)
        target = lib.tensor(np.arange(4) % 3)
        mask = lib.nn.Transformer.generate_square_subsequent_mask(6)
        run = []
        for _ in range(4):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(head(model(data, mask=mask, is_causal=True)[:, -1]), target)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_generate_square_subsequent_mask_and_repr():
    for n in (1, 4):
        np.testing.assert_array_equal(gg.nn.Transformer.generate_square_subsequent_mask(n).numpy(),
                                      torch.nn.Transformer.generate_square_subsequent_mask(n).numpy())
    g, t = both(lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16))
    assert repr(g) == repr(t)
    assert list(g.state_dict()) == list(t.state_dict())


def test_the_nested_tensor_warning_is_torchs():
    for lib in (torch, gg):
        with pytest.warns(UserWarning, match=r"enable_nested_tensor is True, but self.use_nested_tensor is False "
                                             r"because encoder_layer.self_attn.batch_first was not True"):
            lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16), 1)


def test_mask_errors():
    mha = gg.nn.MultiheadAttention(8, 2)
    q = gg.ones(4, 2, 8)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        mha(q, q, q, is_causal=True)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is graphgrad.Size\(\[3, 3\]\), but should be \(4, 4\)"):
        mha(q, q, q, attn_mask=gg.zeros(3, 3))
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask are supported"):
        mha(q, q, q, attn_mask=gg.zeros(4, 4, dtype=gg.int64))


def test_dropout_of_a_transposed_tensor_draws_in_memory_order():
    """torch's dropout mask takes a dense input's strides, so a batch_first layer's dropout (of a
    transposed attention output) draws its numbers along memory: as here."""
    a = np.ones((3, 4, 5))
    masks = []
    for lib in (torch, gg):
        lib.manual_seed(0)
        masks.append([lib.nn.functional.dropout(t, 0.5).numpy() for t in
                      (lib.tensor(a).transpose(1, 0), lib.tensor(a).permute(2, 0, 1), lib.tensor(a)[:, ::2])])
    for g, t in zip(*masks[::-1]):
        np.testing.assert_array_equal(g, t)
