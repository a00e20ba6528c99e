// StaticModel: a saved view driven through js/widget.ts's WidgetModel, answering as the kernel would.
import { describe, expect, it } from "vitest";
import { decodePoints, decodeTensor, type GraphJSON } from "../../js/protocol";
import { checkView, StaticModel, type SavedView } from "../saved";

const graph = { schema: 1, structure_hash: "h", iteration: 0, modules: [], edges: [],
  nodes: [{ id: 3, kind: "op", op: "relu", label: "relu", module: "", phase: "forward" }] } as unknown as GraphJSON;

function saved(extra: Partial<SavedView> = {}): SavedView {
  return checkView({ version: 1, graphgrad: "0.1.0", title: "t", height: 400, fold_depth: 0, panels: ["graph", "inspector", "steps"], graph,
    curves: [], notes: [], tensors: [{ node: 3, what: "value", shape: [2], dtype: "float32", device: "cpu", preview_kind: "values",
      preview_shape: [2], truncated: false, stats: [2, -1, 1, 0, 1, 1.4, 0, 0, null], hist: [1, 0, 1], preview: [-1, null] }], ...extra });
}

function replies(model: StaticModel) {
  const got: [Record<string, unknown>, DataView[]][] = [];
  model.on("msg:custom", (msg: Record<string, unknown>, buffers: DataView[]) => got.push([msg, buffers]));
  return got;
}
const tick = () => new Promise((r) => setTimeout(r, 5));

describe("StaticModel", () => {
  it("offers the saved traits, with stepping hidden", () => {
    const m = new StaticModel(saved());
    expect(m.get("graph")).toEqual(graph);
    expect(m.get("panels")).toEqual(["graph", "inspector"]);
    expect(m.get("steps")).toEqual({ available: false, mode: "none" });
    expect(m.get("title")).toBe("t");
    expect(m.get("height")).toBe(400);
    expect(m.get("version")).toBe("0.1.0");   // the footer names the graphgrad that saved it
  });

  it("answers an inspect request with the saved statistics, asynchronously", async () => {
    const m = new StaticModel(saved());
    const got = replies(m);
    m.send({ type: "inspect", request: 7, node: 3, what: "value" });
    expect(got).toEqual([]);
    await tick();
    const t = decodeTensor(got[0][0], got[0][1]);
    expect(t.request).toBe(7);
    expect(t.available).toBe(true);
    expect(t.stats!.max).toBe(1);
    expect(Number.isNaN(t.stats!.zeros)).toBe(true);   // null in JSON: NaN again
    expect(Array.from(t.preview!)).toEqual([-1, NaN]);
  });

  it("says why when a tensor was not saved", async () => {
    const m = new StaticModel(saved());
    const got = replies(m);
    m.send({ type: "inspect", request: 1, node: 3, what: "grad" });
    await tick();
    const t = decodeTensor(got[0][0], got[0][1]);
    expect(t.available).toBe(false);
    expect(t.reason).toMatch(/not saved/);
  });

  it("sends the saved curves after hello, with charts shown", async () => {
    const m = new StaticModel(saved({ curves: [{ name: "train", chart: "loss", x: [0, 1, 2], y: [3, 2, null] }] }));
    expect(m.get("panels")[0]).toBe("charts");
    const got = replies(m);
    m.send({ type: "hello", version: 1 });
    await tick();
    const p = decodePoints(got[0][0], got[0][1]);
    expect(p.reset).toBe(true);
    expect(p.series[0].name).toBe("train");
    expect(Array.from(p.series[0].x)).toEqual([0, 1, 2]);
    expect(Number.isNaN(p.series[0].y[2])).toBe(true);
  });

  it("stops listening when told", async () => {
    const m = new StaticModel(saved({ curves: [{ name: "a", chart: "loss", x: [0], y: [1] }] }));
    let calls = 0;
    const cb = () => calls++;
    m.on("msg:custom", cb);
    m.off("msg:custom", cb);
    m.send({ type: "hello", version: 1 });
    await tick();
    expect(calls).toBe(0);
  });
});

describe("checkView", () => {
  it("rejects what is not a saved view, saying why", () => {
    expect(() => checkView("x")).toThrow(/not a saved graphgrad view/);
    expect(() => checkView({ version: 9 })).toThrow(/version 9/);
    expect(() => checkView({ version: 1, graph: { nodes: 1 } })).toThrow(/node and edge lists/);
  });
});
