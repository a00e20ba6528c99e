// The graph drawn as SVG: one <g> per node (text via textContent only), edges as polylines with
// shape labels, unfolded modules as boxes behind. Pan by dragging, zoom with the wheel, fit.
import type { Box, Layout } from "./layout";
import type { VisibleGraph, VisibleNode } from "./model";

const SVG = "http://www.w3.org/2000/svg";
const EDGE_LABELS_UP_TO = 1500;   // boxes; beyond that, shape labels on every edge cost more than they tell
const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, cls?: string) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (cls) e.setAttribute("class", cls);
  return e;
};

export interface Marks {
  selected: string | null; current: string | null;
  done: Set<string>; ready: Set<string>; matches: Set<string>; flagged: Set<string>; breakpoints: Set<string>;
}

export class GraphView {
  readonly svg: SVGSVGElement;
  private viewport: SVGGElement;
  private nodeEls = new Map<string, SVGGElement>();
  private t = { x: 0, y: 0, k: 1 };
  private layout: Layout | null = null;
  private marked = new Map<string, string>();   // element id -> classes added by mark()
  private visible = new Map<string, VisibleNode>();
  onNode: (v: VisibleNode) => void = () => {};
  onGroup: (path: string) => void = () => {};

  constructor(private host: HTMLElement) {
    this.svg = svg("svg", { width: "100%", height: "100%" }, "gg-svg");
    const defs = svg("defs");
    const marker = svg("marker", { id: "gg-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z" }, "gg-arrowhead"));
    defs.append(marker);
    this.viewport = svg("g", {}, "gg-viewport");
    this.svg.append(defs, this.viewport);
    host.append(this.svg);
    this.bindPanZoom();
    // one listener for all nodes (thousands of them): find the node under the pointer
    const nodeAt = (ev: Event) => {
      const el = (ev.target as Element).closest?.(".gg-node");
      return el ? this.visible.get(el.getAttribute("data-id")!) : undefined;
    };
    this.svg.addEventListener("click", (ev) => { const v = nodeAt(ev); if (v) this.onNode(v); });
    this.svg.addEventListener("pointerover", (ev) => {
      const v = nodeAt(ev), el = v && this.nodeEls.get(v.id);
      if (!v || !el || el.querySelector("title")) return;
      const tip = svg("title");
      tip.textContent = v.node ? `${v.node.op ?? v.node.kind}${v.node.grad_fn ? " · " + v.node.grad_fn : ""}${v.node.module ? " · " + v.node.module : ""}` : `${v.module} (folded: click to unfold)`;
      el.append(tip);
    });
  }

  draw(vg: VisibleGraph, layout: Layout): void {
    this.layout = layout;
    this.nodeEls.clear();
    this.visible.clear();
    this.marked.clear();
    const groups = svg("g", {}, "gg-groups"), edges = svg("g", {}, "gg-edges"), nodes = svg("g", {}, "gg-nodes");
    const depth = (id: string | null): number => { let d = 0; for (let g = id; g; g = vg.groups.find((x) => x.id === g)?.parent ?? null) d++; return d; };
    for (const g of vg.groups) {
      const b = layout.groups.get(g.id);
      if (!b) continue;
      const el = svg("g", { "data-group": g.path }, `gg-group gg-depth-${Math.min(depth(g.id), 4)}`);
      el.append(svg("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }));
      const title = svg("text", { x: b.x + 8, y: b.y + 16 }, "gg-group-title");
      title.textContent = "▾ " + g.label;
      const tip = svg("title");
      tip.textContent = `${g.path} (click to fold)`;
      el.append(title, tip);
      el.addEventListener("click", (ev) => { ev.stopPropagation(); this.onGroup(g.path); });
      groups.append(el);
    }
    const labelled = vg.nodes.length <= EDGE_LABELS_UP_TO;
    for (const e of vg.edges) {
      const pts = layout.edges.get(e.id);
      if (!pts || pts.length < 4) continue;
      let d = `M${pts[0]},${pts[1]}`;
      for (let i = 2; i < pts.length; i += 2) d += `L${pts[i]},${pts[i + 1]}`;
      const path = svg("path", { d, "marker-end": "url(#gg-arrow)", "data-edge": e.id }, "gg-edge");
      edges.append(path);
      const label = e.count > 1 ? `${e.label} ×${e.count}`.trim() : e.label;
      if (label && labelled) {
        const [x, y] = midpoint(pts);
        const text = svg("text", { x: x + 4, y: y + 3 }, "gg-edge-label");
        text.textContent = label;
        edges.append(text);
      }
    }
    for (const v of vg.nodes) {
      const b = layout.nodes.get(v.id)!;
      const el = svg("g", { transform: `translate(${b.x},${b.y})`, "data-id": v.id }, `gg-node gg-cat-${v.category}`);
      if (v.node) el.setAttribute("data-node", String(v.node.id));
      if (v.node?.flags && (v.node.flags.nan || v.node.flags.inf)) el.classList.add("gg-nonfinite");
      el.append(svg("rect", { width: b.width, height: b.height, rx: v.module ? 3 : 7 }));
      const label = svg("text", { x: b.width / 2, y: v.sub ? 14 : b.height / 2 + 4 }, "gg-label");
      label.textContent = v.label;
      el.append(label);
      if (v.sub) {
        const sub = svg("text", { x: b.width / 2, y: 27 }, "gg-sub");
        sub.textContent = v.sub;
        el.append(sub);
      }
      this.nodeEls.set(v.id, el);
      this.visible.set(v.id, v);
      nodes.append(el);
    }
    this.viewport.replaceChildren(groups, edges, nodes);
  }

  /** Highlight selection, stepper cursor, done/ready nodes, search matches, NaN/Inf and breakpoints. */
  mark(m: Marks): void {
    for (const [id, cls] of this.marked) this.nodeEls.get(id)?.classList.remove(...cls.split(" "));
    this.marked.clear();
    const add = (id: string | null, cls: string) => {
      if (!id || !this.nodeEls.has(id)) return;
      this.nodeEls.get(id)!.classList.add(cls);
      this.marked.set(id, ((this.marked.get(id) ?? "") + " " + cls).trim());
    };
    for (const id of m.done) add(id, "gg-done");
    for (const id of m.ready) add(id, "gg-ready");
    for (const id of m.matches) add(id, "gg-match");
    for (const id of m.flagged) add(id, "gg-nonfinite-grad");
    for (const id of m.breakpoints) add(id, "gg-breakpoint");
    add(m.current, "gg-current");
    add(m.selected, "gg-selected");
  }

  box(id: string): Box | undefined { return this.layout?.nodes.get(id); }

  fit(): void {
    if (!this.layout) return;
    const { width, height } = this.size();
    const w = Math.max(this.layout.width, 1), h = Math.max(this.layout.height, 1);
    const k = Math.min(width / (w + 40), height / (h + 40), 1.5);
    this.set({ k, x: (width - w * k) / 2, y: Math.max(10, (height - h * k) / 2) });
  }

  /** The first view: the whole graph if it is readable that small, else its top at a readable scale. */
  overview(): void {
    if (!this.layout) return;
    const { width, height } = this.size();
    const whole = Math.min(width / (this.layout.width + 40), height / (this.layout.height + 40), 1.5);
    if (whole >= 0.3) return this.fit();
    const k = Math.min(1, Math.max(0.45, width / (this.layout.width + 40)));
    this.set({ k, x: Math.max(20, (width - this.layout.width * k) / 2), y: 10 });
  }

  /** Pan (and zoom in if far out) so a node is in view. */
  focus(id: string): void {
    const b = this.box(id);
    if (!b) return;
    const { width, height } = this.size();
    const k = Math.max(this.t.k, 0.8);
    this.set({ k, x: width / 2 - (b.x + b.width / 2) * k, y: height / 2 - (b.y + b.height / 2) * k });
  }

  zoom(factor: number, cx?: number, cy?: number): void {
    const { width, height } = this.size();
    const px = cx ?? width / 2, py = cy ?? height / 2;
    const k = Math.min(4, Math.max(0.02, this.t.k * factor));
    this.set({ k, x: px - (px - this.t.x) * (k / this.t.k), y: py - (py - this.t.y) * (k / this.t.k) });
  }

  private size() {
    const r = this.host.getBoundingClientRect();
    return { width: r.width || 600, height: r.height || 400 };
  }

  private set(t: { x: number; y: number; k: number }): void {
    this.t = t;
    this.viewport.setAttribute("transform", `translate(${t.x},${t.y}) scale(${t.k})`);
    // text too small to read is not worth drawing: hide it when zoomed far out
    this.svg.classList.toggle("gg-far", t.k < 0.35);
  }

  private bindPanZoom(): void {
    let drag: { x: number; y: number; tx: number; ty: number } | null = null;
    this.svg.addEventListener("pointerdown", (ev) => {
      if ((ev.target as Element).closest(".gg-node, .gg-group")) return;
      drag = { x: ev.clientX, y: ev.clientY, tx: this.t.x, ty: this.t.y };
      this.svg.setPointerCapture?.(ev.pointerId);
      this.svg.classList.add("gg-dragging");
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (drag) this.set({ k: this.t.k, x: drag.tx + ev.clientX - drag.x, y: drag.ty + ev.clientY - drag.y });
    });
    const end = () => { drag = null; this.svg.classList.remove("gg-dragging"); };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
  }
}

/** The point halfway along a polyline. */
export function midpoint(pts: number[]): [number, number] {
  let total = 0;
  for (let i = 2; i < pts.length; i += 2) total += Math.hypot(pts[i] - pts[i - 2], pts[i + 1] - pts[i - 1]);
  let left = total / 2;
  for (let i = 2; i < pts.length; i += 2) {
    const len = Math.hypot(pts[i] - pts[i - 2], pts[i + 1] - pts[i - 1]);
    if (len >= left && len > 0) {
      const f = left / len;
      return [pts[i - 2] + (pts[i] - pts[i - 2]) * f, pts[i - 1] + (pts[i + 1] - pts[i - 1]) * f];
    }
    left -= len;
  }
  return [pts[0], pts[1]];
}
