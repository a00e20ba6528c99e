// The graph as the browser sees it: which nodes are visible once modules are folded, edges rerouted
// to folded modules, search, and the categories nodes are coloured by. Pure data, no DOM.
import type { GraphEdge, GraphJSON, GraphNode, ModuleInfo } from "./protocol";

export interface VisibleNode {
  id: string;               // "n:<node id>" or "m:<module path>" (a folded module)
  node?: GraphNode;
  module?: string;
  parent: string | null;    // the enclosing unfolded module, "g:<path>", or null at the top
  label: string;
  sub: string;              // second line: shape, or the folded module's size
  category: string;
  width: number; height: number;
}
export interface VisibleGroup { id: string; path: string; label: string; parent: string | null }
export interface VisibleEdge { id: string; source: string; target: string; label: string; count: number }
export interface VisibleGraph {
  key: string; nodes: VisibleNode[]; groups: VisibleGroup[]; edges: VisibleEdge[];
  owner: Map<number, string>;   // graph node id -> the visible id that shows it
}

const CATEGORY_OPS: Record<string, string[]> = {
  matmul: ["linear", "matmul", "mm", "bmm", "addmm", "mv", "dot", "einsum", "conv1d", "conv2d", "conv3d",
    "conv_transpose2d", "outer", "baddbmm", "addmv", "embedding"],
  activation: ["relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "silu", "leaky_relu", "elu",
    "softplus", "hardtanh", "relu6", "mish", "selu", "dropout"],
  reduce: ["sum", "mean", "max", "min", "prod", "std", "var", "norm", "amax", "amin", "logsumexp", "argmax",
    "argmin", "cumsum", "layer_norm", "batch_norm", "group_norm"],
  shape: ["view", "reshape", "transpose", "permute", "t", "expand", "squeeze", "unsqueeze", "cat", "stack",
    "flatten", "contiguous", "index", "getitem", "select", "slice", "split", "chunk", "narrow", "gather",
    "scatter", "index_select", "repeat", "clone", "detach", "to", "pad", "max_pool2d", "avg_pool2d"],
  loss: ["mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "l1_loss", "smooth_l1_loss",
    "binary_cross_entropy_with_logits", "kl_div", "huber_loss"],
};
const CATEGORY: Map<string, string> = new Map(
  Object.entries(CATEGORY_OPS).flatMap(([cat, ops]) => ops.map((op) => [op, cat] as [string, string])));

export function category(node: GraphNode): string {
  if (node.kind === "param" || node.kind === "input" || node.kind === "const") return "leaf";
  if (node.kind === "optimizer" || node.phase === "optimizer") return "optimizer";
  const op = (node.op ?? "").replace(/^_+|_+$/g, "");
  return CATEGORY.get(op) ?? (op.endsWith("loss") ? "loss" : node.kind === "backward" ? "backward" : "pointwise");
}

export const shapeText = (shape: number[] | null | undefined): string =>
  shape ? `[${shape.join(", ")}]` : "";

const CHAR_W = 7.6, NODE_H = 34;   // bold 12px label: about 7.5px a character
const boxWidth = (...lines: string[]) => Math.max(56, Math.min(260, 16 + CHAR_W * Math.max(...lines.map((l) => l.length))));

export const hasPhase = (graph: GraphJSON, phase: string) => graph.nodes.some((n) => n.phase === phase);

export function moduleDepth(path: string): number { return path ? path.split(".").length : 0; }

/** Every module path with its ancestors (the graph's list may leave some out). */
export function moduleTree(graph: GraphJSON): Map<string, ModuleInfo> {
  const mods = new Map<string, ModuleInfo>();
  const add = (path: string, type = "") => {
    if (!path || mods.has(path)) return;
    const cut = path.lastIndexOf(".");
    const parent = cut < 0 ? "" : path.slice(0, cut);
    mods.set(path, { path, type, parent });
    add(parent);
  };
  for (const m of graph.modules ?? []) add(m.path, m.type);
  for (const m of graph.modules ?? []) if (m.type) mods.get(m.path)!.type = m.type;
  for (const n of graph.nodes) add(n.module);
  return mods;
}

/** Modules unfolded by default: breadth first (outermost first), each one only while the boxes shown
 *  stay within `budget`; foldDepth > 0 also caps the depth unfolded, foldDepth < 0 unfolds all. */
export function defaultExpanded(graph: GraphJSON, foldDepth = 0, budget = 200): Set<string> {
  const mods = moduleTree(graph);
  if (foldDepth < 0) return new Set(mods.keys());
  const children = new Map<string, number>();   // module path -> direct ops and submodules
  const bump = (p: string) => children.set(p, (children.get(p) ?? 0) + 1);
  for (const n of graph.nodes) if (n.module) bump(n.module);
  for (const m of mods.values()) if (m.parent) bump(m.parent);
  const top = graph.nodes.filter((n) => !n.module).length + [...mods.values()].filter((m) => !m.parent).length;
  const order = [...mods.keys()].sort((a, b) => moduleDepth(a) - moduleDepth(b));
  const expanded = new Set<string>();
  let shown = top;
  for (const path of order) {
    const parent = mods.get(path)!.parent;
    if (parent && !expanded.has(parent)) continue;
    if (foldDepth > 0 && moduleDepth(path) > foldDepth) continue;
    const grow = (children.get(path) ?? 0) - 1;
    if (shown + grow > budget) continue;
    expanded.add(path);
    shown += grow;
  }
  return expanded;
}

function ancestors(path: string): string[] {
  if (!path) return [];
  const parts = path.split(".");
  return parts.map((_, i) => parts.slice(0, i + 1).join("."));
}

/** What to draw: graph nodes inside unfolded modules, one box per outermost folded module;
 *  nodes of a hidden phase (a trace's backward nodes mirror its forward ops) are left out. */
export function visibleGraph(graph: GraphJSON, expanded: Set<string>, hidePhases: ReadonlySet<string> = new Set()): VisibleGraph {
  const mods = moduleTree(graph);
  const groups = new Map<string, VisibleGroup>();
  const folded = new Map<string, VisibleNode>();
  const folds = new Map<string, number>();
  const nodes: VisibleNode[] = [];
  const owner = new Map<number, string>();
  const groupOf = (path: string): string | null => {
    if (!path) return null;
    if (!groups.has(path)) {
      const info = mods.get(path)!;
      const parent = groupOf(info.parent);
      const name = path.slice(path.lastIndexOf(".") + 1);
      groups.set(path, { id: "g:" + path, path, label: info.type ? `${name} (${info.type})` : name, parent });
    }
    return "g:" + path;
  };
  for (const n of graph.nodes) {
    if (hidePhases.has(n.phase)) continue;
    const chain = ancestors(n.module);
    const firstFolded = chain.find((p) => !expanded.has(p));
    if (firstFolded !== undefined) {
      const id = "m:" + firstFolded;
      owner.set(n.id, id);
      folds.set(id, (folds.get(id) ?? 0) + 1);
      if (!folded.has(id)) {
        const info = mods.get(firstFolded)!;
        const label = firstFolded.slice(firstFolded.lastIndexOf(".") + 1) + (info.type ? ` (${info.type})` : "");
        folded.set(id, { id, module: firstFolded, parent: groupOf(info.parent), label, sub: "",
          category: "module", width: 0, height: NODE_H });
      }
      continue;
    }
    const id = "n:" + n.id;
    owner.set(n.id, id);
    const sub = shapeText(n.shape);
    nodes.push({ id, node: n, parent: groupOf(n.module), label: n.label || n.op || n.kind, sub, category: category(n),
      width: boxWidth(n.label || n.op || n.kind, sub), height: NODE_H });
  }
  for (const v of folded.values()) {
    v.sub = `${folds.get(v.id)} ops ▸`;
    v.width = boxWidth(v.label, v.sub);
    nodes.push(v);
  }
  const edges = new Map<string, VisibleEdge>();
  for (const e of graph.edges) addEdge(edges, owner, e);
  const key = `${graph.structure_hash}|${[...expanded].filter((p) => mods.has(p)).sort().join(",")}|${[...hidePhases].sort()}`;
  return { key, nodes, groups: [...groups.values()], edges: [...edges.values()], owner };
}

function addEdge(edges: Map<string, VisibleEdge>, owner: Map<number, string>, e: GraphEdge) {
  const source = owner.get(e.source), target = owner.get(e.target);
  if (!source || !target || source === target) return;
  const id = `${source}->${target}`;
  const seen = edges.get(id);
  if (seen) seen.count++;
  else edges.set(id, { id, source, target, label: shapeText(e.shape), count: 1 });
}

/** Graph nodes and folded modules matching a search (op, label, grad_fn, name or module path). */
export function search(graph: GraphJSON, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return graph.nodes.filter((n) =>
    [n.op, n.label, n.grad_fn, n.name, n.module].some((s) => s != null && s.toLowerCase().includes(q))).map((n) => n.id);
}

/** The folded modules that hold a node, outermost first: unfold these to show it. */
export function foldedAround(node: GraphNode, expanded: Set<string>): string[] {
  return ancestors(node.module).filter((p) => !expanded.has(p));
}
