// One tensor in the inspector: the plane picker of a tensor of 3 or more dimensions, a heatmap (or an
// RGB picture) with its colour bar and the value under the pointer, a histogram, and a values table
// when it is small. Pixels are drawn on canvases; numbers and names are text, never HTML.
import type { Stats, TensorReply } from "./protocol";
import { fmt, h } from "./dom";

// ---- pure parts (js/test/inspector.test.ts) -------------------------------------------------------
export type RGB = [number, number, number];
const NAN: RGB = [255, 0, 255], POS_INF: RGB = [255, 215, 0], NEG_INF: RGB = [0, 0, 0];

/** Diverging blue-white-red around 0 when values have both signs, else a sequential ramp (viridis'
 *  ends); NaN magenta, +Inf gold, -Inf black. */
export function colour(v: number, lo: number, hi: number): RGB {
  if (Number.isNaN(v)) return NAN;
  if (!Number.isFinite(v)) return v > 0 ? POS_INF : NEG_INF;
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi), f = Math.min(1, Math.abs(v) / m);
    return v < 0 ? [255 * (1 - f) + 33 * f, 255 * (1 - f) + 102 * f, 255 * (1 - f) + 172 * f]
      : [255 * (1 - f) + 178 * f, 255 * (1 - f) + 24 * f, 255 * (1 - f) + 43 * f];
  }
  const f = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
  return [68 + f * (253 - 68), 1 + f * (231 - 1), 84 + f * (37 - 84)];
}

/** The finite range of a preview ([0, 0] when nothing in it is finite). */
export function finiteRange(p: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** The colour bar's ticks: its ends, and 0 where a diverging scale turns (as fractions along the bar). */
export function colourTicks(lo: number, hi: number): { at: number; value: number }[] {
  const ticks = [{ at: 0, value: lo }, { at: 1, value: hi }];
  if (lo < 0 && hi > 0) ticks.splice(1, 0, { at: -lo / (hi - lo), value: 0 });
  return ticks;
}

/** The 2-D plane a preview shows: its rows and columns in the tensor, and each preview step in them. */
export function planeOf(t: Pick<TensorReply, "shape" | "preview_kind" | "preview_shape">): { rows: number; cols: number; stepY: number; stepX: number } | null {
  const shape = t.shape ?? [], ps = t.preview_shape;
  if (t.preview_kind !== "heatmap" && t.preview_kind !== "images") return null;
  if (shape.length < 2 || ps.length < 2) return null;
  const rows = shape[shape.length - 2], cols = shape[shape.length - 1];
  const pr = ps[ps.length - 2], pc = ps[ps.length - 1];
  return { rows, cols, stepY: pr ? Math.ceil(rows / pr) : 1, stepX: pc ? Math.ceil(cols / pc) : 1 };
}

/** Whether the preview shows fewer points than the plane (or vector) it stands for: only then is it
 *  "downsampled" (a 4-D tensor's one channel at full size is not). */
export function isDownsampled(t: Pick<TensorReply, "shape" | "preview_kind" | "preview_shape" | "truncated">): boolean {
  const plane = planeOf(t);
  if (plane) return plane.stepY > 1 || plane.stepX > 1;
  if (t.preview_kind === "values") {
    const numel = (t.shape ?? []).reduce((a, b) => a * b, 1);
    return t.preview_shape.reduce((a, b) => a * b, 1) < numel;
  }
  return false;
}

export interface PlaneDim { name: string; size: number; rgb: boolean }

/** The leading dimensions a plane picker offers for a shape (none below 3-D): batch and channel of
 *  N,C,H,W (a conv weight's: its output and input channels); a channel axis of 3 also offers its
 *  channels together as one RGB picture. */
export function planeDims(shape: number[] | null | undefined, weight = false): PlaneDim[] {
  if (!shape || shape.length < 3) return [];
  const lead = shape.slice(0, -2);
  const names = lead.length === 1 ? ["index"] : [...(weight ? ["out channel", "in channel"] : ["batch", "channel"]),
    ...lead.slice(2).map((_, i) => `dim ${i + 2}`)];
  return lead.map((size, i) => ({ name: names[i], size, rgb: i === lead.length - 1 && size === 3 }));
}

/** An index for those dimensions, each clamped into range (-1 kept where RGB is offered). */
export function clampPlane(index: readonly number[] | null | undefined, shape: number[] | null | undefined): number[] | null {
  const dims = planeDims(shape);
  if (!dims.length) return null;
  return dims.map((d, i) => {
    const v = Math.trunc(index?.[i] ?? 0);
    if (v === -1 && d.rgb) return -1;
    return Math.min(Math.max(v, 0), d.size - 1);
  });
}

/** The tensor index of a preview point: leading plane indices, then the row and column it stands for. */
export function pointIndex(index: readonly number[] | null, plane: { stepY: number; stepX: number }, y: number, x: number): number[] {
  return [...(index ?? []).filter((i) => i >= 0), y * plane.stepY, x * plane.stepX];
}

// ---- the panel ------------------------------------------------------------------------------------
export interface PanelOptions {
  /** the words above the figures: which tensor this is, for a learner */
  title: string; explain?: string;
  /** a plane picked (leading indices) or a new input chosen: the inspector asks Python again */
  onPlane?: (index: number[]) => void;
  extra?: HTMLElement | null;   // controls above the picture (the input picker of "sent")
  weight?: boolean;             // a parameter's tensor: its dimensions are channels out and in, not a batch
}

export function tensorPanel(t: TensorReply, opts: PanelOptions): HTMLElement {
  const box = h("section", "gg-tensor", h("div", "gg-tensor-title", opts.title));
  box.dataset.what = t.what;
  if (t.index) box.dataset.index = t.index.join(",");
  if (opts.explain) box.append(h("p", "gg-explain", opts.explain));
  if (opts.extra) box.append(opts.extra);
  if (!t.available || !t.stats) {
    box.append(h("p", "gg-muted gg-reason", t.reason || "not available"));
    return box;
  }
  box.append(h("div", "gg-meta-line", `${t.dtype} · [${(t.shape ?? []).join(", ")}] · ${t.device}`));
  const picker = planePicker(t, opts.onPlane, opts.weight);
  if (picker) box.append(picker);
  const p = t.preview!;
  const plane = planeOf(t);
  if (t.preview_kind === "heatmap" && plane) box.append(heatmap(p, t, plane));
  if (t.preview_kind === "images" && plane) box.append(rgbImage(p, t, plane));
  if (isDownsampled(t) && plane) box.append(h("p", "gg-muted gg-small gg-downsampled",
    `downsampled: every ${plane.stepY > 1 ? `${plane.stepY}th row` : "row"}, ${plane.stepX > 1 ? `${plane.stepX}th column` : "column"}`));
  if (t.preview_kind === "values" || (t.preview_kind === "heatmap" && p.length <= 64 && !isDownsampled(t))) {   // a few numbers: all of them
    box.append(valuesTable(p, t.preview_kind === "values" ? [p.length] : t.preview_shape));
    if (t.preview_kind === "values" && isDownsampled(t)) box.append(h("p", "gg-muted gg-small", `first ${p.length} of ${t.stats.numel} values`));
  }
  if (t.hist && t.stats.numel > 1) box.append(histogram(t.hist, t.stats));
  return box;
}

/** The figures that matter first, value beside gradient: one column per tensor (stats null: still
 *  loading, or not available for `reason`, said below the table). */
export function figuresTable(columns: { slot: string; head: string; title: string; stats: Stats | null; reason?: string }[]): HTMLElement {
  const table = h("table", "gg-figures");
  table.dataset.ready = columns.filter((c) => c.stats).map((c) => c.slot).join(" ");
  const head = h("tr", "", h("th", ""));
  for (const c of columns) {
    const th = h("th", "gg-fig-head", c.head);
    th.title = c.title;
    head.append(th);
  }
  table.append(head);
  const rows: [string, string, (s: Stats) => string][] = [
    ["min", "smallest finite value", (s) => fmt(s.min)], ["max", "largest finite value", (s) => fmt(s.max)],
    ["mean", "mean of the finite values", (s) => fmt(s.mean)], ["std", "standard deviation of the finite values", (s) => fmt(s.std)],
    ["norm", "L2 norm (of the finite values)", (s) => fmt(s.norm)], ["zeros", "entries exactly 0", (s) => `${s.zeros}`],
    ["NaN", "entries that are NaN", (s) => `${s.nan}`], ["Inf", "entries that are ±Inf", (s) => `${s.inf}`],
  ];
  for (const [name, title, get] of rows) {
    const tr = h("tr", "", h("th", "", name));
    tr.title = title;
    tr.dataset.stat = name;
    for (const c of columns) {
      const td = h("td", "", c.stats ? get(c.stats) : c.reason ? "–" : "…");
      if (c.stats && ((name === "NaN" && c.stats.nan) || (name === "Inf" && c.stats.inf))) td.classList.add("gg-bad");
      if (!c.stats && c.reason) td.title = c.reason;
      tr.append(td);
    }
    table.append(tr);
  }
  const notes = columns.filter((c) => !c.stats && c.reason).map((c) => h("div", "gg-fig-note", `${c.head}: ${c.reason}`));
  return notes.length ? h("div", "", table, ...notes) : table;
}

function planePicker(t: TensorReply, onPlane?: (index: number[]) => void, weight = false): HTMLElement | null {
  const dims = planeDims(t.shape, weight);
  if (!dims.length || !onPlane) return null;
  const index = clampPlane(t.index, t.shape)!;
  const box = h("div", "gg-picker");
  dims.forEach((d, i) => {
    const label = h("label", "gg-pick", `${d.name} `);
    label.dataset.dim = d.name.replace(" ", "-");
    const input = h("input", "gg-pick-input") as HTMLInputElement;
    input.type = "number";
    input.min = d.rgb ? "-1" : "0";
    input.max = String(d.size - 1);
    input.value = index[i] === -1 ? "" : String(index[i]);
    input.setAttribute("aria-label", `${d.name} (0 to ${d.size - 1})`);
    input.addEventListener("change", () => {
      const next = [...index];
      next[i] = Number(input.value);
      onPlane(clampPlane(next, t.shape)!);
    });
    label.append(input, h("span", "gg-muted", ` / ${d.size}`));
    if (d.rgb) {
      const rgb = h("input") as HTMLInputElement;
      rgb.type = "checkbox";
      rgb.checked = index[i] === -1;
      rgb.addEventListener("change", () => { const next = [...index]; next[i] = rgb.checked ? -1 : 0; onPlane(next); });
      input.disabled = rgb.checked;
      label.append(h("label", "gg-small", rgb, " RGB"));
    }
    box.append(label);
  });
  return box;
}

function canvas(w: number, h_: number, cls: string): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const c = document.createElement("canvas");
  c.width = Math.max(1, w); c.height = Math.max(1, h_); c.className = cls;
  return [c, c.getContext("2d")!];
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const WIDTH = 280;   // the figures' width in CSS pixels (the inspector is 340 px wide)

export function histogram(counts: Float64Array, s: Stats): HTMLElement {
  const [c, ctx] = canvas(WIDTH, 56, "gg-hist");
  const max = Math.max(...counts, 1), bw = c.width / counts.length;
  ctx.fillStyle = cssVar("--jp-brand-color1", "#1976d2");
  counts.forEach((n, i) => {
    const bh = n > 0 ? Math.max(1, (n / max) * (c.height - 2)) : 0;
    ctx.fillRect(i * bw + 0.5, c.height - bh, Math.max(1, bw - 1), bh);
  });
  const caption = h("figcaption", "gg-muted gg-axis", h("span", "", fmt(s.min)), h("span", "", "histogram"), h("span", "", fmt(s.max)));
  return h("figure", "gg-figure", c, caption);
}

/** The pointer's value under a picture, written into `out`. */
function hover(c: HTMLCanvasElement, out: HTMLElement, rows: number, cols: number, read: (y: number, x: number) => string) {
  const idle = out.textContent ?? "";
  c.addEventListener("mousemove", (ev) => {
    const r = c.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - r.left) / r.width) * cols), y = Math.floor(((ev.clientY - r.top) / r.height) * rows);
    if (x < 0 || y < 0 || x >= cols || y >= rows) return;
    out.textContent = read(y, x);
    out.classList.add("gg-readout-on");
  });
  c.addEventListener("mouseleave", () => { out.textContent = idle; out.classList.remove("gg-readout-on"); });
}

/** Draws a picture's pixels as squares as large as fit; returns its width in CSS pixels. */
function scaled(c: HTMLCanvasElement, rows: number, cols: number): number {
  const scale = Math.max(1, Math.min(WIDTH / cols, 160 / rows)), width = Math.round(cols * scale);
  c.style.width = `${width}px`;
  c.style.height = `${Math.round(rows * scale)}px`;
  return width;
}

export function heatmap(p: Float32Array, t: TensorReply, plane: { stepY: number; stepX: number }): HTMLElement {
  const rows = t.preview_shape[t.preview_shape.length - 2], cols = t.preview_shape[t.preview_shape.length - 1];
  const [c, ctx] = canvas(cols, rows, "gg-heatmap");
  const img = ctx.createImageData(cols, rows), [lo, hi] = finiteRange(p);
  for (let i = 0; i < rows * cols; i++) img.data.set([...colour(p[i], lo, hi), 255], 4 * i);
  ctx.putImageData(img, 0, 0);
  const width = scaled(c, rows, cols);
  const readout = h("div", "gg-readout gg-small", "hover for values");
  hover(c, readout, rows, cols, (y, x) => `[${pointIndex(t.index, plane, y, x).join(", ")}] = ${fmt(p[y * cols + x])}`);
  return h("figure", "gg-figure", c, colourBar(lo, hi, p, Math.max(width, 160)), readout);
}

/** The scale beside a heatmap: the colours from the plane's finite min to its max, labelled, and the
 *  colours of NaN and ±Inf when the plane has them. */
function colourBar(lo: number, hi: number, p: Float32Array, width: number): HTMLElement {
  const bar = p.some(Number.isFinite) ? scale(lo, hi, width)   // no scale to show when every entry is NaN/Inf
    : h("div", "gg-colourbar-box gg-small", "no finite values: each entry is drawn in its colour below");
  bar.style.width = `${width}px`;
  const special: [string, RGB, (v: number) => boolean][] = [["NaN", NAN, Number.isNaN], ["+Inf", POS_INF, (v) => v === Infinity],
    ["−Inf", NEG_INF, (v) => v === -Infinity]];
  const present = special.filter(([, , test]) => p.some(test));
  if (present.length) {
    const keys = h("div", "gg-colour-keys gg-small");
    for (const [name, [r, g, b]] of present) {
      const chip = h("span", "gg-chip");
      chip.style.background = `rgb(${r}, ${g}, ${b})`;
      keys.append(h("span", "", chip, ` ${name} `));
    }
    bar.append(keys);
  }
  return bar;
}

/** The colours from lo to hi, labelled at its ends (and at 0 on a diverging scale). */
function scale(lo: number, hi: number, width: number): HTMLElement {
  const [c, ctx] = canvas(WIDTH, 1, "gg-colourbar");
  for (let x = 0; x < c.width; x++) {
    const [r, g, b] = colour(lo + ((hi - lo) * x) / (c.width - 1), lo, hi);
    ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
    ctx.fillRect(x, 0, 1, 1);
  }
  const labels = h("div", "gg-colourbar-labels");
  for (const tick of colourTicks(lo, hi)) {
    const span = h("span", "gg-tick", fmt(tick.value));
    span.style.left = `${(tick.at * 100).toFixed(1)}%`;
    span.dataset.at = tick.at === 0 ? "min" : tick.at === 1 ? "max" : "zero";
    labels.append(span);
  }
  const bar = h("div", "gg-colourbar-box", c, labels);
  c.style.width = `${width}px`;
  return bar;
}

/** One picture of 3 channels (C,H,W in the preview's last three dimensions) as RGB, its values
 *  normalised together; the pointer reads the three values. */
export function rgbImage(p: Float32Array, t: TensorReply, plane: { stepY: number; stepX: number }): HTMLElement {
  const ps = t.preview_shape, hh = ps[ps.length - 2], ww = ps[ps.length - 1];
  const [c, ctx] = canvas(ww, hh, "gg-images");
  const [lo, hi] = finiteRange(p), span = hi > lo ? hi - lo : 1;
  const img = ctx.createImageData(ww, hh);
  const at = (ch: number, y: number, x: number) => p[(ch * hh + y) * ww + x];
  for (let y = 0; y < hh; y++) for (let x = 0; x < ww; x++) {
    const v = [0, 1, 2].map((ch) => at(ch, y, x));
    img.data.set(v.some(Number.isNaN) ? [...NAN, 255] : [...v.map((u) => (255 * (u - lo)) / span), 255], 4 * (y * ww + x));
  }
  ctx.putImageData(img, 0, 0);
  scaled(c, hh, ww);
  const readout = h("div", "gg-readout gg-small", `RGB from channels 0, 1, 2 (${fmt(lo)} black … ${fmt(hi)} white); hover for values`);
  const lead = (t.index ?? []).slice(0, -1);
  hover(c, readout, hh, ww, (y, x) => `[${[...lead, ":", y * plane.stepY, x * plane.stepX].join(", ")}] = ${[0, 1, 2].map((ch) => fmt(at(ch, y, x))).join(", ")}`);
  return h("figure", "gg-figure", c, readout);
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
