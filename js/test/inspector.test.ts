import { describe, expect, it } from "vitest";
import { bytesOf, bytesText, inputsOf, keepPlane, shortPath, slotsFor, wordsFor } from "../inspector";
import type { GraphJSON, GraphNode, TensorReply } from "../protocol";
import { clampPlane, colour, colourTicks, finiteRange, isDownsampled, planeDims, planeOf, pointIndex } from "../tensorview";

function node(id: number, over: Partial<GraphNode> = {}): GraphNode {
  return { id, kind: "op", op: "conv2d", grad_fn: "ConvolutionBackward0", label: "conv2d", name: null, module: "model.conv1",
    phase: "forward", shape: [4, 64, 8, 8], dtype: "float32", device: "cpu", source: null, attrs: {}, seconds: null,
    forward_id: null, flags: { nan: false, inf: false }, ...over };
}

// x -> conv2d <- weight; conv2d's backward node mirrors it
const x = node(0, { kind: "input", op: null, grad_fn: null, label: "x", name: "x", module: "", shape: [4, 3, 32, 32] });
const weight = node(1, { kind: "param", op: null, grad_fn: null, label: "weight", name: "model.conv1.weight", shape: [64, 3, 7, 7] });
const conv = node(2);
const back = node(3, { kind: "backward", phase: "backward", label: "ConvolutionBackward0", forward_id: 2 });
const graph: GraphJSON = {
  schema: 1, structure_hash: "h", iteration: 0, nodes: [x, weight, conv, back], modules: [],
  edges: [{ source: 1, target: 2, input: 1, shape: [64, 3, 7, 7], dtype: "float32" },
    { source: 0, target: 2, input: 0, shape: [4, 3, 32, 32], dtype: "float32" }],
};

function reply(over: Partial<TensorReply>): TensorReply {
  return { request: 1, node: 2, what: "value", available: true, reason: "", shape: [4, 64, 8, 8], dtype: "float32",
    device: "cpu", preview_kind: "heatmap", preview_shape: [8, 8], truncated: false, index: [0, 0], ...over };
}

describe("colour scale", () => {
  it("diverges around 0 through white, with the sign's colour at the far end", () => {
    expect(colour(0, -2, 1)).toEqual([255, 255, 255]);
    expect(colour(-2, -2, 1)).toEqual([33, 102, 172]);     // the far end of the larger side: full blue
    expect(colour(2, -2, 1)).toEqual([178, 24, 43]);       // symmetric around 0: +2 would be full red
    expect(colour(1, -2, 1)).toEqual([216.5, 139.5, 149]);  // half way from white to red
  });
  it("ramps one way when all values have one sign, and marks NaN and Inf apart", () => {
    expect(colour(1, 1, 3)).toEqual([68, 1, 84]);
    expect(colour(3, 1, 3)).toEqual([253, 231, 37]);
    expect(colour(7, 1, 1)).toEqual(colour(1, 0, 2));      // a constant plane: the middle colour
    expect(colour(NaN, 0, 1)).toEqual([255, 0, 255]);
    expect(colour(Infinity, 0, 1)).toEqual([255, 215, 0]);
    expect(colour(-Infinity, 0, 1)).toEqual([0, 0, 0]);
  });
  it("labels the bar at its min and max, and at 0 where the scale turns", () => {
    expect(colourTicks(1, 3)).toEqual([{ at: 0, value: 1 }, { at: 1, value: 3 }]);
    expect(colourTicks(-1, 3)).toEqual([{ at: 0, value: -1 }, { at: 0.25, value: 0 }, { at: 1, value: 3 }]);
    expect(finiteRange(new Float32Array([NaN, 2, -Infinity, -1, Infinity]))).toEqual([-1, 2]);
    expect(finiteRange(new Float32Array([NaN]))).toEqual([0, 0]);
  });
});

describe("which gradient", () => {
  it("an op: the gradient that flowed into its output, and what it sent to each input", () => {
    const inputs = inputsOf(graph, conv);
    expect(inputs.map((r) => [r.input, r.label, r.kind])).toEqual([[0, "x", "input"], [1, "weight", "param"]]);
    expect(slotsFor(conv, inputs)).toEqual(["value", "grad", "sent"]);
    const inWords = wordsFor(conv, "grad");
    expect(inWords.tab).toBe("gradient in");
    expect(inWords.title).toContain("∂loss/∂output");
    expect(inWords.explain).toContain("flowed back into conv2d");
    const out = wordsFor(conv, "sent", inputs[1]);
    expect(out.title).toBe("Gradient out to weight: ∂loss/∂weight");
    expect(out.explain).toContain("input 1 (weight)");
    expect(out.explain).toContain("lands in weight's .grad");   // a parameter's
    expect(wordsFor(conv, "sent", inputs[0]).explain).not.toContain(".grad");
  });
  it("a backward node: the gradient received and those sent, named after its forward op's inputs", () => {
    const inputs = inputsOf(graph, back);
    expect(inputs.map((r) => r.label)).toEqual(["x", "weight"]);
    expect(slotsFor(back, inputs)).toEqual(["grad", "sent"]);
    expect(wordsFor(back, "grad").tab).toBe("received");
    expect(wordsFor(back, "grad").explain).toContain("ConvolutionBackward0 was handed");
    expect(wordsFor(back, "sent", inputs[0]).tab).toBe("sent");
  });
  it("leaves: a parameter's gradient is its .grad; a constant has none", () => {
    expect(slotsFor(weight, [])).toEqual(["value", "grad"]);
    expect(wordsFor(weight, "grad").title).toBe("Gradient: ∂loss/∂weight");
    expect(wordsFor(weight, "grad").explain).toContain(".grad");
    expect(slotsFor(node(9, { kind: "const" }), [])).toEqual(["value"]);
    expect(slotsFor(node(9, { op: "sum" }), [])).toEqual(["value", "grad"]);   // no inputs known: no "sent" tab
  });
});

describe("downsampled flag", () => {
  it("says downsampled only when the preview has fewer points than the plane or vector it shows", () => {
    expect(isDownsampled(reply({}))).toBe(false);                                   // one channel of 4-D, full size
    expect(isDownsampled(reply({ truncated: true }))).toBe(false);                  // the flag alone does not decide
    expect(isDownsampled(reply({ shape: [2, 2, 300, 200], preview_shape: [100, 100] }))).toBe(true);
    expect(isDownsampled(reply({ shape: [1000, 300], preview_shape: [125, 100], index: null }))).toBe(true);
    expect(isDownsampled(reply({ shape: [10000], preview_kind: "values", preview_shape: [256], index: null }))).toBe(true);
    expect(isDownsampled(reply({ shape: [100], preview_kind: "values", preview_shape: [100], index: null }))).toBe(false);
    expect(isDownsampled(reply({ shape: [4, 3, 32, 32], preview_kind: "images", preview_shape: [1, 3, 32, 32], index: [0, -1] }))).toBe(false);
  });
  it("maps a preview point back to its place in the tensor", () => {
    const plane = planeOf(reply({ shape: [2, 2, 300, 200], preview_shape: [100, 100], index: [1, 0] }))!;
    expect(plane).toEqual({ rows: 300, cols: 200, stepY: 3, stepX: 2 });
    expect(pointIndex([1, 0], plane, 5, 7)).toEqual([1, 0, 15, 14]);
    expect(pointIndex(null, { stepY: 1, stepX: 1 }, 2, 3)).toEqual([2, 3]);
  });
});

describe("plane picker", () => {
  it("offers batch and channel for N,C,H,W, one index for 3-D, none below", () => {
    expect(planeDims([4, 64, 8, 8])).toEqual([{ name: "batch", size: 4, rgb: false }, { name: "channel", size: 64, rgb: false }]);
    expect(planeDims([4, 3, 32, 32])[1].rgb).toBe(true);
    expect(planeDims([5, 7, 9])).toEqual([{ name: "index", size: 5, rgb: false }]);
    expect(planeDims([30, 20])).toEqual([]);
    expect(planeDims(null)).toEqual([]);
    expect(planeDims([64, 3, 7, 7], true).map((d) => d.name)).toEqual(["out channel", "in channel"]);   // a conv weight
  });
  it("clamps what is typed into range, keeping RGB only where there are 3 channels", () => {
    expect(clampPlane([9, 3], [4, 64, 8, 8])).toEqual([3, 3]);
    expect(clampPlane([-4, 99], [4, 64, 8, 8])).toEqual([0, 63]);
    expect(clampPlane([1, -1], [4, 64, 8, 8])).toEqual([1, 0]);
    expect(clampPlane([1, -1], [4, 3, 8, 8])).toEqual([1, -1]);
    expect(clampPlane(null, [4, 64, 8, 8])).toEqual([0, 0]);
    expect(clampPlane([2.7], [5, 7, 9])).toEqual([2]);
    expect(clampPlane([1, 1], [8, 8])).toBeNull();
  });
  it("keeps batch and channel while the next tensor has the same leading dimensions", () => {
    expect(keepPlane([1, 3], [4, 64, 8, 8], [4, 64, 8, 8])).toEqual([1, 3]);
    expect(keepPlane([1, 3], [4, 64, 8, 8], [4, 64, 4, 4])).toEqual([1, 3]);   // a stride-2 conv: same N and C
    expect(keepPlane([1, 3], [4, 64, 8, 8], [4, 128, 4, 4])).toBeNull();
    expect(keepPlane([1, 3], [4, 64, 8, 8], [4, 512])).toBeNull();
    expect(keepPlane(null, [4, 64, 8, 8], [4, 64, 8, 8])).toBeNull();
  });
});

describe("facts", () => {
  it("says how much memory a tensor takes", () => {
    expect(bytesOf([4, 64, 8, 8], "float32")).toBe(65536);
    expect(bytesOf([], "float64")).toBe(8);
    expect(bytesOf([3], "mystery")).toBeNull();
    expect(bytesText(12)).toBe("12 B");
    expect(bytesText(65536)).toBe("64 KiB");
    expect(bytesText(1.5 * 1024 ** 3)).toBe("1.5 GiB");
  });
  it("shortens long paths to their last two parts", () => {
    expect(shortPath("graphgrad/models/resnet.py")).toBe("graphgrad/models/resnet.py");
    expect(shortPath("/home/someone/a/long/way/down/to/graphgrad/models/resnet.py")).toBe("…/models/resnet.py");
  });
});
