// Training-curve data: series aligned on one x axis per chart (what uPlot draws), appended in
// batches, with exponential-moving-average smoothing (TensorBoard's) computed on demand.
import type { SeriesPoints } from "./protocol";

export class ChartData {
  xs: number[] = [];
  names: string[] = [];
  ys: (number | null)[][] = [];
  private index = new Map<number, number>();   // x -> column

  /** Append points; x values usually grow, anything else is merged and re-sorted. */
  add(name: string, x: Float64Array, y: Float64Array): void {
    let s = this.names.indexOf(name);
    if (s < 0) {
      s = this.names.push(name) - 1;
      this.ys.push(new Array(this.xs.length).fill(null));
    }
    let sorted = true;
    for (let i = 0; i < x.length; i++) {
      let col = this.index.get(x[i]);
      if (col === undefined) {
        if (this.xs.length && x[i] < this.xs[this.xs.length - 1]) sorted = false;
        col = this.xs.push(x[i]) - 1;
        this.index.set(x[i], col);
        for (const ys of this.ys) ys.push(null);
      }
      this.ys[s][col] = y[i];
    }
    if (!sorted) this.sort();
  }

  private sort(): void {
    const order = this.xs.map((_, i) => i).sort((a, b) => this.xs[a] - this.xs[b]);
    this.xs = order.map((i) => this.xs[i]);
    this.ys = this.ys.map((ys) => order.map((i) => ys[i]));
    this.index = new Map(this.xs.map((x, i) => [x, i]));
  }

  get points(): number { return this.ys.reduce((a, ys) => a + ys.filter((v) => v != null).length, 0); }

  /** uPlot's data: [xs, ...series], smoothed by an EMA with weight `smooth` (0 = raw). */
  aligned(smooth: number, positiveOnly = false): (number | null)[][] {
    return [this.xs, ...this.ys.map((ys) => {
      const out = smooth > 0 ? ema(ys, smooth) : ys.slice();
      return positiveOnly ? out.map((v) => (v != null && v > 0 ? v : null)) : out;
    })];
  }
}

/** Debiased exponential moving average, skipping gaps (as TensorBoard smooths). */
export function ema(ys: (number | null)[], weight: number): (number | null)[] {
  let last = 0, n = 0;
  return ys.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

export function groupByChart(series: SeriesPoints[]): Map<string, SeriesPoints[]> {
  const out = new Map<string, SeriesPoints[]>();
  for (const s of series) out.set(s.chart, [...(out.get(s.chart) ?? []), s]);
  return out;
}
