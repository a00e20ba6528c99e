/// <reference types="node" />
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { category, defaultExpanded, foldedAround, moduleTree, search, visibleGraph } from "../model";
import type { GraphJSON } from "../protocol";

const graph: GraphJSON = JSON.parse(readFileSync(new URL("../../tests/fixtures/viz_transformer2.json", import.meta.url), "utf8"));
const allModules = () => new Set(moduleTree(graph).keys());

describe("folding", () => {
  it("shows every node when every module is unfolded", () => {
    const vg = visibleGraph(graph, allModules());
    expect(vg.nodes.length).toBe(graph.nodes.length);
    expect(vg.edges.length).toBe(graph.edges.length);
    expect(vg.groups.map((g) => g.path)).toContain("model.blocks.1.attn");
  });

  it("folds a module into one box and reroutes its edges", () => {
    const expanded = allModules();
    expanded.delete("model.blocks.0");
    const vg = visibleGraph(graph, expanded);
    const box = vg.nodes.find((n) => n.id === "m:model.blocks.0")!;
    const inside = graph.nodes.filter((n) => n.module.startsWith("model.blocks.0"));
    expect(box.sub).toBe(`${inside.length} ops ▸`);
    expect(vg.nodes.length).toBe(graph.nodes.length - inside.length + 1);
    for (const n of inside) expect(vg.owner.get(n.id)).toBe("m:model.blocks.0");
    // nothing inside is drawn, no edge is a self-loop, and edges into the box come from outside
    expect(vg.groups.some((g) => g.path.startsWith("model.blocks.0"))).toBe(false);
    expect(vg.edges.every((e) => e.source !== e.target)).toBe(true);
    expect(vg.edges.some((e) => e.target === "m:model.blocks.0")).toBe(true);
    expect(vg.edges.some((e) => e.source === "m:model.blocks.0")).toBe(true);
    expect(box.parent).toBe("g:model.blocks");
  });

  it("keys layouts by structure and fold state", () => {
    const a = visibleGraph(graph, allModules()).key;
    const fewer = allModules();
    fewer.delete("model.head");
    expect(visibleGraph(graph, fewer).key).not.toBe(a);
    expect(visibleGraph(graph, allModules()).key).toBe(a);
  });

  it("unfolds outermost modules first within a budget of boxes", () => {
    const few = defaultExpanded(graph, 0, 20);
    expect(few.has("model")).toBe(true);
    expect(few.has("model.blocks.0.attn")).toBe(false);
    expect(visibleGraph(graph, few).nodes.length).toBeLessThanOrEqual(20);
    expect(defaultExpanded(graph, 0, 10_000)).toEqual(allModules());
    expect(defaultExpanded(graph, 1, 10_000)).toEqual(new Set(["model"]));
    expect(defaultExpanded(graph, -1, 0)).toEqual(allModules());
  });

  it("finds which folded modules hide a node", () => {
    const node = graph.nodes.find((n) => n.module === "model.blocks.1.mlp.fc1")!;
    expect(foldedAround(node, new Set(["model"]))).toEqual(["model.blocks", "model.blocks.1", "model.blocks.1.mlp", "model.blocks.1.mlp.fc1"]);
  });
});

describe("search and colours", () => {
  it("matches op names and module paths, case-insensitively", () => {
    expect(search(graph, "SOFTMAX").length).toBe(2);
    const mlp = search(graph, "blocks.1.mlp");
    expect(mlp.length).toBe(graph.nodes.filter((n) => n.module.startsWith("model.blocks.1.mlp")).length);
    expect(search(graph, "  ")).toEqual([]);
  });

  it("colours nodes by the kind of op", () => {
    const byOp = (op: string) => category(graph.nodes.find((n) => n.op === op)!);
    expect(byOp("linear")).toBe("matmul");
    expect(byOp("gelu")).toBe("activation");
    expect(byOp("cross_entropy")).toBe("loss");
    expect(byOp("add")).toBe("pointwise");
    expect(byOp("select")).toBe("shape");
    expect(category(graph.nodes.find((n) => n.kind === "param")!)).toBe("leaf");
  });
});

describe("phases", () => {
  it("leaves out hidden phases and their edges", () => {
    const g: GraphJSON = JSON.parse(JSON.stringify(graph));
    const last = g.nodes[g.nodes.length - 1];
    g.nodes.push({ ...last, id: 999, kind: "backward", phase: "backward", forward_id: last.id });
    g.edges.push({ source: last.id, target: 999, input: 0, shape: null, dtype: null });
    const all = allModules();
    expect(visibleGraph(g, all).nodes.length).toBe(g.nodes.length);
    const vg = visibleGraph(g, all, new Set(["backward"]));
    expect(vg.nodes.length).toBe(graph.nodes.length);
    expect(vg.edges.length).toBe(graph.edges.length);
    expect(vg.key).not.toBe(visibleGraph(g, all).key);
  });
});
