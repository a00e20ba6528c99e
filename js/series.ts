// Training-curve data: each series' points as sent (appended in batches, or replaced whole when Python
// thinned its bounded series), aligned on one x axis per chart when drawn (what uPlot draws), raw and
// smoothed by an exponential moving average (TensorBoard's) side by side.
import type { SeriesPoints } from "./protocol";

interface Points { x: number[]; y: number[]; tail: [number, number] | null }

export class ChartData {
  names: string[] = [];
  private points = new Map<string, Points>();

  /** Append points (replace: drop the series' earlier points first); x values usually grow. `tail`: the
   * series' latest point, drawn after the others though a thinned series does not keep it. */
  add(name: string, x: ArrayLike<number>, y: ArrayLike<number>, replace = false, tail: [number, number] | null = null): void {
    let p = this.points.get(name);
    if (!p || replace) {
      if (!p) this.names.push(name);
      p = { x: [], y: [], tail: null };
      this.points.set(name, p);
    }
    if (tail) p.tail = tail;
    const sorted = !p.x.length || !x.length || x[0] > p.x[p.x.length - 1];
    for (let i = 0; i < x.length; i++) { p.x.push(x[i]); p.y.push(y[i]); }
    if (!sorted) {
      const order = p.x.map((_, i) => i).sort((a, b) => p!.x[a] - p!.x[b]);
      p.x = order.map((i) => p!.x[i]);
      p.y = order.map((i) => p!.y[i]);
    }
  }

  get count(): number { let n = 0; for (const name of this.names) n += this.xy(name).x.length; return n; }

  /** The last point of a series ([x, y]), or null. */
  last(name: string): [number, number] | null {
    const p = this.xy(name);
    return p.x.length ? [p.x[p.x.length - 1], p.y[p.y.length - 1]] : null;
  }

  /** A series' points with its tail after them when the tail is newer. */
  private xy(name: string): { x: number[]; y: number[] } {
    const p = this.points.get(name)!;
    if (!p.tail || (p.x.length && p.tail[0] <= p.x[p.x.length - 1])) return p;
    return { x: [...p.x, p.tail[0]], y: [...p.y, p.tail[1]] };
  }

  /** uPlot's data: [xs, ...one column per series] on the union of the series' x values; `smooth` > 0
   * adds each series' smoothed column right after its raw one. positiveOnly (log scale) drops values <= 0. */
  aligned(smooth: number, positiveOnly = false): (number | null)[][] {
    const series = this.names.map((n) => this.xy(n));
    const xs = [...new Set(series.flatMap((p) => p.x))].sort((a, b) => a - b);
    const col = new Map(xs.map((x, i) => [x, i]));
    const out: (number | null)[][] = [xs];
    const keep = (v: number | null) => (positiveOnly && (v == null || !(v > 0)) ? null : v);
    for (const p of series) {
      const raw: (number | null)[] = new Array(xs.length).fill(null);
      p.x.forEach((x, i) => { raw[col.get(x)!] = p.y[i]; });
      out.push(raw.map(keep));
      if (smooth > 0) out.push(ema(raw, smooth).map(keep));
    }
    return out;
  }
}

/** Debiased exponential moving average, skipping gaps and non-finite values (as TensorBoard smooths). */
export function ema(ys: (number | null)[], weight: number): (number | null)[] {
  let last = 0, n = 0;
  return ys.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

/** Series grouped by chart, charts in the order first seen. */
export function groupByChart(series: SeriesPoints[]): Map<string, SeriesPoints[]> {
  const out = new Map<string, SeriesPoints[]>();
  for (const s of series) out.set(s.chart, [...(out.get(s.chart) ?? []), s]);
  return out;
}

/** The y of a series at step x (exact), for a marker on its curve; null when it has no finite point there. */
export function valueAt(data: (number | null)[][], column: number, x: number): number | null {
  const xs = data[0] as number[];
  let lo = 0, hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] === x) { const v = data[column][mid]; return v != null && Number.isFinite(v) ? v : null; }
    if (xs[mid] < x) lo = mid + 1; else hi = mid - 1;
  }
  return null;
}

/** "1:05" / "2:03:04" for seconds left. */
export function duration(seconds: number): string {
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (v: number) => String(v).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}
