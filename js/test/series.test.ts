/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { ChartData, ema } from "../series";

const f = (...v: number[]) => new Float64Array(v);

describe("chart data", () => {
  it("aligns series on one x axis, appending batches", () => {
    const d = new ChartData();
    d.add("loss", f(0, 1, 2), f(3, 2, 1));
    d.add("acc", f(1), f(0.5));
    d.add("loss", f(3), f(0.5));
    expect(d.aligned(0)).toEqual([[0, 1, 2, 3], [3, 2, 1, 0.5], [null, 0.5, null, null]]);
    expect(d.points).toBe(5);
  });

  it("sorts x values that arrive out of order", () => {
    const d = new ChartData();
    d.add("a", f(5, 6), f(1, 2));
    d.add("a", f(1), f(9));
    expect(d.aligned(0)).toEqual([[1, 5, 6], [9, 1, 2]]);
  });

  it("drops values a log scale cannot show", () => {
    const d = new ChartData();
    d.add("g", f(0, 1, 2), f(1, 0, -1));
    expect(d.aligned(0, true)[1]).toEqual([1, null, null]);
  });

  it("holds tens of thousands of points", () => {
    const d = new ChartData();
    const n = 50_000, xs = new Float64Array(n).map((_, i) => i), ys = xs.map((x) => 1 / (1 + x));
    for (let i = 0; i < n; i += 500) d.add("loss", xs.subarray(i, i + 500), ys.subarray(i, i + 500));
    expect(d.xs.length).toBe(n);
    expect(d.aligned(0.9)[1].length).toBe(n);
  });
});

describe("smoothing", () => {
  it("is a debiased moving average that skips gaps", () => {
    expect(ema([2, 2, null, 2], 0.9)).toEqual([2, 2, null, 2].map((v) => (v == null ? v : expect.closeTo(2, 10))));
    const s = ema([0, 10], 0.5) as number[];
    expect(s[0]).toBeCloseTo(0);
    expect(s[1]).toBeCloseTo((0.5 * 10) / 0.75);
  });
});
