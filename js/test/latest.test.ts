import { describe, expect, it } from "vitest";
import { withValues } from "../latest";
import { nonFinite } from "../model";
import type { GraphJSON } from "../protocol";

const node = (id: number, op: string, forward_id: number | null = null) => ({
  id, kind: "op" as const, op, grad_fn: null, label: op, name: null, module: "net", phase: "forward", shape: [2],
  dtype: "float32", device: "cpu", source: null, attrs: {}, seconds: 0.001, forward_id, flags: { nan: false, inf: false },
});
const graph: GraphJSON = {
  schema: 1, structure_hash: "abc", iteration: 0, modules: [],
  nodes: [node(10, "linear"), node(11, "relu"), node(12, "relu_backward", 11)],
  edges: [{ source: 10, target: 11, input: 0, shape: [2], dtype: "float32" }],
};

describe("withValues: a monitor's newer step on the graph the view has", () => {
  it("relabels nodes, edges and forward ids by position, with the step's times and flags", () => {
    const next = withValues(graph, { iteration: 7, structure_hash: "abc", ids: [20, 21, 22], seconds: [1, 2, null],
      flags: [[1, { nan: true, inf: false, born: true }]] })!;
    expect(next.iteration).toBe(7);
    expect(next.nodes.map((n) => n.id)).toEqual([20, 21, 22]);
    expect(next.nodes[2].forward_id).toBe(21);
    expect(next.edges[0]).toMatchObject({ source: 20, target: 21 });
    expect(next.nodes.map((n) => n.seconds)).toEqual([1, 2, null]);
    expect([...nonFinite(next).born]).toEqual([21]);
    expect(graph.nodes[0].id).toBe(10);   // the graph it came from is left as it was
  });

  it("refuses another structure (the full graph comes through the trait instead)", () => {
    expect(withValues(graph, { iteration: 1, structure_hash: "other", ids: [1, 2, 3], seconds: [0, 0, 0], flags: [] })).toBeNull();
    expect(withValues(graph, { iteration: 1, structure_hash: "abc", ids: [1, 2], seconds: [0, 0], flags: [] })).toBeNull();
  });
});
