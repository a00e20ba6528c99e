// One tensor in the inspector: stats, histogram, and a preview that suits its shape
// (values table, heatmap for 2-D, image grid for 4-D). Pixels are drawn on canvases.
import type { TensorReply } from "./protocol";
import { fmt, h } from "./dom";

export function tensorPanel(title: string, t: TensorReply): HTMLElement {
  const box = h("section", "gg-tensor", h("h4", "gg-tensor-title", title));
  box.dataset.what = t.what;
  if (!t.available || !t.stats) {
    box.append(h("p", "gg-muted gg-reason", t.reason || "not available"));
    return box;
  }
  const s = t.stats;
  box.append(h("div", "gg-meta-line", `${t.dtype} · [${(t.shape ?? []).join(", ")}] · ${t.device}`));
  const rows: [string, string][] = [["min", fmt(s.min)], ["max", fmt(s.max)], ["mean", fmt(s.mean)],
    ["std", fmt(s.std)], ["norm", fmt(s.norm)], ["zeros", `${s.zeros} / ${s.numel}`]];
  if (s.nan || s.inf) rows.push(["NaN / Inf", `${s.nan} / ${s.inf}`]);
  const table = h("table", "gg-stats");
  for (const [k, v] of rows) table.append(h("tr", k === "NaN / Inf" ? "gg-bad" : "", h("th", "", k), h("td", "", v)));
  box.append(table);
  if (t.hist && s.numel > 1) box.append(histogram(t.hist, s.min, s.max));
  const p = t.preview!;
  if (t.preview_kind === "heatmap") box.append(heatmap(p, t.preview_shape[0], t.preview_shape[1]));
  if (t.preview_kind === "images") box.append(imageGrid(p, t.preview_shape));
  if ((t.preview_kind === "values" || t.preview_kind === "heatmap") && !t.truncated && p.length <= 256)
    box.append(valuesTable(p, t.preview_shape));
  else if (t.preview_kind === "values") {
    box.append(valuesTable(p, [p.length]));
    box.append(h("p", "gg-muted", `first ${p.length} of ${s.numel} values`));
  }
  if (t.truncated && t.preview_kind !== "values") box.append(h("p", "gg-muted", "preview downsampled"));
  return box;
}

function canvas(w: number, h_: number, cls: string): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const c = document.createElement("canvas");
  c.width = w; c.height = h_; c.className = cls;
  return [c, c.getContext("2d")!];
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function histogram(counts: Float64Array, lo: number, hi: number): HTMLElement {
  const [c, ctx] = canvas(280, 70, "gg-hist");
  const max = Math.max(...counts, 1), bw = c.width / counts.length;
  ctx.fillStyle = cssVar("--jp-brand-color1", "#1976d2");
  counts.forEach((n, i) => {
    const bh = n > 0 ? Math.max(1, (n / max) * (c.height - 2)) : 0;
    ctx.fillRect(i * bw + 0.5, c.height - bh, Math.max(1, bw - 1), bh);
  });
  return h("figure", "gg-figure", c, h("figcaption", "gg-muted", `${fmt(lo)} … ${fmt(hi)}`));
}

/** Diverging blue-white-red around 0 when values have both signs, else a sequential ramp; NaN magenta. */
export function colour(v: number, lo: number, hi: number): [number, number, number] {
  if (Number.isNaN(v)) return [255, 0, 255];
  if (!Number.isFinite(v)) return v > 0 ? [255, 215, 0] : [0, 0, 0];
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi), f = Math.min(1, Math.abs(v) / m);
    return v < 0 ? [255 * (1 - f) + 33 * f, 255 * (1 - f) + 102 * f, 255 * (1 - f) + 172 * f]
      : [255 * (1 - f) + 178 * f, 255 * (1 - f) + 24 * f, 255 * (1 - f) + 43 * f];
  }
  const f = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  return [68 + f * (253 - 68), 1 + f * (231 - 1), 84 + f * (37 - 84)];   // viridis' ends
}

function range(p: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of p) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return lo <= hi ? [lo, hi] : [0, 0];
}

export function heatmap(p: Float32Array, rows: number, cols: number): HTMLElement {
  const [c, ctx] = canvas(cols, rows, "gg-heatmap");
  const img = ctx.createImageData(cols, rows), [lo, hi] = range(p);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = colour(p[i], lo, hi);
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  const scale = Math.max(1, Math.floor(Math.min(260 / cols, 200 / rows)));
  c.style.width = `${cols * scale}px`; c.style.height = `${rows * scale}px`;
  return h("figure", "gg-figure", c, h("figcaption", "gg-muted", `heatmap ${rows}×${cols}`));
}

/** N images of C (1 or 3) channels, H×W each, normalised together, in a grid. */
export function imageGrid(p: Float32Array, shape: number[]): HTMLElement {
  const [n, ch, hh, ww] = shape, per = Math.ceil(Math.sqrt(n)), gap = 2;
  const [c, ctx] = canvas(per * (ww + gap), Math.ceil(n / per) * (hh + gap), "gg-images");
  const [lo, hi] = range(p), span = hi > lo ? hi - lo : 1;
  const img = ctx.createImageData(c.width, c.height);
  for (let k = 0; k < n; k++) {
    const ox = (k % per) * (ww + gap), oy = Math.floor(k / per) * (hh + gap);
    for (let y = 0; y < hh; y++) for (let x = 0; x < ww; x++) {
      const at = (chn: number) => p[((k * ch + chn) * hh + y) * ww + x];
      const v = [0, 1, 2].map((i) => at(ch === 3 ? i : 0));
      const o = 4 * ((oy + y) * c.width + ox + x);
      if (v.some(Number.isNaN)) img.data.set([255, 0, 255, 255], o);
      else img.data.set([...v.map((x_) => 255 * (x_ - lo) / span), 255], o);
    }
  }
  ctx.putImageData(img, 0, 0);
  const scale = Math.max(1, Math.floor(260 / c.width));
  c.style.width = `${c.width * scale}px`;
  return h("figure", "gg-figure", c, h("figcaption", "gg-muted", `${n} image${n > 1 ? "s" : ""}, ${ch} channel${ch > 1 ? "s" : ""}, ${hh}×${ww}`));
}

export function valuesTable(p: Float32Array, shape: number[]): HTMLElement {
  const cols = shape.length >= 2 ? shape[shape.length - 1] : Math.min(8, p.length || 1);
  const table = h("table", "gg-values");
  for (let r = 0; r * cols < p.length; r++) {
    const tr = h("tr");
    for (let c = 0; c < cols && r * cols + c < p.length; c++) tr.append(h("td", "", fmt(p[r * cols + c])));
    table.append(tr);
  }
  return h("div", "gg-values-wrap", table);
}
