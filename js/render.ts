// The graph drawn as SVG: one <g> per node (text via textContent only), edges as paths, unfolded
// module calls as boxes behind. Each state a node can be in has its own visual channel (ring,
// halo, border, fill, marker, tag), so selected, current, done, ready, breakpoint, match and NaN
// all show at once. Drag pans from anywhere; the wheel zooms only when the graph has focus (or with
// Ctrl/⌘), so the notebook keeps scrolling; folding happens only from a chevron or a title.
import type { Box, Layout } from "./layout";
import type { VisibleGraph, VisibleNode } from "./model";

const SVG = "http://www.w3.org/2000/svg";
const DRAG_SLOP = 4;   // px a pointer may move and still be a click
const MAX_BADGES = 3;
export const CANVAS_ABOVE = 2500;
const TITLE_PX = 11;   // a module title's size on screen
/** Whether a module's title is drawn at zoom k: where its box holds it on screen, or is tall enough
 *  that the title can run on to the right of it (layers stack downwards: the space there is free). */
const titleShown = (b: Box, chars: number, k: number) => b.width * k >= chars * TITLE_PX * 0.6 || b.height * k >= 4 * TITLE_PX;

/** Which titles to draw at zoom k: those titleShown allows, less any that would sit on one already
 *  drawn (a module and its first child start at nearly the same height far out); outer ones first. */
export function titlesShown(titles: [Box, number][], k: number): boolean[] {
  const drawn: [number, number, number][] = [];   // x0, x1, y on screen of the titles kept
  return titles.map(([b, chars]) => {
    if (!titleShown(b, chars, k)) return false;
    const x0 = b.x * k, x1 = x0 + chars * TITLE_PX * 0.6, y = b.y * k;
    if (drawn.some(([a0, a1, ay]) => Math.abs(ay - y) < TITLE_PX * 1.3 && a0 < x1 && x0 < a1)) return false;
    drawn.push([x0, x1, y]);
    return true;
  });
}   // boxes: beyond that the graph is painted on a canvas (SVG pans too slowly)
const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, cls?: string) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (cls) e.setAttribute("class", cls);
  return e;
};
const text = (content: string, attrs: Record<string, string | number>, cls: string) => {
  const t = svg("text", attrs, cls);
  t.textContent = content;
  return t;
};

export interface Marks {
  selected: string | null; current: string | null;
  done: Set<string>; ready: Set<string>; matches: Set<string>; breakpoints: Set<string>;
  nanBorn: Set<string>; nanSpread: Set<string>; gradBad: Set<string>;
}
export interface Transform { x: number; y: number; k: number }

/** The states, in the words the legend uses, each with the class that draws it. */
export const STATES: [cls: string, words: string][] = [
  ["gg-selected", "selected (click)"], ["gg-current", "current step"], ["gg-done", "done: already run"],
  ["gg-ready", "ready: runs next"], ["gg-breakpoint", "breakpoint"], ["gg-match", "search match"],
  ["gg-nan-born", "NaN/Inf born here"], ["gg-nan-spread", "NaN/Inf spread here"], ["gg-grad-bad", "NaN/Inf gradient"],
];

export class GraphView {
  readonly svg: SVGSVGElement;
  private viewport: SVGGElement;
  private nodeEls = new Map<string, SVGGElement>();
  private badgeEls = new Map<number, SVGGElement>();
  private t: Transform = { x: 0, y: 0, k: 1 };
  private layout: Layout | null = null;
  private marked: [Element, string, Element | null][] = [];
  private titles: [SVGTextElement, Box, number][] = [];   // group title, its box, its length
  private titledAt = 0;                                      // the zoom titles were last sized for
  private visible = new Map<string, VisibleNode>();
  private minimap: Minimap;
  private painter: CanvasPainter;
  private hint: HTMLElement;
  onNode: (v: VisibleNode) => void = () => {};
  onBadge: (nodeId: number) => void = () => {};
  onUnfold: (callId: string) => void = () => {};
  onFold: (callId: string) => void = () => {};

  constructor(private host: HTMLElement) {
    this.svg = svg("svg", { width: "100%", height: "100%", tabindex: 0, role: "img", "aria-label": "computation graph" }, "gg-svg");
    const defs = svg("defs");
    const marker = svg("marker", { id: "gg-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z" }, "gg-arrowhead"));
    const stripes = svg("pattern", { id: "gg-stripes", width: 8, height: 8, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    stripes.append(svg("rect", { width: 8, height: 8 }, "gg-stripes-bg"), svg("rect", { width: 3, height: 8 }, "gg-stripes-fg"));
    defs.append(marker, stripes);
    this.viewport = svg("g", {}, "gg-viewport");
    this.svg.append(defs, this.viewport);
    this.minimap = new Minimap((x, y) => this.centreOn(x, y));
    this.hint = document.createElement("div");
    this.hint.className = "gg-hint";
    this.hint.textContent = "Ctrl + wheel (or click the graph, then wheel) to zoom";
    this.painter = new CanvasPainter();
    host.append(this.painter.el, this.svg, this.minimap.el, this.hint);
    this.bindPointer();
  }

  draw(vg: VisibleGraph, layout: Layout): void {
    this.layout = layout;
    this.nodeEls.clear();
    this.badgeEls.clear();
    this.titles = [];
    this.titledAt = 0;
    this.visible.clear();
    this.marked = [];
    this.painter.draw(vg.nodes.length > CANVAS_ABOVE ? vg : null, layout);
    this.svg.classList.toggle("gg-painted", this.painter.active);
    if (this.painter.active) {   // the SVG stays on top, empty, for the pointer
      this.viewport.replaceChildren();
      for (const v of vg.nodes) this.visible.set(v.id, v);
      this.minimap.draw(vg, layout);
      return this.apply();
    }
    // titles above the edges (an edge must never be what a click on a title hits), nodes above all
    const groups = svg("g", {}, "gg-groups"), edges = svg("g", {}, "gg-edges"), titles = svg("g", {}, "gg-titles");
    const nodes = svg("g", {}, "gg-nodes");
    const parentOf = new Map(vg.groups.map((g) => [g.id, g.parent]));
    const depth = (id: string | null): number => { let d = 0; for (let g = id; g; g = parentOf.get(g) ?? null) d++; return d; };
    for (const g of vg.groups) {
      const b = layout.groups.get(g.id);
      if (!b) continue;
      const el = svg("g", { "data-group": g.path, "data-call": g.call.id }, `gg-group gg-depth-${Math.min(depth(g.id), 4)}`);
      el.append(svg("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }));
      const title = text("▾ " + g.label, { x: b.x + 8, y: b.y + 16, "data-call": g.call.id }, "gg-group-title gg-fold");
      const tip = svg("title");
      tip.textContent = `${g.path} (click the title to fold)`;
      title.append(tip);
      titles.append(title);
      this.titles.push([title, b, g.label.length + 2]);
      groups.append(el);
    }
    for (const e of vg.edges) {
      const pts = layout.edges.get(e.id);
      if (!pts || pts.length < 4) continue;
      let d = `M${pts[0]},${pts[1]}`;
      for (let i = 2; i < pts.length; i += 2) d += `L${pts[i]},${pts[i + 1]}`;
      const path = svg("path", { d, "marker-end": "url(#gg-arrow)", "data-edge": e.id }, "gg-edge");
      const label = e.count > 1 ? `${e.label} ×${e.count}`.trim() : e.label;
      if (label) { const tip = svg("title"); tip.textContent = label; path.append(tip); }
      edges.append(path);
    }
    for (const v of vg.nodes) { const b = layout.nodes.get(v.id); if (b) nodes.append(this.nodeElement(v, b)); }
    this.viewport.replaceChildren(groups, edges, titles, nodes);
    this.minimap.draw(vg, layout);
    this.apply();
  }

  private nodeElement(v: VisibleNode, b: Box): SVGGElement {
    const el = svg("g", { transform: `translate(${b.x},${b.y})`, "data-id": v.id }, `gg-node gg-cat-${v.category}`);
    if (v.node) el.setAttribute("data-node", String(v.node.id));
    if (v.module) el.setAttribute("data-call", v.module);
    const w = b.width, hgt = b.height;
    el.append(svg("rect", { width: w, height: hgt, rx: v.module ? 3 : 7 }, "gg-box"));
    if (v.module) {
      el.append(text("▸ " + v.label, { x: 8, y: 14 }, "gg-label gg-unfold gg-left"));
      const tip = svg("title");
      tip.textContent = `${v.call!.path} (${v.call!.type || "module"}, folded: click its title to unfold)`;
      el.append(tip);
    } else {
      el.append(text(v.label, { x: w / 2, y: 14 }, "gg-label"));
      const tip = svg("title");
      const n = v.node!;
      tip.textContent = [n.op ?? n.kind, n.grad_fn, n.module].filter(Boolean).join(" · ");
      el.append(tip);
    }
    el.append(text(v.sub, { x: v.module ? 8 : w / 2, y: 27 }, v.module ? "gg-sub gg-left" : "gg-sub"));
    v.badges.slice(0, MAX_BADGES).forEach((badge, i) => {
      const g = svg("g", { transform: `translate(6,${34 + i * 15})`, "data-node": badge.node.id }, "gg-badge");
      g.append(svg("rect", { width: w - 12, height: 13, rx: 6.5 }), text(badge.text, { x: 6, y: 10 }, "gg-badge-text"));
      const tip = svg("title");
      tip.textContent = `${badge.node.name ?? badge.node.label} ${badge.node.shape ? "[" + badge.node.shape.join(", ") + "]" : ""}`;
      g.append(tip);
      el.append(g);
      this.badgeEls.set(badge.node.id, g);
    });
    if (v.badges.length > MAX_BADGES)
      el.append(text(`+${v.badges.length - MAX_BADGES} more`, { x: w / 2, y: 34 + MAX_BADGES * 15 + 9 }, "gg-sub"));
    this.nodeEls.set(v.id, el);
    this.visible.set(v.id, v);
    return el;
  }

  /** Show each state on its own channel; a node can be in all of them at once. Decorations are
   *  made only for nodes in a state, so a graph of thousands of boxes stays light. */
  mark(m: Marks): void {
    this.painter.mark(m);
    for (const [el, cls, deco] of this.marked) { el.classList.remove(cls); deco?.remove(); }
    this.marked = [];
    const add = (id: string | null, cls: string) => {
      const el = id ? this.nodeEls.get(id) : undefined;
      const b = id ? this.layout?.nodes.get(id) : undefined;
      if (!el || !b) return;
      this.marked.push([el, cls, decorate(el, cls, b.width, b.height)]);
    };
    const each = (ids: Set<string>, cls: string) => { for (const id of ids) add(id, cls); };
    each(m.done, "gg-done"); each(m.ready, "gg-ready"); each(m.matches, "gg-match"); each(m.breakpoints, "gg-breakpoint");
    each(m.nanBorn, "gg-nan-born"); each(m.nanSpread, "gg-nan-spread"); each(m.gradBad, "gg-grad-bad");
    add(m.current, "gg-current");
    add(m.selected, "gg-selected");
  }

  /** Badges (parameters drawn inside their op) that match or are selected. */
  markBadges(matches: Set<number>, selected: number | null): void {
    for (const [id, el] of this.badgeEls) {
      el.classList.toggle("gg-match", matches.has(id));
      el.classList.toggle("gg-selected", id === selected);
    }
  }

  box(id: string): Box | undefined { return this.layout?.nodes.get(id) ?? this.layout?.groups.get(id); }
  get transform(): Transform { return { ...this.t }; }

  fit(): void {
    if (!this.layout) return;
    const { width, height } = this.size();
    const w = Math.max(this.layout.width, 1), h = Math.max(this.layout.height, 1);
    const k = Math.min(width / (w + 40), height / (h + 40), 1.25);
    this.set({ k, x: (width - w * k) / 2, y: Math.max(10, (height - h * k) / 2) });
  }

  /** The first view: the whole graph if it is readable that small, else its top at a readable scale. */
  overview(): void {
    if (!this.layout) return;
    const { width, height } = this.size();
    const whole = Math.min(width / (this.layout.width + 40), height / (this.layout.height + 40), 1.25);
    if (whole >= 0.5) return this.fit();
    const k = Math.min(1, Math.max(0.6, width / (this.layout.width + 40)));
    this.set({ k, x: Math.max(20, (width - this.layout.width * k) / 2), y: 10 });
  }

  /** Where a box is on screen now (to keep it there across a redraw). */
  screenOf(id: string): { x: number; y: number } | null {
    const b = this.box(id);
    return b ? { x: this.t.x + b.x * this.t.k, y: this.t.y + b.y * this.t.k } : null;
  }

  /** Pan (same zoom) so box `id` has its top-left corner at screen point `at`. */
  pin(id: string, at: { x: number; y: number }): boolean {
    const b = this.box(id);
    if (!b) return false;
    this.set({ k: this.t.k, x: at.x - b.x * this.t.k, y: at.y - b.y * this.t.k });
    return true;
  }

  /** Bring a node into view only if it is not in view already (no jumps while stepping). */
  reveal(id: string): void {
    const b = this.box(id);
    if (!b) return;
    const { width, height } = this.size(), m = 16;
    const x0 = this.t.x + b.x * this.t.k, y0 = this.t.y + b.y * this.t.k;
    const inView = x0 >= m && y0 >= m && x0 + b.width * this.t.k <= width - m && y0 + b.height * this.t.k <= height - m;
    if (inView && this.t.k >= 0.5) return;
    const k = Math.max(this.t.k, 0.8);
    this.set({ k, x: width / 2 - (b.x + b.width / 2) * k, y: height / 2 - (b.y + b.height / 2) * k });
  }

  zoom(factor: number, cx?: number, cy?: number): void {
    const { width, height } = this.size();
    const px = cx ?? width / 2, py = cy ?? height / 2;
    const k = Math.min(4, Math.max(0.02, this.t.k * factor));
    this.set({ k, x: px - (px - this.t.x) * (k / this.t.k), y: py - (py - this.t.y) * (k / this.t.k) });
  }

  pan(dx: number, dy: number): void { this.set({ k: this.t.k, x: this.t.x + dx, y: this.t.y + dy }); }

  private centreOn(x: number, y: number): void {
    const { width, height } = this.size();
    this.set({ k: this.t.k, x: width / 2 - x * this.t.k, y: height / 2 - y * this.t.k });
  }

  private size() {
    const r = this.host.getBoundingClientRect();
    return { width: r.width || 600, height: r.height || 400 };
  }

  private set(t: Transform): void { this.t = t; this.apply(); }

  private apply(): void {
    const t = this.t;
    this.viewport.setAttribute("transform", `translate(${t.x},${t.y}) scale(${t.k})`);
    // semantic zoom: far out, details go and module titles grow so they stay readable
    this.svg.classList.toggle("gg-far", t.k < 0.45);
    this.svg.style.setProperty("--gg-title-scale", String(Math.min(3, Math.max(1, 0.8 / t.k))));
    if (t.k !== this.titledAt) this.sizeTitles(t.k);
    this.minimap.view(t, this.size());
    this.painter.view(t, this.size());
  }

  /** Module titles stay 11 px on screen however far out the view is, shown only where their box is
   *  wide enough on screen to hold them (far out: the outer modules' names, not a smear of all). */
  private sizeTitles(k: number): void {
    this.titledAt = k;
    const shown = titlesShown(this.titles.map(([, box, chars]) => [box, chars]), k);
    this.titles.forEach(([el], i) => {
      el.style.fontSize = `${TITLE_PX / Math.min(k, 1)}px`;
      el.style.display = shown[i] ? "" : "none";
    });
  }

  private bindPointer(): void {
    let down: { x: number; y: number; tx: number; ty: number; target: Element; moved: boolean; ev: PointerEvent } | null = null;
    this.svg.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      down = { x: ev.clientX, y: ev.clientY, tx: this.t.x, ty: this.t.y, target: ev.target as Element, moved: false, ev };
      this.svg.focus({ preventScroll: true });
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (!down) return;
      const dx = ev.clientX - down.x, dy = ev.clientY - down.y;
      if (!down.moved && Math.hypot(dx, dy) < DRAG_SLOP) return;
      if (!down.moved) {
        down.moved = true;
        this.svg.classList.add("gg-dragging");
        try { this.svg.setPointerCapture(ev.pointerId); } catch { /* a pointer the page no longer tracks: pan without capture */ }
      }
      this.set({ k: this.t.k, x: down.tx + dx, y: down.ty + dy });
    });
    const end = (ev: PointerEvent) => {
      const was = down;
      down = null;
      this.svg.classList.remove("gg-dragging");
      if (was && !was.moved && ev.type === "pointerup") this.click(was.target, was.ev);
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("dblclick", (ev) => {
      const call = (ev.target as Element).closest?.(".gg-node[data-call]")?.getAttribute("data-call");
      if (call) this.onUnfold(call);
    });
    this.svg.addEventListener("wheel", (ev) => {
      const focused = document.activeElement === this.svg;
      if (!focused && !ev.ctrlKey && !ev.metaKey) {   // let the notebook scroll; say how to zoom
        this.hint.classList.add("gg-show");
        clearTimeout((this.hint as any)._t);
        (this.hint as any)._t = setTimeout(() => this.hint.classList.remove("gg-show"), 1500);
        return;
      }
      ev.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
  }

  private click(target: Element, ev: PointerEvent): void {
    if (this.painter.active) {   // painted: find what is under the pointer in layout coordinates
      const r = this.svg.getBoundingClientRect();
      const hit = this.painter.at((ev.clientX - r.left - this.t.x) / this.t.k, (ev.clientY - r.top - this.t.y) / this.t.k);
      if (hit?.fold) return this.onFold(hit.fold);
      if (hit?.node) {
        const v = this.visible.get(hit.node)!;
        return v.module && hit.title ? this.onUnfold(v.module) : this.onNode(v);
      }
      return;
    }
    const fold = target.closest?.(".gg-fold");
    if (fold) return this.onFold(fold.getAttribute("data-call")!);
    const unfold = target.closest?.(".gg-unfold");
    if (unfold) return this.onUnfold(unfold.closest(".gg-node")!.getAttribute("data-call")!);
    const badge = target.closest?.(".gg-badge");
    if (badge) return this.onBadge(Number(badge.getAttribute("data-node")));
    const node = target.closest?.(".gg-node");
    const v = node && this.visible.get(node.getAttribute("data-id")!);
    if (v) this.onNode(v);
  }
}

/** The graph painted on a canvas, for graphs too big for SVG: only what is in view is painted, once
 *  per frame; a grid of cells finds the box under the pointer. The same states as the SVG view. */
class CanvasPainter {
  readonly el: HTMLCanvasElement;
  active = false;
  private vg: VisibleGraph | null = null;
  private layout: Layout | null = null;
  private boxes: { id: string; b: Box; v: VisibleNode }[] = [];
  private grid = new Map<string, number[]>();
  private edges: number[][] = [];
  private edgeBounds = new Float64Array(0);
  private marks: Marks | null = null;
  private t: Transform = { x: 0, y: 0, k: 1 };
  private size = { width: 1, height: 1 };
  private frame = 0;
  static CELL = 400;

  constructor() {
    this.el = document.createElement("canvas");
    this.el.className = "gg-paint";
    this.el.hidden = true;
  }

  draw(vg: VisibleGraph | null, layout: Layout): void {
    this.active = !!vg;
    this.el.hidden = !vg;
    this.vg = vg;
    this.layout = layout;
    this.grid.clear();
    this.boxes = vg ? vg.nodes.map((v) => ({ id: v.id, b: layout.nodes.get(v.id)!, v })) : [];
    // each edge's points and bounding box (x0, x1, y0, y1), so a frame skips those out of view cheaply
    this.edges = vg ? vg.edges.map((e) => layout.edges.get(e.id)).filter((p): p is number[] => !!p && p.length >= 4) : [];
    this.edgeBounds = new Float64Array(4 * this.edges.length);
    this.edges.forEach((p, k) => {
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let i = 0; i < p.length; i += 2) { x0 = Math.min(x0, p[i]); x1 = Math.max(x1, p[i]); y0 = Math.min(y0, p[i + 1]); y1 = Math.max(y1, p[i + 1]); }
      this.edgeBounds.set([x0, x1, y0, y1], 4 * k);
    });
    const C = CanvasPainter.CELL;
    this.boxes.forEach(({ b }, i) => {
      for (let cx = Math.floor(b.x / C); cx <= Math.floor((b.x + b.width) / C); cx++)
        for (let cy = Math.floor(b.y / C); cy <= Math.floor((b.y + b.height) / C); cy++) {
          const key = `${cx},${cy}`, cell = this.grid.get(key);
          if (cell) cell.push(i); else this.grid.set(key, [i]);
        }
    });
  }

  mark(m: Marks): void { this.marks = m; this.schedule(); }
  view(t: Transform, size: { width: number; height: number }): void { this.t = t; this.size = size; this.schedule(); }

  /** The box (or a group's title) at layout point (x, y). */
  at(x: number, y: number): { node?: string; title?: boolean; fold?: string } | null {
    const cell = this.grid.get(`${Math.floor(x / CanvasPainter.CELL)},${Math.floor(y / CanvasPainter.CELL)}`) ?? [];
    for (const i of cell) {
      const { id, b } = this.boxes[i];
      if (x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height) return { node: id, title: y <= b.y + 18 };
    }
    for (const g of this.vg?.groups ?? []) {
      const b = this.layout!.groups.get(g.id);
      if (b && x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + 22) return { fold: g.call.id };
    }
    return null;
  }

  private schedule(): void {
    if (!this.active || this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
  }

  private paint(): void {
    const ctx = this.el.getContext?.("2d");
    if (!ctx || !this.layout || !this.vg) return;
    const dpr = window.devicePixelRatio || 1, { width, height } = this.size, t = this.t;
    if (this.el.width !== Math.round(width * dpr) || this.el.height !== Math.round(height * dpr)) {
      this.el.width = Math.round(width * dpr); this.el.height = Math.round(height * dpr);
      this.el.style.width = `${width}px`; this.el.style.height = `${height}px`;
    }
    const css = getComputedStyle(this.el), color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);
    const x0 = -t.x / t.k, y0 = -t.y / t.k, x1 = x0 + width / t.k, y1 = y0 + height / t.k;
    const seen = (b: Box) => b.x < x1 && b.x + b.width > x0 && b.y < y1 && b.y + b.height > y0;
    const fg = color("--gg-fg", "#222"), muted = color("--gg-muted", "#777");
    // far out, edges are a grey haze that costs most of the frame: drawn only when they can be told apart
    const drawEdges = t.k >= 0.12;
    ctx.lineWidth = 1 / Math.max(t.k, 0.2);
    ctx.fillStyle = color("--gg-bg2", "#f3f3f3"); ctx.strokeStyle = color("--gg-border", "#ccc");
    const titles: [string, Box][] = [];
    for (const g of this.vg.groups) {
      const b = this.layout.groups.get(g.id);
      if (!b || !seen(b)) continue;
      ctx.globalAlpha = 0.5; ctx.fillRect(b.x, b.y, b.width, b.height); ctx.globalAlpha = 1;
      ctx.strokeRect(b.x, b.y, b.width, b.height);
      titles.push(["▾ " + g.label, b]);
    }
    ctx.strokeStyle = muted; ctx.globalAlpha = 0.6;
    ctx.beginPath();
    const eb = this.edgeBounds;
    if (drawEdges) for (let k = 0; k < this.edges.length; k++) {
      if (eb[4 * k] > x1 || eb[4 * k + 1] < x0 || eb[4 * k + 2] > y1 || eb[4 * k + 3] < y0) continue;
      const p = this.edges[k];
      ctx.moveTo(p[0], p[1]);
      for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    // boxes in one path per category (a few fills and strokes per frame, not thousands)
    const shown: { id: string; b: Box; v: VisibleNode }[] = [];
    const byCategory = new Map<string, Box[]>();
    for (const item of this.boxes) if (seen(item.b)) {
      shown.push(item);
      const l = byCategory.get(item.v.category);
      if (l) l.push(item.b); else byCategory.set(item.v.category, [item.b]);
    }
    for (const [cat, boxes] of byCategory) {
      ctx.beginPath();
      for (const b of boxes) ctx.rect(b.x, b.y, b.width, b.height);
      ctx.fillStyle = ctx.strokeStyle = color(`--gg-cat-${cat}`, "#94a3b8");
      ctx.globalAlpha = 0.16; ctx.fill(); ctx.globalAlpha = 1;
      ctx.setLineDash(cat === "module" ? [5, 3] : []);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    // the states: few nodes each, drawn over their boxes
    const m = this.marks, error = color("--gg-error", "#d32f2f"), line = ctx.lineWidth;
    const each = (ids: Iterable<string> | null | undefined, paint: (b: Box) => void) => {
      for (const id of ids ?? []) { const b = this.layout!.nodes.get(id); if (b && seen(b)) paint(b); }
    };
    if (m) {
      ctx.fillStyle = color("--gg-warn", "#f57c00"); ctx.globalAlpha = 0.45;
      each(m.matches, (b) => ctx.fillRect(b.x - 6, b.y - 6, b.width + 12, b.height + 12));
      ctx.fillStyle = error; ctx.globalAlpha = 0.55;
      each(m.nanBorn, (b) => ctx.fillRect(b.x, b.y, b.width, b.height));
      ctx.globalAlpha = 0.3;
      each(m.nanSpread, (b) => ctx.fillRect(b.x, b.y, b.width, b.height));
      ctx.fillStyle = color("--gg-cat-pointwise", "#94a3b8"); ctx.globalAlpha = 0.3;
      each(m.done, (b) => ctx.fillRect(b.x, b.y, b.width, b.height));
      ctx.globalAlpha = 1;
      ctx.strokeStyle = color("--gg-accent", "#1976d2"); ctx.setLineDash([5, 3]); ctx.lineWidth = line * 2;
      each(m.ready, (b) => ctx.strokeRect(b.x, b.y, b.width, b.height));
      ctx.setLineDash([]);
      ctx.strokeStyle = error;
      each(m.gradBad, (b) => ctx.strokeRect(b.x, b.y, b.width, b.height));
      ctx.strokeStyle = color("--gg-ok", "#388e3c"); ctx.lineWidth = line * 3;
      each(m.current ? [m.current] : [], (b) => ctx.strokeRect(b.x, b.y, b.width, b.height));
      ctx.strokeStyle = color("--gg-accent", "#1976d2"); ctx.lineWidth = line * 2.5;
      each(m.selected ? [m.selected] : [], (b) => ctx.strokeRect(b.x - 3.5, b.y - 3.5, b.width + 7, b.height + 7));
      ctx.lineWidth = line;
      ctx.fillStyle = error;
      each(m.breakpoints, (b) => { ctx.beginPath(); ctx.arc(b.x + 1, b.y + 1, 5, 0, 7); ctx.fill(); });
    }
    // text only where it can be read, and only while there is not too much of it
    if (t.k >= 0.45 && shown.length < 4000) {
      ctx.fillStyle = fg; ctx.textAlign = "center"; ctx.textBaseline = "alphabetic";
      for (const { b, v } of shown) {
        ctx.font = "600 12px sans-serif"; ctx.fillText(v.label, b.x + b.width / 2, b.y + 14, b.width - 4);
        ctx.font = "10px sans-serif"; ctx.fillText(v.sub, b.x + b.width / 2, b.y + 27, b.width - 4);
        ctx.font = "9.5px monospace";
        v.badges.slice(0, MAX_BADGES).forEach((badge, i) => ctx.fillText(badge.text, b.x + b.width / 2, b.y + 44 + i * 15, b.width - 12));
      }
    }
    ctx.fillStyle = muted; ctx.textAlign = "left";
    const size = TITLE_PX / Math.min(t.k, 1);   // 11 px on screen, where the box can hold it
    ctx.font = `${size}px sans-serif`;
    const keep = titlesShown(titles.map(([label, b]) => [b, label.length]), t.k);
    for (const [i, [label, b]] of titles.entries()) if (keep[i]) ctx.fillText(label, b.x + 8 / Math.min(t.k, 1), b.y + size * 1.3);
  }
}

/** A small overview in the corner: every box, and the part in view; click or drag it to move there. */
class Minimap {
  readonly el: HTMLCanvasElement;
  private scale = 1;
  private layout: Layout | null = null;
  private boxes: { b: Box; cat: string }[] = [];
  private t: Transform = { x: 0, y: 0, k: 1 };
  private viewSize = { width: 1, height: 1 };
  private picture: HTMLCanvasElement | null = null;

  constructor(go: (x: number, y: number) => void) {
    this.el = document.createElement("canvas");
    this.el.className = "gg-minimap";
    this.el.title = "Overview: click or drag to move the view";
    const move = (ev: PointerEvent) => {
      const r = this.el.getBoundingClientRect();
      go((ev.clientX - r.left) / this.scale, (ev.clientY - r.top) / this.scale);
    };
    let dragging = false;
    this.el.addEventListener("pointerdown", (ev) => { dragging = true; this.el.setPointerCapture?.(ev.pointerId); move(ev); ev.stopPropagation(); });
    this.el.addEventListener("pointermove", (ev) => { if (dragging) move(ev); });
    this.el.addEventListener("pointerup", () => { dragging = false; });
  }

  draw(vg: VisibleGraph, layout: Layout): void {
    this.layout = layout;
    const cat = new Map(vg.nodes.map((v) => [v.id, v.category]));
    this.boxes = [...layout.nodes].map(([id, b]) => ({ b, cat: cat.get(id) ?? "pointwise" }));
    this.picture = null;
    const w = 150;
    this.scale = w / Math.max(layout.width, layout.height * 1.4, 1);
    this.el.width = Math.max(20, Math.ceil(layout.width * this.scale));
    this.el.height = Math.max(20, Math.ceil(layout.height * this.scale));
  }

  view(t: Transform, size: { width: number; height: number }): void {
    this.t = t;
    this.viewSize = size;
    this.paint();
  }

  private paint(): void {
    const ctx = this.el.getContext?.("2d");
    const layout = this.layout;
    if (!ctx || !layout) return;
    const s = this.scale, t = this.t;
    // shown only when part of the graph is out of view
    const x0 = -t.x / t.k, y0 = -t.y / t.k, x1 = x0 + this.viewSize.width / t.k, y1 = y0 + this.viewSize.height / t.k;
    this.el.hidden = x0 <= 0 && y0 <= 0 && x1 >= layout.width && y1 >= layout.height;
    if (this.el.hidden) return;
    const css = getComputedStyle(this.el);
    if (!this.picture) {   // the boxes once per graph (one path per category); each frame only copies them
      this.picture = document.createElement("canvas");
      this.picture.width = this.el.width; this.picture.height = this.el.height;
      const pic = this.picture.getContext("2d")!;
      const byCategory = new Map<string, Box[]>();
      for (const { b, cat } of this.boxes) { const l = byCategory.get(cat); if (l) l.push(b); else byCategory.set(cat, [b]); }
      for (const [cat, boxes] of byCategory) {
        pic.fillStyle = css.getPropertyValue(`--gg-cat-${cat}`).trim() || "#888";
        pic.beginPath();
        for (const b of boxes) pic.rect(b.x * s, b.y * s, Math.max(1, b.width * s), Math.max(1, b.height * s));
        pic.fill();
      }
    }
    ctx.clearRect(0, 0, this.el.width, this.el.height);
    ctx.drawImage(this.picture, 0, 0);
    ctx.strokeStyle = css.getPropertyValue("--gg-accent").trim() || "#1976d2";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x0 * s, y0 * s, (x1 - x0) * s, (y1 - y0) * s);
  }
}

/** Puts a node in a state: its class (border, fill) and, for states drawn beside the box, the mark
 *  that draws it (returned, to be removed with the state). */
function decorate(el: Element, cls: string, w: number, h: number): Element | null {
  el.classList.add(cls);
  let deco: Element | null = null;
  if (cls === "gg-match") deco = svg("rect", { x: -6, y: -6, width: w + 12, height: h + 12, rx: 11 }, "gg-halo");
  else if (cls === "gg-selected") deco = svg("rect", { x: -3.5, y: -3.5, width: w + 7, height: h + 7, rx: 9 }, "gg-ring");
  else if (cls === "gg-current") deco = svg("path", { d: `M-15,${h / 2 - 7} l10,7 l-10,7 z` }, "gg-cursor");
  else if (cls === "gg-breakpoint") deco = svg("circle", { cx: 1, cy: 1, r: 5 }, "gg-bp");
  else if (cls === "gg-done") deco = text("✓", { x: w - 9, y: 12 }, "gg-check");
  // above the box, not beside it: boxes of one layer sit side by side, layers have a gap between them
  else if (cls === "gg-nan-born") deco = text("NaN born", { x: 2, y: -4 }, "gg-tag");
  else if (cls === "gg-grad-bad") deco = text("∇ NaN", { x: w + 4, y: h + 11 }, "gg-tag");
  if (deco) cls === "gg-match" ? el.prepend(deco) : el.append(deco);
  return deco;
}

/** The legend: each state drawn by the same code as in the graph. */
export function legend(): HTMLElement {
  const el = document.createElement("div");
  el.className = "gg-legend";
  for (const [cls, words] of STATES) {
    const row = document.createElement("div");
    row.className = "gg-legend-row";
    const pic = svg("svg", { width: 46, height: 26, viewBox: "-16 -8 64 42" }, "gg-legend-pic");
    const g = svg("g", {}, "gg-legend-node gg-cat-pointwise");
    g.append(svg("rect", { width: 40, height: 22, rx: 6 }, "gg-box"));
    decorate(g, cls, 40, 22);
    pic.append(g);
    const label = document.createElement("span");
    label.textContent = words;
    row.append(pic, label);
    el.append(row);
  }
  const cats = document.createElement("div");
  cats.className = "gg-legend-row gg-muted";
  cats.textContent = "colour: the op's category (linear algebra/conv/attention, activation, reduction/norm, " +
    "shape/indexing/pooling, loss, elementwise); dashed grey: a folded module";
  el.append(cats);
  return el;
}
