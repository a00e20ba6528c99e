/// <reference types="node" />
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allCalls, category, defaultExpanded, describe as say, foldedAround, moduleCalls, nonFinite, search, visibleGraph } from "../model";
import type { GraphJSON, GraphNode } from "../protocol";

const graph: GraphJSON = JSON.parse(readFileSync(new URL("../../tests/fixtures/viz_transformer2.json", import.meta.url), "utf8"));
const leaves = graph.nodes.filter((n) => n.kind === "param").length;

let nextId = 0;
const node = (kind: GraphNode["kind"], op: string, module: string, extra: Partial<GraphNode> = {}): GraphNode => ({
  id: nextId++, kind, op, grad_fn: null, label: op, name: null, module, phase: "forward", shape: [2, 3], dtype: "float32",
  device: "cpu", source: null, attrs: {}, seconds: null, forward_id: null, flags: { nan: false, inf: false }, ...extra });

/** A block whose ReLU module runs twice (after fc1 and after fc2), as resnet's BasicBlock does. */
function block(): GraphJSON {
  nextId = 0;
  const x = node("input", "input", "", { name: "x" });
  const w1 = node("param", "param", "net.fc1", { name: "net.fc1.weight", label: "weight", shape: [3, 3] });
  const fc1 = node("op", "linear", "net.fc1");
  const r1 = node("op", "relu", "net.relu");
  const w2 = node("param", "param", "net.fc2", { name: "net.fc2.weight", label: "weight", shape: [3, 3] });
  const fc2 = node("op", "linear", "net.fc2");
  const add = node("op", "add", "net");
  const r2 = node("op", "relu", "net.relu");
  const loss = node("op", "sum", "");
  const nodes = [x, w1, fc1, r1, w2, fc2, add, r2, loss];
  const e = (s: GraphNode, t: GraphNode, input = 0) => ({ source: s.id, target: t.id, input, shape: s.shape, dtype: "float32" });
  return { schema: 1, structure_hash: "block", iteration: 0, nodes,
    edges: [e(x, fc1), e(w1, fc1, 1), e(fc1, r1), e(r1, fc2), e(w2, fc2, 1), e(fc2, add), e(x, add, 1), e(add, r2), e(r2, loss)],
    modules: [{ path: "net", type: "Block", parent: "" }, { path: "net.fc1", type: "Linear", parent: "net" },
      { path: "net.fc2", type: "Linear", parent: "net" }, { path: "net.relu", type: "ReLU", parent: "net" }] };
}

describe("module calls", () => {
  it("gives each call of a module its own box, so nothing runs upward", () => {
    const g = block();
    const calls = moduleCalls(g);
    expect([...calls.byId.keys()].sort()).toEqual(["net#0", "net.fc1#0", "net.fc2#0", "net.relu#0", "net.relu#1"]);
    const vg = visibleGraph(g, allCalls(g));
    const labels = vg.nodes.map((v) => v.label);
    expect(labels).toContain("relu · relu");
    expect(labels).toContain("relu (call 2) · relu");
    // the one-op calls are drawn as their op, named after the module, inside the block
    expect(vg.groups.map((x) => x.id)).toEqual(["g:net#0"]);
    const order = new Map(vg.nodes.map((v, i) => [v.id, i]));
    for (const e of vg.edges) expect(order.get(e.source)!).toBeLessThan(order.get(e.target)!);
  });

  it("draws parameters as badges of the op that reads them, or as nodes when asked", () => {
    const g = block();
    const vg = visibleGraph(g, allCalls(g));
    expect(vg.nodes.some((v) => v.node?.kind === "param")).toBe(false);
    const fc1 = vg.nodes.find((v) => v.label === "fc1 · linear")!;
    expect(fc1.badges.map((b) => b.text)).toEqual(["weight 3×3"]);
    expect(fc1.height).toBeGreaterThan(34);
    expect(vg.owner.get(1)).toBe(fc1.id);   // the parameter is found (search) in its op
    expect(vg.edges.length).toBe(g.edges.length - 2);
    const nodes = visibleGraph(g, allCalls(g), { leavesAsNodes: true });
    expect(nodes.nodes.filter((v) => v.node?.kind === "param").length).toBe(2);
    expect(nodes.key).not.toBe(vg.key);
  });

  it("draws a bookkeeping op (a buffer's counter: no data in or out) inside the op beside it", () => {
    const g = block();
    const count = node("const", "const", "net.fc1", { label: "num_batches_tracked", shape: [] });
    const bump = node("op", "add", "net.fc1");
    g.nodes.splice(3, 0, count, bump);   // after fc1's linear, in fc1's call
    g.edges.push({ source: count.id, target: bump.id, input: 0, shape: [], dtype: "int64" });
    const vg = visibleGraph(g, allCalls(g));
    const fc1 = vg.nodes.find((v) => v.label === "fc1 · linear")!;   // still one op: drawn as it
    expect(fc1.badges.map((b) => b.text)).toEqual(["weight 3×3", "add (bookkeeping)"]);
    expect(vg.nodes.some((v) => v.node?.id === bump.id)).toBe(false);
    expect(vg.owner.get(bump.id)).toBe(fc1.id);
  });

  it("folds a call into a box named by module and class, with its op count and output shape", () => {
    const g = block();
    const vg = visibleGraph(g, new Set());
    const box = vg.nodes.find((v) => v.id === "m:net#0")!;
    expect(box.label).toBe("net · Block");
    expect(box.sub).toBe("5 ops → [2, 3]");
    expect(vg.nodes.map((v) => v.id).sort()).toEqual(["m:net#0", "n:0", "n:8"].sort());
  });
});

describe("folding", () => {
  it("shows every op and input when every call is unfolded", () => {
    const vg = visibleGraph(graph, allCalls(graph));
    expect(vg.nodes.length).toBe(graph.nodes.length - leaves);
    expect(vg.groups.map((g) => g.path)).toContain("model.blocks.1.attn");
  });

  it("folds a call into one box and reroutes its edges", () => {
    const expanded = allCalls(graph);
    expanded.delete("model.blocks.0#0");
    const vg = visibleGraph(graph, expanded);
    const box = vg.nodes.find((n) => n.id === "m:model.blocks.0#0")!;
    const inside = graph.nodes.filter((n) => n.module.startsWith("model.blocks.0") && n.kind === "op");
    expect(box.sub.startsWith(`${inside.length} ops`)).toBe(true);
    for (const n of inside) expect(vg.owner.get(n.id)).toBe("m:model.blocks.0#0");
    expect(vg.groups.some((g) => g.path.startsWith("model.blocks.0"))).toBe(false);
    expect(vg.edges.every((e) => e.source !== e.target)).toBe(true);
    expect(vg.edges.some((e) => e.target === "m:model.blocks.0#0")).toBe(true);
    expect(vg.edges.some((e) => e.source === "m:model.blocks.0#0")).toBe(true);
    expect(box.parent).toBe("g:model.blocks#0");
  });

  it("keys layouts by structure and fold state", () => {
    const a = visibleGraph(graph, allCalls(graph)).key;
    const fewer = allCalls(graph);
    fewer.delete("model.blocks.1#0");
    expect(visibleGraph(graph, fewer).key).not.toBe(a);
    expect(visibleGraph(graph, allCalls(graph)).key).toBe(a);
  });

  it("opens one depth for all calls, as deep as the budget allows", () => {
    const few = defaultExpanded(graph, 0, 12);
    expect(few.has("model#0")).toBe(true);
    const depths = [...few].map((c) => moduleCalls(graph).byId.get(c)!.depth);
    const deepest = Math.max(...depths);
    // every call above the deepest opened level is open: the view reads evenly
    for (const c of moduleCalls(graph).byId.values()) if (c.depth < deepest && c.ops > 1) expect(few.has(c.id)).toBe(true);
    expect(visibleGraph(graph, few).nodes.length).toBeLessThanOrEqual(12);
    expect(defaultExpanded(graph, 0, 10_000)).toEqual(allCalls(graph));
    expect(defaultExpanded(graph, 1, 10_000)).toEqual(new Set(["model#0"]));
    expect(defaultExpanded(graph, -1, 0)).toEqual(allCalls(graph));
  });

  it("finds which folded calls hide a node", () => {
    const n = graph.nodes.find((x) => x.module === "model.blocks.1.mlp" && x.kind === "op")!;
    expect(foldedAround(graph, n.id, new Set(["model#0"]))).toEqual(["model.blocks#0", "model.blocks.1#0", "model.blocks.1.mlp#0"]);
  });
});

describe("NaN and Inf", () => {
  it("tells where a NaN was born from where it spread", () => {
    const g = block();
    const bad = { nan: true, inf: false };
    for (const id of [3, 5, 6, 7, 8]) g.nodes.find((n) => n.id === id)!.flags = { ...bad };
    const { born, spread } = nonFinite(g);
    expect([...born]).toEqual([3]);
    expect([...spread].sort()).toEqual([5, 6, 7, 8]);
    g.nodes.find((n) => n.id === 6)!.flags = { ...bad, born: true } as GraphNode["flags"];   // the engine knows better
    expect(nonFinite(g).born.has(6)).toBe(true);
  });

  it("names a node in words, never by its id", () => {
    const g = block();
    const relu = g.nodes.find((n) => n.id === 3)!;
    relu.source = { file: "/home/me/train.py", line: 14, code: "h = relu(x)" };
    expect(say(relu)).toBe("'relu' in net.relu (train.py:14)");
  });
});

describe("search and colours", () => {
  it("matches op names and module paths, case-insensitively", () => {
    expect(search(graph, "SOFTMAX").length).toBe(2);
    const mlp = search(graph, "blocks.1.mlp");
    expect(mlp.length).toBe(graph.nodes.filter((n) => n.module.startsWith("model.blocks.1.mlp")).length);
    expect(search(graph, "  ")).toEqual([]);
  });

  it("colours nodes by the category the engine sends, in a few families", () => {
    const byOp = (op: string) => category(graph.nodes.find((n) => n.op === op)!);
    expect(byOp("linear")).toBe("matmul");
    expect(byOp("gelu")).toBe("activation");
    expect(byOp("nll_loss")).toBe("loss");
    expect(byOp("add")).toBe("pointwise");
    expect(byOp("select")).toBe("shape");
    expect(byOp("layer_norm")).toBe("reduce");
    expect(category(graph.nodes.find((n) => n.kind === "param")!)).toBe("leaf");
    const add = graph.nodes.find((n) => n.op === "add")!;
    expect(category({ ...add, category: "convolution" })).toBe("matmul");
    expect(category({ ...add, kind: "backward" })).toBe("backward");
    // a category this viewer has no colour for, or a graph saved before categories: the plain colour
    expect(category({ ...add, category: "something_new" })).toBe("pointwise");
    expect(category({ ...add, op: "linear", category: undefined })).toBe("pointwise");
  });
});

describe("phases", () => {
  it("leaves out hidden phases and their edges", () => {
    const g: GraphJSON = JSON.parse(JSON.stringify(graph));
    const last = g.nodes[g.nodes.length - 1];
    g.nodes.push({ ...last, id: 999, kind: "backward", phase: "backward", forward_id: last.id });
    g.edges.push({ source: last.id, target: 999, input: 0, shape: null, dtype: null });
    const all = allCalls(g);
    expect(visibleGraph(g, all).nodes.length).toBe(g.nodes.length - leaves);
    const vg = visibleGraph(g, all, { hidePhases: new Set(["backward"]) });
    expect(vg.nodes.length).toBe(graph.nodes.length - leaves);
    expect(vg.key).not.toBe(visibleGraph(g, all).key);
  });
});
