// Live training curves with uPlot: one chart per group (loss, metrics, grad norms), several series,
// log scale and smoothing toggles; redraws coalesced to one per animation frame.
import uPlot from "uplot";
import { button, h } from "./dom";
import type { SeriesPoints } from "./protocol";
import { ChartData, groupByChart } from "./series";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

class Chart {
  data = new ChartData();
  plot: uPlot | null = null;
  log: boolean;
  readonly el: HTMLElement;
  private plotHost: HTMLElement;
  private shape = "";

  constructor(readonly name: string, private smoothing: () => number) {
    this.log = name === "grad norms";
    const logBox = h("input") as HTMLInputElement;
    logBox.type = "checkbox"; logBox.checked = this.log;
    logBox.addEventListener("change", () => { this.log = logBox.checked; this.rebuild(); });
    this.plotHost = h("div", "gg-plot");
    this.el = h("div", "gg-chart", h("div", "gg-chart-head", h("span", "gg-chart-title", name), h("label", "gg-small", logBox, " log")), this.plotHost);
    this.el.dataset.chart = name;
  }

  rebuild(): void { this.shape = ""; this.redraw(); }

  redraw(): void {
    const width = Math.max(240, this.plotHost.clientWidth || 360);
    const shape = `${this.data.names.join("|")}|${this.log}|${width}`;
    const data = this.data.aligned(this.smoothing(), this.log) as uPlot.AlignedData;
    if (shape !== this.shape) {
      this.plot?.destroy();
      const fg = cssVar("--jp-ui-font-color1", "#333"), grid = cssVar("--jp-border-color2", "#e0e0e0");
      const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      this.plot = new uPlot({
        width, height: 180,
        scales: { x: { time: false }, y: this.log ? { distr: 3 } : {} },
        axes: [axis, { ...axis, size: 56 }],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        series: [{ label: "step" }, ...this.data.names.map((n, i) => ({
          label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: { show: false } }))],
      }, data, this.plotHost);
      this.shape = shape;
    } else this.plot!.setData(data);
    this.el.dataset.points = String(this.data.points);
  }
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export class ChartsPanel {
  readonly el: HTMLElement;
  private charts = new Map<string, Chart>();
  private smooth = 0;
  private frame = 0;
  private list: HTMLElement;

  constructor() {
    const slider = h("input") as HTMLInputElement;
    slider.type = "range"; slider.min = "0"; slider.max = "0.99"; slider.step = "0.01"; slider.value = "0";
    const shown = h("span", "gg-small", "0");
    slider.addEventListener("input", () => { this.smooth = Number(slider.value); shown.textContent = slider.value; this.schedule(); });
    this.list = h("div", "gg-chart-list");
    this.el = h("div", "gg-charts",
      h("div", "gg-toolbar gg-small", h("label", "", "smoothing ", slider, " ", shown),
        button("clear", "Forget the points shown so far", () => this.reset())),
      this.list);
    this.el.append(h("p", "gg-muted gg-empty", "no points yet: call mon.log(loss=...) in your loop"));
  }

  add(series: SeriesPoints[], reset: boolean): void {
    if (reset) this.reset();
    for (const [name, group] of groupByChart(series)) {
      let chart = this.charts.get(name);
      if (!chart) {
        chart = new Chart(name, () => this.smooth);
        this.charts.set(name, chart);
        this.list.append(chart.el);
        this.el.querySelector(".gg-empty")?.remove();
      }
      for (const s of group) chart.data.add(s.name, s.x, s.y);
    }
    this.schedule();
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

  dispose(): void { cancelAnimationFrame(this.frame); this.reset(); }
}
