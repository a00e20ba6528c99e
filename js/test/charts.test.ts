/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { decodePoints } from "../protocol";
import { ChartData } from "../series";

describe("monitor points", () => {
  it("carry each series' latest point after its points, NaN included (no JSON)", () => {
    const xy = new Float64Array([0, 2.5, 4, 1.5, 9, NaN]);   // two kept points, then the latest
    const p = decodePoints({ type: "points", reset: false, series: [{ name: "train", chart: "loss", count: 2, replace: true, tail: true }] },
      [new DataView(xy.buffer)]);
    const s = p.series[0];
    expect(Array.from(s.x)).toEqual([0, 4]);
    expect(s.replace).toBe(true);
    expect(s.last![0]).toBe(9);
    expect(Number.isNaN(s.last![1])).toBe(true);
    const d = new ChartData();
    d.add(s.name, s.x, s.y, s.replace, s.last);
    expect(d.last("train")![0]).toBe(9);            // the legend's latest: step 9, nan
    expect(d.aligned(0)[0]).toEqual([0, 4, 9]);
  });

  it("without a tail, the buffer is the points alone", () => {
    const xy = new Float64Array([1, 2]);
    const p = decodePoints({ type: "points", reset: true, series: [{ name: "a", chart: "c", count: 1 }] }, [xy.buffer]);
    expect(p.series[0].last).toBeNull();
  });
});
