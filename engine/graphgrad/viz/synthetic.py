"""Synthetic traces (schema v1) shaped like a transformer's forward pass: for benchmarks, tests and
demos of the graph view without running a model (`viz.show(synthetic.transformer(178))`)."""
from typing import Any

from ..tracing.graph import SCHEMA, node_record, structure_hash
from .sources import modules_of, wiring


def transformer(blocks: int = 4, batch: int = 8, seq: int = 128, width: int = 512,
                nan_at: int | None = None) -> dict[str, Any]:
    """About 28 nodes per block (ops and their parameters) in modules model.blocks.<i>.{ln1,attn,ln2,mlp}.
    nan_at: a node id whose output is flagged NaN."""
    nodes, edges, types = [], [], {"model": "Transformer", "model.blocks": "ModuleList"}
    act = [batch, seq, width]

    def add(kind, op, module, shape, label=None, name=None, inputs=(), grad_fn=None):
        i = len(nodes)
        nodes.append(node_record(i, kind, op, grad_fn=grad_fn, label=label or op, name=name, module=module,
                                 shape=list(shape), dtype="float32", device="cpu", nan=i == nan_at,
                                 source={"file": "model.py", "line": 10 + len(nodes) % 40, "code": f"x = {op}(x)"}
                                 if kind == "op" else None))
        for k, src in enumerate(inputs):
            edges.append({"source": src, "target": i, "input": k, "shape": nodes[src]["shape"], "dtype": "float32"})
        return i

    def linear(module, x, fan_in, fan_out, shape):
        w = add("param", "param", module, [fan_out, fan_in], "weight", module + ".weight")
        b = add("param", "param", module, [fan_out], "bias", module + ".bias")
        return add("op", "linear", module, shape, inputs=(x, w, b), grad_fn="AddmmBackward0")

    def norm(module, x):
        types[module] = "LayerNorm"
        w = add("param", "param", module, [width], "weight", module + ".weight")
        b = add("param", "param", module, [width], "bias", module + ".bias")
        return add("op", "layer_norm", module, act, inputs=(x, w, b), grad_fn="NativeLayerNormBackward0")

    x = add("input", "input", "", [batch, seq], "tokens", "tokens")
    emb = add("param", "param", "model.embed", [1000, width], "weight", "model.embed.weight")
    types["model.embed"] = "Embedding"
    x = add("op", "embedding", "model.embed", act, inputs=(x, emb), grad_fn="EmbeddingBackward0")
    for i in range(blocks):
        m = f"model.blocks.{i}"
        types.update({m: "Block", m + ".attn": "Attention", m + ".mlp": "MLP"})
        h = norm(m + ".ln1", x)
        qkv = linear(m + ".attn", h, width, 3 * width, [batch, seq, 3 * width])
        q, k, v = (add("op", "select", m + ".attn", act, label=n, inputs=(qkv,), grad_fn="SplitBackward0")
                   for n in "qkv")
        s = add("op", "matmul", m + ".attn", [batch, seq, seq], inputs=(q, k), grad_fn="BmmBackward0")
        s = add("op", "div", m + ".attn", [batch, seq, seq], inputs=(s,), grad_fn="DivBackward0")
        s = add("op", "softmax", m + ".attn", [batch, seq, seq], inputs=(s,), grad_fn="SoftmaxBackward0")
        a = add("op", "matmul", m + ".attn", act, inputs=(s, v), grad_fn="BmmBackward0")
        a = linear(m + ".attn.out", a, width, width, act)
        types[m + ".attn.out"] = "Linear"
        x = add("op", "add", m, act, inputs=(x, a), grad_fn="AddBackward0")
        h = norm(m + ".ln2", x)
        h = linear(m + ".mlp.fc1", h, width, 4 * width, [batch, seq, 4 * width])
        h = add("op", "gelu", m + ".mlp", [batch, seq, 4 * width], inputs=(h,), grad_fn="GeluBackward0")
        h = linear(m + ".mlp.fc2", h, 4 * width, width, act)
        types.update({m + ".mlp.fc1": "Linear", m + ".mlp.fc2": "Linear"})
        x = add("op", "add", m, act, inputs=(x, h), grad_fn="AddBackward0")
    x = norm("model.ln_f", x)
    logits = linear("model.head", x, width, 1000, [batch, seq, 1000])
    types["model.head"] = "Linear"
    add("op", "nll_loss", "", [], "loss", inputs=(logits,), grad_fn="NllLossBackward0")  # F.cross_entropy's last op
    mods = modules_of({n["module"] for n in nodes if n["module"]}, types)
    return {"schema": SCHEMA, "structure_hash": structure_hash(nodes, wiring(edges)), "iteration": 0,
            "nodes": nodes, "edges": edges, "modules": mods}
