/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { ChartData, duration, ema, valueAt } from "../series";

const f = (...v: number[]) => new Float64Array(v);

describe("chart data", () => {
  it("aligns series on one x axis, appending batches", () => {
    const d = new ChartData();
    d.add("loss", f(0, 1, 2), f(3, 2, 1));
    d.add("acc", f(1), f(0.5));
    d.add("loss", f(3), f(0.5));
    expect(d.aligned(0)).toEqual([[0, 1, 2, 3], [3, 2, 1, 0.5], [null, 0.5, null, null]]);
    expect(d.count).toBe(5);
    expect(d.last("loss")).toEqual([3, 0.5]);
  });

  it("sorts x values that arrive out of order", () => {
    const d = new ChartData();
    d.add("a", f(5, 6), f(1, 2));
    d.add("a", f(1), f(9));
    expect(d.aligned(0)).toEqual([[1, 5, 6], [9, 1, 2]]);
  });

  it("replaces a series Python thinned, keeping the others", () => {
    const d = new ChartData();
    d.add("train", f(0, 1, 2, 3), f(4, 3, 2, 1));
    d.add("eval", f(3), f(2));
    d.add("train", f(0, 2, 4), f(4, 2, 0.5), true);
    expect(d.aligned(0)).toEqual([[0, 2, 3, 4], [4, 2, null, 0.5], [null, null, 2, null]]);
    expect(d.count).toBe(4);
  });

  it("puts each series' smoothed column right after its raw one", () => {
    const d = new ChartData();
    d.add("a", f(0, 1), f(0, 10));
    d.add("b", f(0, 1), f(1, 1));
    const cols = d.aligned(0.5);
    expect(cols.length).toBe(5);
    expect(cols[1]).toEqual([0, 10]);
    expect(cols[2][1]).toBeCloseTo((0.5 * 10) / 0.75);
    expect(cols[4]).toEqual([1, 1].map(() => expect.closeTo(1, 10)));
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
    expect(d.count).toBe(n);
    expect(d.aligned(0.9)[2].length).toBe(n);
  });
});

describe("smoothing and helpers", () => {
  it("is a debiased moving average that skips gaps", () => {
    expect(ema([2, 2, null, 2], 0.9)).toEqual([2, 2, null, 2].map((v) => (v == null ? v : expect.closeTo(2, 10))));
    const s = ema([0, 10], 0.5) as number[];
    expect(s[0]).toBeCloseTo(0);
    expect(s[1]).toBeCloseTo((0.5 * 10) / 0.75);
  });

  it("finds a curve's value at a marked step, none where it is not finite", () => {
    const cols = [[0, 5, 9], [1, NaN, 3]];
    expect(valueAt(cols, 1, 9)).toBe(3);
    expect(valueAt(cols, 1, 5)).toBeNull();
    expect(valueAt(cols, 1, 4)).toBeNull();
  });

  it("writes time left as tqdm does", () => {
    expect(duration(65)).toBe("1:05");
    expect(duration(7384)).toBe("2:03:04");
  });
});

describe("a thinned series' latest point", () => {
  it("is drawn after the kept points and read as the latest value", () => {
    const d = new ChartData();
    d.add("loss", f(0, 4, 8), f(3, 2, 1), false, [10, 0.5]);
    expect(d.aligned(0)).toEqual([[0, 4, 8, 10], [3, 2, 1, 0.5]]);
    expect(d.last("loss")).toEqual([10, 0.5]);
    d.add("loss", f(12), f(0.4), false, [12, 0.4]);   // kept since: drawn once
    expect(d.aligned(0)[0]).toEqual([0, 4, 8, 12]);
    expect(d.count).toBe(4);
  });
});
