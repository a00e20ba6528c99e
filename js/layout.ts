// Layout: ELK's layered algorithm (in a Web Worker in the browser), with unfolded module calls as
// compound nodes, top to bottom in the order ops ran; results cached per structure hash + fold state
// for the whole page (a re-run cell or the next training iteration draws without ELK). Graphs too
// big for ELK to lay out quickly get a nested block layout computed here instead.
import type { VisibleGraph, VisibleGroup } from "./model";

export interface Box { x: number; y: number; width: number; height: number }
export interface Layout {
  key: string; engine: "elk" | "quick"; ms: number; width: number; height: number;
  order?: string[]; edgeOrder?: string[];   // the ids of the nodes and edges laid out, in order (see relabel)
  nodes: Map<string, Box>; groups: Map<string, Box>; edges: Map<string, number[]>;  // x0,y0,x1,y1,...
}
// The part of elkjs's API we use (so tests can pass the synchronous bundled build).
export interface ElkLike { layout(graph: ElkNode): Promise<ElkNode> }
export interface ElkNode {
  id: string; x?: number; y?: number; width?: number; height?: number;
  layoutOptions?: Record<string, string>; children?: ElkNode[];
  edges?: { id: string; sources: string[]; targets: string[]; sections?: ElkSection[] }[];
}
interface ElkSection { startPoint: { x: number; y: number }; endPoint: { x: number; y: number }; bendPoints?: { x: number; y: number }[] }

/** How wide a group's title is drawn (11px text, about 6.4px a character, and the fold mark). */
const titleWidth = (label: string) => Math.round(30 + 6.4 * label.length);

export const QUICK_ABOVE = 600;      // visible nodes above which ELK takes about a second or more: use quickLayout
const GROUP_PAD = { top: 26, side: 10, bottom: 10 };

const ROOT_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.json.edgeCoords": "ROOT",
  "elk.json.shapeCoords": "ROOT",
  "elk.spacing.nodeNode": "18",
  "elk.layered.spacing.nodeNodeBetweenLayers": "24",
  "elk.layered.spacing.edgeNodeBetweenLayers": "12",
  "elk.layered.thoroughness": "3",
  // execution order first: the graph reads top to bottom as the code ran
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.layered.crossingMinimization.forceNodeModelOrder": "false",
  "elk.separateConnectedComponents": "false",
};

export function toElk(vg: VisibleGraph): ElkNode {
  const root: ElkNode = { id: "root", layoutOptions: ROOT_OPTIONS, children: [], edges: [] };
  const containers = new Map<string | null, ElkNode>([[null, root]]);
  const container = (id: string | null): ElkNode => {
    let c = containers.get(id);
    if (!c) {
      const g = vg.groups.find((x) => x.id === id)!;
      c = { id: g.id, children: [], layoutOptions: {
        "elk.padding": `[top=${GROUP_PAD.top},left=${GROUP_PAD.side},bottom=${GROUP_PAD.bottom},right=${GROUP_PAD.side}]`,
        // wide enough for its title (11px text, about 6.4px a character, plus the fold mark)
        // elkjs 0.12 reads a compound node's minimum as (height, width) when laying out DOWN (tested)
        "elk.nodeSize.constraints": "[MINIMUM_SIZE]", "elk.nodeSize.minimum": `(40,${titleWidth(g.label)})` } };
      containers.set(id, c);
      container(g.parent).children!.push(c);
    }
    return c;
  };
  // children in the order they ran: a group where its call's first op is
  const order = new Map<string, number>();
  vg.nodes.forEach((n, i) => order.set(n.id, i));
  const firstOf = (g: VisibleGroup) => order.get(vg.nodes.find((n) => n.parent === g.id)?.id ?? "") ?? Infinity;
  const groups = [...vg.groups];
  for (const g of [...groups].reverse()) {
    const own = firstOf(g);
    order.set(g.id, Math.min(own, order.get(g.id) ?? Infinity));
    if (g.parent) order.set(g.parent, Math.min(order.get(g.parent) ?? Infinity, order.get(g.id)!));
  }
  for (const g of groups) container(g.id);
  for (const n of vg.nodes) container(n.parent).children!.push({ id: n.id, width: n.width, height: n.height });
  for (const c of containers.values()) c.children!.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  root.edges = vg.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] }));
  return root;
}

export function fromElk(vg: VisibleGraph, result: ElkNode, ms: number): Layout {
  const nodes = new Map<string, Box>(), groups = new Map<string, Box>(), edges = new Map<string, number[]>();
  const visit = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      const box = { x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0 };
      (c.id.startsWith("g:") ? groups : nodes).set(c.id, box);
      visit(c);
    }
    for (const e of n.edges ?? []) {
      const pts: number[] = [];
      for (const s of e.sections ?? []) {
        pts.push(s.startPoint.x, s.startPoint.y);
        for (const b of s.bendPoints ?? []) pts.push(b.x, b.y);
        pts.push(s.endPoint.x, s.endPoint.y);
      }
      edges.set(e.id, pts);
    }
  };
  visit(result);
  return { key: vg.key, engine: "elk", ms, width: result.width ?? 0, height: result.height ?? 0, nodes, groups, edges };
}

/** A nested block layout in linear-ish time, for graphs ELK would take seconds on: inside each
 *  unfolded call its items (ops and child calls, each call a block laid out the same way) are put in
 *  layers by longest path over the edges between them, top to bottom, in the order they ran. */
export function quickLayout(vg: VisibleGraph): Layout {
  const t0 = now();
  const gapX = 18, gapY = 30;
  const groupParent = new Map<string, string | null>(vg.groups.map((g) => [g.id, g.parent]));
  const items = new Map<string | null, string[]>();          // container -> its items, in order
  const size = new Map<string, { width: number; height: number }>();
  const put = (container: string | null, id: string) => { const l = items.get(container); if (l) l.push(id); else items.set(container, [id]); };
  const placed = new Set<string>();
  const placeGroup = (g: string | null) => {   // a group is an item of its parent, where it is first met
    if (!g || placed.has(g)) return;
    placed.add(g);
    placeGroup(groupParent.get(g) ?? null);
    put(groupParent.get(g) ?? null, g);
  };
  for (const n of vg.nodes) { placeGroup(n.parent); put(n.parent, n.id); size.set(n.id, n); }
  const parentOf = (id: string) => (id.startsWith("g:") ? groupParent.get(id) ?? null : vg.nodes[nodeIndex(vg).get(id)!].parent);
  const chain = (id: string) => { const c: string[] = [id]; for (let p = parentOf(id); p; p = groupParent.get(p) ?? null) c.unshift(p); return c; };
  // edges between items of one container: the two ends lifted to their ancestors in the closest common one
  const itemEdges = new Map<string | null, [string, string][]>();
  for (const e of vg.edges) {
    const a = chain(e.source), b = chain(e.target);
    let i = 0;
    while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
    if (a[i] === b[i]) continue;
    const container = i > 0 ? a[i - 1] : null;
    const l = itemEdges.get(container);
    if (l) l.push([a[i], b[i]]); else itemEdges.set(container, [[a[i], b[i]]]);
  }
  const local = new Map<string, { x: number; y: number }>();   // item -> position inside its container
  const titles = new Map(vg.groups.map((g) => [g.id, titleWidth(g.label)]));
  const layoutContainer = (c: string | null): { width: number; height: number } => {
    const list = items.get(c) ?? [];
    for (const it of list) if (it.startsWith("g:")) {
      const inner = layoutContainer(it);
      size.set(it, { width: inner.width + 2 * GROUP_PAD.side, height: inner.height + GROUP_PAD.top + GROUP_PAD.bottom });
    }
    const pos = new Map(list.map((it, i) => [it, i]));
    const layer = new Array<number>(list.length).fill(0);
    const succ: number[][] = list.map(() => []);
    for (const [s, t] of itemEdges.get(c) ?? []) {
      const si = pos.get(s), ti = pos.get(t);
      if (si !== undefined && ti !== undefined && si < ti) succ[si].push(ti);   // forward in run order only: no cycles
    }
    for (let i = 0; i < list.length; i++) for (const j of succ[i]) layer[j] = Math.max(layer[j], layer[i] + 1);
    const rows: number[][] = [];
    layer.forEach((l, i) => (rows[l] ??= []).push(i));
    const widths = rows.map((r) => r.reduce((a, i) => a + size.get(list[i])!.width + gapX, -gapX));
    // a group is at least as wide as its title; its rows are centred in it
    const width = Math.max(0, ...widths, c ? (titles.get(c) ?? 0) - 2 * GROUP_PAD.side : 0);
    let y = 0;
    rows.forEach((r, li) => {
      let x = (width - widths[li]) / 2, h = 0;
      for (const i of r) {
        const s = size.get(list[i])!;
        local.set(list[i], { x, y });
        x += s.width + gapX;
        h = Math.max(h, s.height);
      }
      y += h + gapY;
    });
    return { width, height: Math.max(0, y - gapY) };
  };
  const whole = layoutContainer(null);
  const nodes = new Map<string, Box>(), groups = new Map<string, Box>();
  const absolute = (c: string | null, ox: number, oy: number) => {
    for (const it of items.get(c) ?? []) {
      const p = local.get(it)!, s = size.get(it)!, box = { x: ox + p.x, y: oy + p.y, width: s.width, height: s.height };
      if (it.startsWith("g:")) { groups.set(it, box); absolute(it, box.x + GROUP_PAD.side, box.y + GROUP_PAD.top); }
      else nodes.set(it, box);
    }
  };
  absolute(null, 0, 0);
  const edges = new Map<string, number[]>();
  const boxes = vg.nodes.length <= ROUTE_UP_TO ? [...nodes.values()] : [];
  for (const e of vg.edges) {
    const s = nodes.get(e.source), t = nodes.get(e.target);
    if (s && t) edges.set(e.id, route(s, t, boxes));
  }
  return { key: vg.key, engine: "quick", ms: now() - t0, width: whole.width, height: whole.height, nodes, groups, edges };
}

const ROUTE_UP_TO = 3000;   // boxes: beyond that, long edges are drawn straight (routing costs more than it shows)

/** An edge from the bottom of s to the top of t; one that would cross boxes on the way (a residual
 *  connection skipping layers) goes around them on the right. */
function route(s: Box, t: Box, boxes: Box[]): number[] {
  const sx = s.x + s.width / 2, sy = s.y + s.height, tx = t.x + t.width / 2, ty = t.y;
  const lo = Math.min(sx, tx), hi = Math.max(sx, tx);
  let right = -Infinity;
  for (const b of boxes)
    if (b !== s && b !== t && b.y < ty && b.y + b.height > sy && b.x < hi + 1 && b.x + b.width > lo - 1) right = Math.max(right, b.x + b.width);
  if (right === -Infinity) return [sx, sy, tx, ty];
  const x = right + 14;
  return [sx, sy, sx, sy + 8, x, sy + 8, x, ty - 8, tx, ty - 8, tx, ty];
}

const indexes = new WeakMap<VisibleGraph, Map<string, number>>();
function nodeIndex(vg: VisibleGraph): Map<string, number> {
  let m = indexes.get(vg);
  if (!m) { m = new Map(vg.nodes.map((n, i) => [n.id, i])); indexes.set(vg, m); }
  return m;
}

/** A cached layout for another graph of the same structure (the next training iteration: the same
 *  ops, other node ids): the same places, under this graph's ids (its nodes come in the same order). */
function relabel(l: Layout, vg: VisibleGraph): Layout {
  const order = l.order ?? [], edgeOrder = l.edgeOrder ?? [];
  if (order.length === vg.nodes.length && vg.nodes.every((n, i) => n.id === order[i])) return l;
  const nodes = new Map(vg.nodes.map((n, i) => [n.id, l.nodes.get(order[i])!]));
  const edges = new Map(vg.edges.map((e, i) => [e.id, l.edges.get(edgeOrder[i])!]));
  return { ...l, nodes, edges, order: vg.nodes.map((n) => n.id), edgeOrder: vg.edges.map((e) => e.id) };
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Lays graphs out, remembering results per key (structure hash + fold state); ELK failures fall back. */
export class Layouter {
  private cache = new Map<string, Promise<Layout>>();
  constructor(private elk: (() => ElkLike) | null, private quickAbove = QUICK_ABOVE, private keep = 16, warm = false) {
    this.warm = warm;
  }
  private engine: ElkLike | null = null;
  private warm: boolean;

  layout(vg: VisibleGraph): Promise<Layout> {
    let hit = this.cache.get(vg.key);
    if (hit) {   // refresh its place in the LRU order
      this.cache.delete(vg.key);
      this.cache.set(vg.key, hit);
      return hit.then((l) => relabel(l, vg));
    }
    hit = this.compute(vg).then((l) => ({ ...l, order: vg.nodes.map((n) => n.id), edgeOrder: vg.edges.map((e) => e.id) }));
    this.cache.set(vg.key, hit);
    while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    return hit;
  }

  has(key: string): boolean { return this.cache.has(key); }

  private async compute(vg: VisibleGraph): Promise<Layout> {
    if (!this.elk || vg.nodes.length > this.quickAbove) return quickLayout(vg);
    // ELK's first layout on a page starts a worker and compiles ~1.5 MB of code (seconds on a busy
    // machine): the first view is drawn at once with the block layout while ELK warms up for the next
    if (!this.warm) {
      this.warm = true;
      this.engine ??= this.elk();
      this.engine.layout({ id: "warm-up", layoutOptions: ROOT_OPTIONS, children: [{ id: "a", width: 9, height: 9 }] }).catch(() => {});
      return quickLayout(vg);
    }
    const t0 = now();
    try {
      this.engine ??= this.elk();
      return fromElk(vg, await this.engine.layout(toElk(vg)), now() - t0);
    } catch (err) {
      console.warn("graphgrad: ELK layout failed, using the quick layout", err);
      return quickLayout(vg);
    }
  }
}
