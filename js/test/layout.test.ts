/// <reference types="node" />
import { readFileSync } from "node:fs";
import ELK from "elkjs/lib/elk.bundled.js";
import { describe, expect, it, vi } from "vitest";
import { Layouter, QUICK_ABOVE, quickLayout, type Box, type ElkLike } from "../layout";
import { allCalls, visibleGraph } from "../model";
import type { GraphJSON } from "../protocol";

const graph: GraphJSON = JSON.parse(readFileSync(new URL("../../tests/fixtures/viz_transformer2.json", import.meta.url), "utf8"));
const vg = visibleGraph(graph, allCalls(graph));
const inside = (a: Box, b: Box) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.width <= b.x + b.width + 0.5 && a.y + a.height <= b.y + b.height + 0.5;
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe("ELK layout", () => {
  it("places every node inside its module, edges downward, in absolute coordinates", async () => {
    const layouter = new Layouter(() => new ELK() as unknown as ElkLike, QUICK_ABOVE, 16, true);
    const layout = await layouter.layout(vg);
    expect(layout.engine).toBe("elk");
    expect(layout.nodes.size).toBe(vg.nodes.length);
    for (const n of vg.nodes) if (n.parent) expect(inside(layout.nodes.get(n.id)!, layout.groups.get(n.parent)!)).toBe(true);
    for (const g of vg.groups) if (g.parent) expect(inside(layout.groups.get(g.id)!, layout.groups.get(g.parent)!)).toBe(true);
    const boxes = [...layout.nodes.values()];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(overlap(boxes[i], boxes[j])).toBe(false);
    for (const e of vg.edges) {
      const pts = layout.edges.get(e.id)!;
      const src = layout.nodes.get(e.source)!, dst = layout.nodes.get(e.target)!;
      expect(pts[1]).toBeCloseTo(src.y + src.height, 0);        // leaves the bottom of its source
      expect(pts[pts.length - 1]).toBeCloseTo(dst.y, 0);        // enters the top of its target
    }
  });

  it("draws the page's first view at once with the block layout while ELK warms up", async () => {
    const asked: string[] = [];
    const elk = new ELK();
    const cold = new Layouter(() => ({ layout: (g) => { asked.push(g.id); return elk.layout(g as never) as never; } }));
    expect((await cold.layout(vg)).engine).toBe("quick");
    expect(asked).toEqual(["warm-up"]);
    const other = visibleGraph(graph, new Set(["model#0"]));
    expect((await cold.layout(other)).engine).toBe("elk");
  });

  it("makes each unfolded call's box wide enough for its title", async () => {
    const layout = await new Layouter(() => new ELK() as unknown as ElkLike, QUICK_ABOVE, 16, true).layout(vg);
    for (const g of vg.groups) expect(layout.groups.get(g.id)!.width).toBeGreaterThanOrEqual(6.4 * g.label.length);
  });

  it("reuses a layout for the next iteration of the same structure, under its node ids", async () => {
    let calls = 0;
    const elk = new ELK();
    const layouter = new Layouter(() => ({ layout: (g) => { calls++; return elk.layout(g as never) as never; } }), QUICK_ABOVE, 16, true);
    const first = await layouter.layout(vg);
    const next: typeof graph = JSON.parse(JSON.stringify(graph));   // the same ops, ids moved on by 1000
    for (const n of next.nodes) n.id += 1000;
    for (const e of next.edges) { e.source += 1000; e.target += 1000; }
    const nvg = visibleGraph(next, allCalls(next));
    expect(nvg.key).toBe(vg.key);
    const again = await layouter.layout(nvg);
    expect(calls).toBe(1);
    for (const [i, n] of nvg.nodes.entries()) expect(again.nodes.get(n.id)).toEqual(first.nodes.get(vg.nodes[i].id));
    for (const [i, e] of nvg.edges.entries()) expect(again.edges.get(e.id)).toEqual(first.edges.get(vg.edges[i].id));
  });

  it("lays each structure out once (cached by key)", async () => {
    let calls = 0;
    const elk = new ELK();
    const layouter = new Layouter(() => ({ layout: (g) => { calls++; return elk.layout(g as never) as never; } }), QUICK_ABOVE, 16, true);
    const first = await layouter.layout(vg);
    const again = await layouter.layout(visibleGraph(graph, allCalls(graph)));
    expect(again).toBe(first);
    expect(calls).toBe(1);
  });

  it("falls back to the quick layout when ELK fails or the graph is large", async () => {
    // the failure is on purpose: its warning is checked here instead of printed over the test run
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const broken = new Layouter(() => ({ layout: () => Promise.reject(new Error("stack overflow")) }), QUICK_ABOVE, 16, true);
    expect((await broken.layout(vg)).engine).toBe("quick");
    expect(warn).toHaveBeenCalledWith("graphgrad: ELK layout failed, using the quick layout", expect.any(Error));
    warn.mockRestore();
    const small = new Layouter(() => new ELK() as unknown as ElkLike, 10, 16, true);
    expect((await small.layout(vg)).engine).toBe("quick");
  });
});

describe("quick layout", () => {
  it("nests each unfolded call's block inside its parent's, in the order ops ran", () => {
    const layout = quickLayout(vg);
    for (const g of vg.groups) expect(layout.groups.get(g.id)!.width).toBeGreaterThanOrEqual(6.4 * g.label.length);
    for (const g of vg.groups) if (g.parent) expect(inside(layout.groups.get(g.id)!, layout.groups.get(g.parent)!)).toBe(true);
    const groups = [...layout.groups.entries()];
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) {
      const [a, ga] = groups[i], [b, gb] = groups[j];
      const nested = inside(ga, gb) || inside(gb, ga);
      if (!nested) expect(overlap(ga, gb), `${a} and ${b}`).toBe(false);
    }
  });

  it("puts every edge's target below its source without overlaps", () => {
    const layout = quickLayout(vg);
    expect(layout.nodes.size).toBe(vg.nodes.length);
    for (const e of vg.edges) expect(layout.nodes.get(e.target)!.y).toBeGreaterThan(layout.nodes.get(e.source)!.y);
    const boxes = [...layout.nodes.values()];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(overlap(boxes[i], boxes[j])).toBe(false);
    for (const n of vg.nodes) if (n.parent) expect(inside(layout.nodes.get(n.id)!, layout.groups.get(n.parent)!)).toBe(true);
  });
});
