"""Comparing graphgrad.nn layers with torch.nn: same weights (copied through state_dict as NumPy
arrays), same inputs, then outputs, buffers and every gradient compared in float64."""
import numpy as np
import torch

import graphgrad as gg


def host(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return t.detach().cpu().numpy()


def to_graphgrad(state):
    """A torch state_dict as graphgrad tensors (through NumPy: a deep copy)."""
    return {k: gg.tensor(v.detach().numpy().copy()) for k, v in state.items()}


def pair(array, requires_grad=False):
    """The same values as a graphgrad and a torch tensor."""
    array = np.asarray(array)
    g = gg.tensor(array.copy(), requires_grad=requires_grad)
    t = torch.tensor(array.copy(), requires_grad=requires_grad)
    return g, t


def flat_outputs(out):
    """A module's output as a flat list of tensors (RNNs return (output, h) or (output, (h, c)))."""
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in flat_outputs(item)]
    return [out]


def assert_close(g, t, what, rtol=1e-7, atol=1e-9):
    assert tuple(g.shape) == tuple(t.shape), f"{what}: shape {tuple(g.shape)} != torch's {tuple(t.shape)}"
    np.testing.assert_allclose(host(g), host(t), rtol=rtol, atol=atol, err_msg=what)


def compare_module(g_mod, t_mod, *arrays, rtol=1e-7, atol=1e-9, grad_fn=True, seed=0):
    """Run both modules (float64, torch's weights) on the same inputs; compare outputs, grad_fn
    names, buffers, and the gradients of every input and parameter for a random output gradient."""
    t_mod.double()
    g_mod.double()
    g_mod.load_state_dict(to_graphgrad(t_mod.state_dict()))
    g_mod.train(t_mod.training)
    g_in, t_in = zip(*(pair(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in arrays))
    g_outs, t_outs = flat_outputs(g_mod(*g_in)), flat_outputs(t_mod(*t_in))
    assert len(g_outs) == len(t_outs)
    for i, (g, t) in enumerate(zip(g_outs, t_outs)):
        assert_close(g, t, f"output {i}", rtol, atol)
        if grad_fn and t.grad_fn is not None:
            assert g.grad_fn is not None and g.grad_fn.name() == t.grad_fn.name(), \
                f"grad_fn {g.grad_fn and g.grad_fn.name()} != torch's {t.grad_fn.name()}"
    for (name, gb), (tname, tb) in zip(g_mod.named_buffers(), t_mod.named_buffers()):
        assert name == tname
        assert_close(gb, tb, f"buffer {name}", rtol, atol)
    rng = np.random.default_rng(seed)
    g_loss, t_loss = 0, 0
    for g, t in zip(g_outs, t_outs):
        if t.requires_grad:
            w_g, w_t = pair(rng.standard_normal(tuple(t.shape)))
            g_loss, t_loss = g_loss + (g * w_g).sum(), t_loss + (t * w_t).sum()
    if not isinstance(t_loss, torch.Tensor):
        return g_outs, t_outs
    g_loss.backward()
    t_loss.backward()
    for i, (g, t) in enumerate(zip(g_in, t_in)):
        if t.grad is not None:
            assert_close(g.grad, t.grad, f"grad of input {i}", rtol, atol)
    t_params = dict(t_mod.named_parameters())
    for name, p in g_mod.named_parameters():
        tp = t_params.pop(name)
        if tp.grad is None:
            assert p.grad is None, f"{name} has a grad, torch's has none"
        else:
            assert_close(p.grad, tp.grad, f"grad of {name}", rtol, atol)
    assert not t_params, f"parameters missing in graphgrad: {list(t_params)}"
    return g_outs, t_outs


def graphgrad_repr(obj):
    return repr(obj).replace("torch.", "graphgrad.")
