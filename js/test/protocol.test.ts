/// <reference types="node" />
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodePoints, decodeTensor, spec, STATS } from "../protocol";

const shared = JSON.parse(readFileSync(new URL("../../tests/viz_protocol.json", import.meta.url), "utf8"));

describe("protocol", () => {
  it("agrees with the spec that the Python half is checked against", () => {
    expect(JSON.parse(JSON.stringify(spec()))).toEqual(shared);
  });

  it("decodes a tensor reply from unaligned buffers", () => {
    const stats = new Float64Array(STATS.length).map((_, i) => i + 0.5);
    // a DataView at an odd offset of a larger buffer, as a websocket frame may hand it over
    const pack = (a: ArrayBufferView) => {
      const big = new Uint8Array(a.byteLength + 3);
      big.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), 3);
      return new DataView(big.buffer, 3, a.byteLength);
    };
    const msg = { type: "tensor", request: 7, node: 3, what: "grad", available: true, reason: "", shape: [2, 2],
      dtype: "float32", device: "cpu", preview_kind: "heatmap", preview_shape: [2, 2], truncated: false, index: null };
    const t = decodeTensor(msg, [pack(stats), pack(new Float64Array(32).fill(1)), pack(new Float32Array([1, -2, NaN, 4]))]);
    expect(t.stats!.min).toBe(1.5);
    expect(t.stats!.zeros).toBe(8.5);
    expect(t.hist!.length).toBe(32);
    expect(Array.from(t.preview!)).toEqual([1, -2, NaN, 4]);
  });

  it("rejects a message missing fields", () => {
    expect(() => decodeTensor({ type: "tensor", request: 1 }, [])).toThrow(/lacks/);
  });

  it("decodes interleaved curve points per series", () => {
    const xy = new Float64Array([0, 1.5, 1, 1.25, 2, 1.0]);
    const p = decodePoints({ type: "points", reset: true, series: [{ name: "loss", chart: "loss", count: 3 }] }, [xy.buffer]);
    expect(p.reset).toBe(true);
    expect(Array.from(p.series[0].x)).toEqual([0, 1, 2]);
    expect(Array.from(p.series[0].y)).toEqual([1.5, 1.25, 1.0]);
  });
});
