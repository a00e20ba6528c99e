// Live training curves with uPlot: one chart per metric (its runs — train, eval — as series), raw and
// smoothed curves together, a legend that always shows a value (the cursor's, else the latest), one cursor
// across all charts, log scale, the monitor's kept steps as clickable marks, its rate and time left, and
// diagnostics flags. Colours follow JupyterLab's theme, also when it changes. Redraws: one per frame.
import uPlot from "uplot";
import { button, fmt, h } from "./dom";
import type { Marker, MonitorState, SeriesPoints } from "./protocol";
import { ChartData, duration, groupByChart, valueAt } from "./series";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const LOG_BY_DEFAULT = new Set(["grad norm", "update/weight"]);
const FRACTIONS = new Set(["dead ReLU fraction"]);   // drawn on 0..1 whatever the values
let panels = 0;

class Chart {
  data = new ChartData();
  plot: uPlot | null = null;
  log: boolean;
  readonly el: HTMLElement;
  private plotHost: HTMLElement;
  private legend: HTMLElement;
  private marks: HTMLElement;
  private shape = "";
  private columns: (number | null)[][] = [];

  constructor(readonly name: string, private panel: ChartsPanel) {
    this.log = LOG_BY_DEFAULT.has(name);
    const logBox = h("input") as HTMLInputElement;
    logBox.type = "checkbox"; logBox.checked = this.log;
    logBox.className = "gg-log-toggle";
    logBox.addEventListener("change", () => { this.log = logBox.checked; this.rebuild(); });
    this.plotHost = h("div", "gg-plot");
    this.legend = h("div", "gg-chart-legend");
    this.marks = h("div", "gg-marks");
    this.el = h("div", "gg-chart", h("div", "gg-chart-head", h("span", "gg-chart-title", name), h("label", "gg-small", logBox, " log")),
      this.plotHost, this.legend);
    this.el.dataset.chart = name;
  }

  rebuild(): void { this.shape = ""; this.redraw(); }

  redraw(): void {
    const smooth = this.panel.smooth;
    const width = Math.max(240, this.plotHost.clientWidth || 360);
    const shape = `${this.data.names.join("|")}|${this.log}|${width}|${smooth > 0}|${this.panel.theme}`;
    this.columns = this.data.aligned(smooth, this.log);
    if (shape !== this.shape) {
      this.plot?.destroy();
      this.plot = new uPlot(this.options(width, smooth > 0), this.columns as uPlot.AlignedData, this.plotHost);
      this.plot.over.append(this.marks);
      this.buildLegend();
      this.shape = shape;
    } else this.plot!.setData(this.columns as uPlot.AlignedData);
    this.el.dataset.points = String(this.data.count);
    this.showValues(this.plot!.cursor.idx ?? null);
  }

  private options(width: number, smoothed: boolean): uPlot.Options {
    const fg = cssVar(this.el, "--jp-ui-font-color1", "#333"), grid = cssVar(this.el, "--jp-border-color2", "#e0e0e0");
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    this.el.dataset.grid = grid;   // the theme's colour it was drawn with (a theme switch redraws)
    const series: uPlot.Series[] = [{ label: "step" }];
    this.data.names.forEach((n, i) => {
      const color = PALETTE[i % PALETTE.length];
      series.push({ label: n, stroke: smoothed ? color + "55" : color, width: smoothed ? 1 : 1.5, spanGaps: true, points: { show: false } });
      if (smoothed) series.push({ label: `${n} (smoothed)`, stroke: color, width: 2, spanGaps: true, points: { show: false } });
    });
    return {
      width, height: 170,
      scales: { x: { time: false }, y: this.log ? { distr: 3 } : FRACTIONS.has(this.name) ? { range: [0, 1] } : {} },
      axes: [axis, { ...axis, size: 56 }],
      legend: { show: false },
      cursor: { sync: { key: this.panel.syncKey, setSeries: false }, drag: { x: true, y: false } },
      series,
      hooks: {
        setCursor: [(u) => this.showValues(u.cursor.idx ?? null)],
        draw: [() => this.placeMarks()],
      },
    };
  }

  private buildLegend(): void {
    this.legend.replaceChildren(...this.data.names.map((n, i) => {
      const item = h("span", "gg-chart-legend-item", h("span", "gg-swatch"), h("span", "gg-chart-legend-name", n), " ", h("span", "gg-chart-legend-value"));
      (item.firstChild as HTMLElement).style.background = PALETTE[i % PALETTE.length];
      item.dataset.series = n;
      return item;
    }));
  }

  /** Each series' value at the cursor (idx), or its latest when the cursor is off the chart. */
  private showValues(idx: number | null): void {
    const per = this.columns.length > 1 ? (this.columns.length - 1) / Math.max(1, this.data.names.length) : 1;
    this.data.names.forEach((n, i) => {
      const slot = this.legend.children[i]?.querySelector(".gg-chart-legend-value");
      if (!slot) return;
      let text: string;
      if (idx == null) {
        const last = this.data.last(n);
        text = last ? `${fmt(last[1])} @ ${last[0]}` : "";
        if (last && per === 2) {
          const s = this.columns[1 + i * 2 + 1];
          const lastSmooth = [...s].reverse().find((v) => v != null);
          if (lastSmooth != null) text += ` (smoothed ${fmt(lastSmooth)})`;
        }
      } else {
        const raw = this.columns[1 + i * per]?.[idx];
        text = raw == null ? "–" : fmt(raw);
        if (per === 2 && this.columns[2 + i * 2]?.[idx] != null) text += ` (smoothed ${fmt(this.columns[2 + i * 2][idx] as number)})`;
        text += ` @ ${this.columns[0][idx]}`;
      }
      slot.textContent = text;
    });
  }

  /** The monitor's kept steps, as buttons on the first series' curve (at the top where it has no finite value). */
  placeMarks(): void {
    const u = this.plot;
    if (!u) return;
    const markers = this.panel.markers;
    const xs = this.columns[0] as number[];
    const shown = markers.filter((m) => xs.length && m.step >= xs[0] && m.step <= xs[xs.length - 1]);
    const bySteps = new Map<number, Marker[]>();
    for (const m of shown) bySteps.set(m.step, [...(bySteps.get(m.step) ?? []), m]);
    const buttons: HTMLElement[] = [];
    for (const [step, ms] of bySteps) {
      const y = valueAt(this.columns, 1, step);
      const left = u.valToPos(step, "x"), top = y == null ? 6 : u.valToPos(y, "y");
      const roles = ms.map((m) => m.role);
      const b = button("", ms.map((m) => `step ${step}: ${m.label}${m.note ? ` (${m.note})` : ""}`).join("\n") + "\nclick: show this step's graph",
        () => this.panel.onShowStep(step), `gg-marker gg-marker-${roles.includes("nan") ? "nan" : roles.includes("spike") ? "spike" : roles[0]}`);
      b.dataset.step = String(step);
      b.dataset.role = roles.join(" ");
      if (this.panel.shown === step) b.classList.add("gg-marker-shown");
      b.style.left = `${left}px`;
      b.style.top = `${top}px`;
      buttons.push(b);
    }
    this.marks.replaceChildren(...buttons);
  }
}

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el.isConnected ? el : document.body).getPropertyValue(name).trim() || fallback;
}

export class ChartsPanel {
  readonly el: HTMLElement;
  readonly syncKey = `gg-cursor-${++panels}`;
  smooth = 0.6;
  theme = 0;                 // bumped when JupyterLab's theme changes: charts are rebuilt in its colours
  markers: Marker[] = [];
  shown: number | null = null;
  onShowStep: (step: number | null) => void = () => {};
  private charts = new Map<string, Chart>();
  private frame = 0;
  private list: HTMLElement;
  private status: HTMLElement;
  private graphLine: HTMLElement;
  private flags: HTMLElement;
  private themeWatch: MutationObserver | null = null;

  constructor() {
    const slider = h("input") as HTMLInputElement;
    slider.type = "range"; slider.min = "0"; slider.max = "0.99"; slider.step = "0.01"; slider.value = String(this.smooth);
    slider.className = "gg-smoothing";
    const shownSmooth = h("span", "gg-small", slider.value);
    slider.addEventListener("input", () => { this.smooth = Number(slider.value); shownSmooth.textContent = slider.value; this.schedule(); });
    this.list = h("div", "gg-chart-list");
    this.status = h("span", "gg-mon-status gg-muted");
    this.graphLine = h("div", "gg-mon-graph gg-small");
    this.flags = h("div", "gg-flags gg-small");
    this.el = h("div", "gg-charts",
      h("div", "gg-toolbar gg-small", h("label", "", "smoothing ", slider, " ", shownSmooth),
        button("clear", "Forget the points shown so far", () => this.reset()), this.status),
      this.flags, this.list, this.graphLine);
    this.el.append(h("p", "gg-muted gg-empty", "no points yet: call mon.log(loss=...) in your loop"));
    if (typeof MutationObserver !== "undefined" && typeof document !== "undefined") {
      this.themeWatch = new MutationObserver(() => { this.theme++; this.schedule(); });
      this.themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class", "style"] });
    }
  }

  add(series: SeriesPoints[], reset: boolean): void {
    if (reset) this.reset();
    for (const [name, group] of groupByChart(series)) {
      let chart = this.charts.get(name);
      if (!chart) {
        chart = new Chart(name, this);
        this.charts.set(name, chart);
        this.list.append(chart.el);
        this.el.querySelector(".gg-empty")?.remove();
      }
      for (const s of group) chart.data.add(s.name, s.x, s.y, s.replace, s.last ?? null);
    }
    this.schedule();
  }

  /** The monitor's state: marks, the step the graph shows, rate and time left, diagnostics flags. */
  monitor(state: MonitorState): void {
    this.markers = state.markers;
    this.shown = state.shown;
    const parts = [`${state.step} steps`];
    if (state.rate) parts.push(`${state.rate >= 10 ? Math.round(state.rate) : state.rate.toFixed(1)} steps/s`);
    if (state.total != null) parts.push(`${state.done}/${state.total}`);
    if (state.left != null) parts.push(`${duration(state.left)} left`);
    this.status.textContent = parts.join(" · ");
    const marker = state.markers.find((m) => m.step === state.shown && (state.pinned ? m.role !== "latest" : m.role === "latest"))
      ?? state.markers.find((m) => m.step === state.shown);
    if (state.shown == null) this.graphLine.replaceChildren();
    else {
      const what = marker ? `${marker.label}${marker.note ? ` (${marker.note})` : ""}` : "";
      this.graphLine.replaceChildren(h("span", "gg-mon-shown", `graph below: step ${state.shown}${what ? ` — ${what}` : ""}`));
      if (state.pinned) this.graphLine.append(" ", button("follow latest", "Show the latest recorded step again", () => this.onShowStep(null), "gg-btn gg-follow-latest"));
      else this.graphLine.append(h("span", "gg-muted", " · click a mark on a curve to see that step"));
    }
    this.showFlags(state.flags);
    for (const c of this.charts.values()) c.placeMarks();
  }

  private showFlags(flags: MonitorState["flags"]): void {
    const rows: HTMLElement[] = [];
    if (flags.no_gradient.length) {
      const row = h("div", "gg-flag gg-warn", `no gradient: ${flags.no_gradient.join(", ")}`);
      row.dataset.flag = "no_gradient";
      rows.push(row);
    }
    const dead = Object.entries(flags.dead_relu);
    if (dead.length) {
      const bad = dead.some(([, f]) => f >= 0.5);
      const row = h("div", `gg-flag${bad ? " gg-warn" : ""}`, `dead ReLU units (latest recorded step): ${dead.map(([n, f]) => `${n}: ${Math.round(f * 100)}%`).join(" · ")}`);
      row.dataset.flag = "dead_relu";
      rows.push(row);
    }
    this.flags.replaceChildren(...rows);
  }

  reset(): void {
    for (const c of this.charts.values()) { c.plot?.destroy(); c.el.remove(); }
    this.charts.clear();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const c of this.charts.values()) c.redraw();
    });
  }

  dispose(): void { cancelAnimationFrame(this.frame); this.themeWatch?.disconnect(); this.reset(); }
}
