// Layout: ELK's layered algorithm (in a Web Worker in the browser), with unfolded modules as
// compound nodes; results cached per structure hash + fold state. Graphs too big for ELK to lay out
// quickly get a simple layered layout computed here instead (longest-path layers, barycentre order).
import type { VisibleGraph } from "./model";

export interface Box { x: number; y: number; width: number; height: number }
export interface Layout {
  key: string; engine: "elk" | "quick"; ms: number; width: number; height: number;
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

export const QUICK_ABOVE = 600;      // visible nodes above which ELK takes about a second or more: use quickLayout
const GROUP_PAD = { top: 26, side: 10, bottom: 10 };

const ROOT_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.json.edgeCoords": "ROOT",
  "elk.json.shapeCoords": "ROOT",
  "elk.spacing.nodeNode": "18",
  "elk.layered.spacing.nodeNodeBetweenLayers": "30",
  "elk.layered.spacing.edgeNodeBetweenLayers": "12",
  "elk.layered.thoroughness": "3",
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
        "elk.nodeSize.constraints": "MINIMUM_SIZE", "elk.nodeSize.minimum": `(${Math.round(30 + 6.4 * g.label.length)},40)` } };
      containers.set(id, c);
      container(g.parent).children!.push(c);
    }
    return c;
  };
  for (const g of vg.groups) container(g.id);
  for (const n of vg.nodes) container(n.parent).children!.push({ id: n.id, width: n.width, height: n.height });
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

/** A layered layout in linear-ish time for graphs ELK would take seconds on; modules drawn as bounding boxes. */
export function quickLayout(vg: VisibleGraph): Layout {
  const t0 = now();
  const index = new Map(vg.nodes.map((n, i) => [n.id, i]));
  const n = vg.nodes.length;
  const preds: number[][] = Array.from({ length: n }, () => []);
  const succs: number[][] = Array.from({ length: n }, () => []);
  for (const e of vg.edges) {
    const s = index.get(e.source)!, t = index.get(e.target)!;
    preds[t].push(s); succs[s].push(t);
  }
  // longest-path layering in topological order (Kahn); anything left in a cycle goes to layer 0
  const indeg = preds.map((p) => p.length), layer = new Array<number>(n).fill(0), queue: number[] = [];
  indeg.forEach((d, i) => { if (d === 0) queue.push(i); });
  for (let h = 0; h < queue.length; h++) {
    const v = queue[h];
    for (const w of succs[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--indeg[w] === 0) queue.push(w);
    }
  }
  const layers: number[][] = [];
  for (let i = 0; i < n; i++) (layers[layer[i]] ??= []).push(i);
  // order within layers: two barycentre sweeps (down using predecessors, up using successors)
  const pos = new Float64Array(n);
  const place = () => layers.forEach((l) => l.forEach((v, i) => { pos[v] = i; }));
  place();
  for (const [dir, nb] of [[1, preds], [-1, succs]] as [number, number[][]][]) {
    const order = dir > 0 ? layers : [...layers].reverse();
    for (const l of order) {
      if (!l) continue;
      const bary = new Map(l.map((v) => [v, nb[v].length ? nb[v].reduce((a, w) => a + pos[w], 0) / nb[v].length : pos[v]]));
      l.sort((a, b) => bary.get(a)! - bary.get(b)!);
      l.forEach((v, i) => { pos[v] = i; });
    }
  }
  const gapX = 18, gapY = 40, nodes = new Map<string, Box>();
  let width = 0, y = 0;
  const rowWidths = layers.map((l) => (l ?? []).reduce((a, v) => a + vg.nodes[v].width + gapX, -gapX));
  const maxRow = Math.max(0, ...rowWidths);
  layers.forEach((l, li) => {
    if (!l) return;
    let x = (maxRow - rowWidths[li]) / 2, h = 0;
    for (const v of l) {
      const vn = vg.nodes[v];
      nodes.set(vn.id, { x, y, width: vn.width, height: vn.height });
      x += vn.width + gapX; h = Math.max(h, vn.height);
    }
    width = Math.max(width, x); y += h + gapY;
  });
  const edges = new Map<string, number[]>();
  for (const e of vg.edges) {
    const s = nodes.get(e.source)!, t = nodes.get(e.target)!;
    edges.set(e.id, [s.x + s.width / 2, s.y + s.height, t.x + t.width / 2, t.y]);
  }
  const groups = groupBoxes(vg, nodes);
  return { key: vg.key, engine: "quick", ms: now() - t0, width, height: y, nodes, groups, edges };
}

function groupBoxes(vg: VisibleGraph, nodes: Map<string, Box>): Map<string, Box> {
  const bounds = new Map<string, [number, number, number, number]>();
  const parentOf = new Map(vg.groups.map((g) => [g.id, g.parent]));
  for (const vn of vg.nodes) {
    const b = nodes.get(vn.id)!;
    for (let g = vn.parent; g; g = parentOf.get(g) ?? null) {
      const r = bounds.get(g) ?? [Infinity, Infinity, -Infinity, -Infinity];
      bounds.set(g, [Math.min(r[0], b.x), Math.min(r[1], b.y), Math.max(r[2], b.x + b.width), Math.max(r[3], b.y + b.height)]);
    }
  }
  const groups = new Map<string, Box>();
  for (const [g, [x0, y0, x1, y1]] of bounds)
    groups.set(g, { x: x0 - GROUP_PAD.side, y: y0 - GROUP_PAD.top, width: x1 - x0 + 2 * GROUP_PAD.side, height: y1 - y0 + GROUP_PAD.top + GROUP_PAD.bottom });
  return groups;
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Lays graphs out, remembering results per key (structure hash + fold state); ELK failures fall back. */
export class Layouter {
  private cache = new Map<string, Promise<Layout>>();
  constructor(private elk: (() => ElkLike) | null, private quickAbove = QUICK_ABOVE, private keep = 16) {}
  private engine: ElkLike | null = null;

  layout(vg: VisibleGraph): Promise<Layout> {
    let hit = this.cache.get(vg.key);
    if (hit) {   // refresh its place in the LRU order
      this.cache.delete(vg.key);
      this.cache.set(vg.key, hit);
      return hit;
    }
    hit = this.compute(vg);
    this.cache.set(vg.key, hit);
    while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    return hit;
  }

  has(key: string): boolean { return this.cache.has(key); }

  private async compute(vg: VisibleGraph): Promise<Layout> {
    if (!this.elk || vg.nodes.length > this.quickAbove) return quickLayout(vg);
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
