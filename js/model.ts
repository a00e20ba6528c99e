// The graph as the browser sees it: module calls (each call of a module its own box), which of them
// are folded, parameters and constants as badges on the ops that read them, edges rerouted to folded
// boxes, search, and the categories nodes are coloured by. Pure data, no DOM.
import type { GraphEdge, GraphJSON, GraphNode } from "./protocol";

export interface Badge { node: GraphNode; text: string }
export interface VisibleNode {
  id: string;               // "n:<node id>" or "m:<call id>" (a folded module call)
  node?: GraphNode;         // the op (or leaf) drawn; absent for a folded call
  module?: string;          // a folded call's id
  call?: Call;              // a folded call, or the one-op call a node stands for ("conv1 · conv2d")
  parent: string | null;    // the enclosing unfolded call, "g:<call id>", or null at the top
  label: string;
  sub: string;              // second line: shape, or the folded call's size and output shape
  badges: Badge[];          // parameters and constants this op reads (when not drawn as nodes)
  category: string;
  width: number; height: number;
}
export interface VisibleGroup { id: string; path: string; call: Call; label: string; parent: string | null }
export interface VisibleEdge { id: string; source: string; target: string; label: string; count: number }
export interface VisibleGraph {
  key: string; nodes: VisibleNode[]; groups: VisibleGroup[]; edges: VisibleEdge[];
  owner: Map<number, string>;   // graph node id -> the visible id that shows it (a badge: its op's)
  badged: Set<number>;          // leaves drawn as badges inside the ops that read them
}
export interface ViewOptions { hidePhases?: ReadonlySet<string>; leavesAsNodes?: boolean }

// ---- colours: the op category the engine sends (graphgrad.ops.dispatch.CATEGORIES), drawn in a few families
const FAMILY: Record<string, string> = {
  linalg: "matmul", convolution: "matmul", attention: "matmul",
  activation: "activation",
  reduction: "reduce", normalization: "reduce",
  shape: "shape", indexing: "shape", pooling: "shape",
  loss: "loss",
};

/** The colour family a node is drawn in (a gg-cat-* class): an op's by the category the engine
 *  sends; arithmetic, unary, comparison, conversion and hook ops, and any op of a graph saved
 *  without categories, in the plain "pointwise" colour. */
export function category(node: GraphNode): string {
  if (isLeaf(node)) return "leaf";
  if (node.kind === "optimizer" || node.phase === "optimizer") return "optimizer";
  if (node.kind === "backward") return "backward";
  return (node.category && FAMILY[node.category]) || "pointwise";
}

export const isLeaf = (n: GraphNode) => n.kind === "param" || n.kind === "input" || n.kind === "const";
const isBadge = (n: GraphNode) => n.kind === "param" || n.kind === "const";

export const shapeText = (shape: number[] | null | undefined): string =>
  shape ? `[${shape.join(", ")}]` : "";
const shapeShort = (shape: number[] | null | undefined): string => (shape ? shape.join("×") || "scalar" : "");

export const hasPhase = (graph: GraphJSON, phase: string) => graph.nodes.some((n) => n.phase === phase);

// ---- module calls ------------------------------------------------------------------------
export interface Call {
  id: string;          // "<module path>#<n>": the n-th call of that module (0 first)
  path: string; type: string; index: number; depth: number;
  parent: string | null;
  children: string[];  // calls made inside, in the order they ran
  nodes: number[];     // ops run directly in this call (not in a child call)
  ops: number;         // ops run in this call and below
  last: GraphNode | null;   // the last op that ran in it: its output is the call's
  first: number;       // position of its first op in the graph
}
export interface Calls {
  byId: Map<string, Call>;
  of: Map<number, string | null>;   // graph node id -> the call it ran in (leaves: their first reader's)
  top: string[];                    // calls at the top level
  readers: Map<number, number[]>;   // leaf id -> ops that read it
  aux: Map<number, number>;         // bookkeeping op (reads only leaves, feeds nothing: a buffer's counter) -> the op it is drawn in
}

const callCache = new WeakMap<GraphJSON, Calls>();

/** Each call of each module, from the order ops ran in: a module whose ops resume after another
 *  module's ran (a ReLU used twice in a block) is a new call with its own box. Phases are walked
 *  apart (a trace's backward nodes run in reverse), so each phase has calls of its own. */
export function moduleCalls(graph: GraphJSON): Calls {
  const hit = callCache.get(graph);
  if (hit) return hit;
  const types = new Map((graph.modules ?? []).map((m) => [m.path, m.type ?? ""]));
  const byId = new Map<string, Call>(), of = new Map<number, string | null>(), count = new Map<string, number>();
  const top: string[] = [];
  const readers = new Map<number, number[]>();
  const leafIds = new Set(graph.nodes.filter(isLeaf).map((n) => n.id));
  for (const e of graph.edges) if (leafIds.has(e.source)) {
    const r = readers.get(e.source);
    if (r) r.push(e.target); else readers.set(e.source, [e.target]);
  }
  // bookkeeping ops (BatchNorm counting its batches): no data flows in or out, so they are drawn as
  // badges of the op beside them rather than boxes of their own
  const fed = new Set<number>(), feeds = new Set<number>();
  for (const e of graph.edges) if (!leafIds.has(e.source)) { fed.add(e.target); feeds.add(e.source); }
  const last = graph.nodes[graph.nodes.length - 1];
  const isAux = (n: GraphNode) => n.kind === "op" && !fed.has(n.id) && !feeds.has(n.id) && n !== last;
  const aux = new Map<number, number>();
  let stack: Call[] = [], phase = "", previous: GraphNode | null = null, pending: GraphNode[] = [];
  graph.nodes.forEach((n, position) => {
    if (isLeaf(n)) return;
    if (n.phase !== phase) { stack = []; phase = n.phase; }
    const parts = n.module ? n.module.split(".") : [];
    let same = 0;
    while (same < stack.length && same < parts.length && stack[same].path === parts.slice(0, same + 1).join(".")) same++;
    stack.length = same;
    for (let d = same; d < parts.length; d++) {
      const path = parts.slice(0, d + 1).join(".");
      const index = count.get(path) ?? 0;
      count.set(path, index + 1);
      const parent = stack.length ? stack[stack.length - 1] : null;
      const call: Call = { id: `${path}#${index}`, path, type: types.get(path) ?? "", index, depth: d, parent: parent?.id ?? null,
        children: [], nodes: [], ops: 0, last: null, first: position };
      byId.set(call.id, call);
      (parent ? parent.children : top).push(call.id);
      stack.push(call);
    }
    const own = stack.length ? stack[stack.length - 1] : null;
    of.set(n.id, own?.id ?? null);
    own?.nodes.push(n.id);
    if (isAux(n)) {   // drawn in the op before it in the same call, or else the next one
      if (previous && of.get(previous.id) === (own?.id ?? null)) aux.set(n.id, previous.id); else pending.push(n);
      return;
    }
    for (const p of pending) if (of.get(p.id) === (own?.id ?? null)) aux.set(p.id, n.id);
    pending = [];
    previous = n;
    for (const c of stack) { c.ops++; c.last = n; }
  });
  // a leaf sits with its first reader (an input the user passed in stays at the top)
  for (const n of graph.nodes) if (isLeaf(n)) {
    const reader = readers.get(n.id)?.[0];
    of.set(n.id, (n.kind === "input" && !n.module) || reader === undefined ? null : of.get(reader) ?? null);
  }
  const calls = { byId, of, top, readers, aux };
  callCache.set(graph, calls);
  return calls;
}

/** The calls from the outermost down to the one a node ran in. */
export function callChain(calls: Calls, nodeId: number): Call[] {
  const chain: Call[] = [];
  for (let id = calls.of.get(nodeId) ?? null; id; id = calls.byId.get(id)!.parent) chain.unshift(calls.byId.get(id)!);
  return chain;
}

/** A call with a single op and nothing inside (conv1 running conv2d) is drawn as that op, named after it. */
const isSingleOp = (c: Call) => c.ops === 1 && c.children.length === 0;

const callName = (c: Call) => {
  const name = c.path.slice(c.path.lastIndexOf(".") + 1);
  return c.index > 0 ? `${name} (call ${c.index + 1})` : name;
};
export const callTitle = (c: Call) => (c.type ? `${callName(c)} · ${c.type}` : callName(c));

// ---- sizes ---------------------------------------------------------------------------------
const CHAR_W = 7.4, SMALL_W = 6, NODE_H = 34, BADGE_H = 15, MAX_BADGES = 3;
const boxWidth = (label: string, sub: string, badges: string[]) =>
  Math.max(64, Math.min(280, 18 + Math.max(CHAR_W * label.length, SMALL_W * sub.length, ...badges.map((b) => SMALL_W * b.length + 12))));

function badgeText(n: GraphNode): string {
  if (n.kind === "op") return `${n.op} (bookkeeping)`;
  if (n.kind === "const") return n.shape && n.shape.length ? `const ${shapeShort(n.shape)}` : n.label;
  const name = n.name ? n.name.slice(n.name.lastIndexOf(".") + 1) : n.label;
  return `${name} ${shapeShort(n.shape)}`;
}

// ---- what to draw -----------------------------------------------------------------------
/** Calls unfolded by default: every call down to the deepest level at which the boxes shown stay
 *  within `budget` (one depth for all, so the first view reads evenly: resnet18 shows its stem,
 *  layer1..layer4 and head); foldDepth > 0 caps that depth, foldDepth < 0 unfolds all. */
export function defaultExpanded(graph: GraphJSON, foldDepth = 0, budget = 18, opts: ViewOptions = {}): Set<string> {
  const calls = moduleCalls(graph);
  const all = [...calls.byId.values()].filter((c) => !isSingleOp(c));
  if (foldDepth < 0) return new Set(all.map((c) => c.id));
  let best = new Set<string>();
  const maxDepth = Math.max(0, ...all.map((c) => c.depth + 1));
  for (let d = 1; d <= maxDepth; d++) {
    if (foldDepth > 0 && d > foldDepth) break;
    const expanded = new Set(all.filter((c) => c.depth < d).map((c) => c.id));
    const shown = countBoxes(graph, expanded, opts);
    // a view of one folded box tells nothing: always open the outermost level that has more
    if (shown > budget && best.size && countBoxes(graph, best, opts) > 2) break;
    best = expanded;
  }
  return best;
}

/** How many boxes a view would draw (visibleGraph's count, without building it). */
function countBoxes(graph: GraphJSON, expanded: Set<string>, opts: ViewOptions): number {
  const calls = moduleCalls(graph), hide = opts.hidePhases ?? new Set<string>();
  const closed = new Map<string | null, string | null>([[null, null]]);
  const closedAround = (id: string | null): string | null => {
    if (closed.has(id)) return closed.get(id)!;
    const call = calls.byId.get(id!)!;
    const found = closedAround(call.parent) ?? (!expanded.has(call.id) && !isSingleOp(call) ? call.id : null);
    closed.set(id, found);
    return found;
  };
  const folded = new Set<string>();
  let count = 0;
  for (const n of graph.nodes) {
    if (hide.has(n.phase) || calls.aux.has(n.id) || (isBadge(n) && !opts.leavesAsNodes && calls.readers.has(n.id))) continue;
    const c = closedAround(calls.of.get(n.id) ?? null);
    if (c === null) count++; else folded.add(c);
  }
  return count + folded.size;
}

/** Every call that can be unfolded (for "unfold all"). */
export const allCalls = (graph: GraphJSON) => new Set([...moduleCalls(graph).byId.values()].filter((c) => !isSingleOp(c)).map((c) => c.id));

/** What to draw: ops inside unfolded calls, one box per outermost folded call; parameters and
 *  constants as badges of the ops that read them (or as nodes, with leavesAsNodes); nodes of a
 *  hidden phase (a trace's backward nodes mirror its forward ops) left out. */
export function visibleGraph(graph: GraphJSON, expanded: Set<string>, opts: ViewOptions = {}): VisibleGraph {
  const hide = opts.hidePhases ?? new Set<string>(), leavesAsNodes = !!opts.leavesAsNodes;
  const calls = moduleCalls(graph);
  const groups = new Map<string, VisibleGroup>(), folded = new Map<string, VisibleNode>();
  const nodes: VisibleNode[] = [], owner = new Map<number, string>(), byId = new Map<string, VisibleNode>();
  const groupOf = (callId: string | null): string | null => {
    if (!callId) return null;
    const call = calls.byId.get(callId)!;
    if (isSingleOp(call)) return groupOf(call.parent);
    if (!groups.has(callId))
      groups.set(callId, { id: "g:" + callId, path: call.path, call, label: `${callTitle(call)} · ${call.ops} ops`, parent: groupOf(call.parent) });
    return "g:" + callId;
  };
  // the outermost folded call around each call (undefined: none), worked out once per call
  const closedMemo = new Map<string | null, Call | undefined>([[null, undefined]]);
  const closedAround = (callId: string | null): Call | undefined => {
    if (closedMemo.has(callId)) return closedMemo.get(callId);
    const call = calls.byId.get(callId!)!;
    const outer = closedAround(call.parent);
    const found = outer ?? (!expanded.has(call.id) && !isSingleOp(call) ? call : undefined);
    closedMemo.set(callId, found);
    return found;
  };
  const badges = new Map<number, GraphNode[]>();   // op id -> leaves it reads, drawn as badges
  const badged = new Set<number>();
  for (const n of graph.nodes) {
    if (hide.has(n.phase)) continue;
    const host = calls.aux.get(n.id);
    if (host !== undefined) {
      const b = badges.get(host);
      if (b) b.push(n); else badges.set(host, [n]);
      badged.add(n.id);
      continue;
    }
    if (isBadge(n) && !leavesAsNodes && calls.readers.has(n.id)) {
      for (const r of calls.readers.get(n.id)!) { const b = badges.get(r); if (b) b.push(n); else badges.set(r, [n]); }
      badged.add(n.id);
      continue;
    }
    const own = calls.of.get(n.id) ?? null;
    const closed = closedAround(own);
    if (closed) {
      const id = "m:" + closed.id;
      owner.set(n.id, id);
      if (!folded.has(id)) {
        const v: VisibleNode = { id, module: closed.id, call: closed, parent: groupOf(closed.parent), label: callTitle(closed),
          sub: "", badges: [], category: "module", width: 0, height: NODE_H };
        folded.set(id, v);
        byId.set(id, v);
        nodes.push(v);
      }
      continue;
    }
    const id = "n:" + n.id, single = own ? calls.byId.get(own)! : null;
    const named = single && isSingleOp(single) && !isLeaf(n) ? single : undefined;
    const label = named ? `${callName(named)} · ${n.label || n.op}` : n.label || n.op || n.kind;
    const v: VisibleNode = { id, node: n, call: named, parent: groupOf(calls.of.get(n.id) ?? null), label, sub: shapeText(n.shape),
      badges: [], category: category(n), width: 0, height: NODE_H };
    owner.set(n.id, id);
    byId.set(id, v);
    nodes.push(v);
  }
  for (const v of nodes) {
    if (v.call && !v.node) {
      const out = v.call.last?.shape;
      v.sub = `${v.call.ops} op${v.call.ops === 1 ? "" : "s"}${out ? " → " + shapeText(out) : ""}`;
    }
    const leaves = v.node ? badges.get(v.node.id) ?? [] : [];
    v.badges = leaves.map((n) => ({ node: n, text: badgeText(n) }));
    for (const b of leaves) if (!owner.has(b.id)) owner.set(b.id, v.id);
    const shown = v.badges.slice(0, MAX_BADGES).map((b) => b.text);
    if (v.badges.length > MAX_BADGES) shown.push(`+${v.badges.length - MAX_BADGES} more`);
    v.width = boxWidth(v.label, v.sub, shown);
    v.height = NODE_H + (shown.length ? shown.length * BADGE_H + 3 : 0);
  }
  const edges = new Map<string, VisibleEdge>();
  for (const e of graph.edges) if (!badged.has(e.source)) addEdge(edges, owner, e);
  return { key: viewKey(graph, expanded, opts), badged, nodes, groups: [...groups.values()], edges: [...edges.values()], owner };
}

/** What a view's layout depends on: the structure, what is unfolded, what is hidden. */
export function viewKey(graph: GraphJSON, expanded: Set<string>, opts: ViewOptions = {}): string {
  const calls = moduleCalls(graph);
  return `${graph.structure_hash}|${[...expanded].filter((c) => calls.byId.has(c)).sort().join(",")}|${[...(opts.hidePhases ?? [])].sort()}|${!!opts.leavesAsNodes}`;
}

function addEdge(edges: Map<string, VisibleEdge>, owner: Map<number, string>, e: GraphEdge) {
  const source = owner.get(e.source), target = owner.get(e.target);
  if (!source || !target || source === target) return;
  const id = `${source}->${target}`;
  const seen = edges.get(id);
  if (seen) seen.count++;
  else edges.set(id, { id, source, target, label: shapeText(e.shape), count: 1 });
}

/** Graph nodes matching a search (op, label, grad_fn, name or module path), case-insensitively. */
export function search(graph: GraphJSON, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return graph.nodes.filter((n) =>
    [n.op, n.label, n.grad_fn, n.name, n.module].some((s) => s != null && s.toLowerCase().includes(q))).map((n) => n.id);
}

/** The folded calls that hide a node, outermost first: unfold these to show it. */
export function foldedAround(graph: GraphJSON, nodeId: number, expanded: Set<string>): string[] {
  return callChain(moduleCalls(graph), nodeId).filter((c) => !expanded.has(c.id) && !isSingleOp(c)).map((c) => c.id);
}

// ---- NaN and Inf: where they were born, where they spread ------------------------------------
export interface NonFinite { born: Set<number>; spread: Set<number> }

/** Nodes whose output is NaN/Inf: "born" where every input was finite (the engine says so in
 *  flags.born when it knows; else judged from the inputs' flags), "spread" where an input already was. */
export function nonFinite(graph: GraphJSON): NonFinite {
  const bad = (n: GraphNode | undefined) => !!n && (n.flags?.nan || n.flags?.inf);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const inputs = new Map<number, number[]>();
  for (const e of graph.edges) { const l = inputs.get(e.target); if (l) l.push(e.source); else inputs.set(e.target, [e.source]); }
  const born = new Set<number>(), spread = new Set<number>();
  for (const n of graph.nodes) {
    if (!bad(n)) continue;
    const told = (n.flags as { born?: boolean }).born;
    const fresh = told ?? !(inputs.get(n.id) ?? []).some((i) => bad(byId.get(i)));
    (fresh ? born : spread).add(n.id);
  }
  return { born, spread };
}

/** "'sqrt' in model.norm (train.py:23)": a node in the words messages use, never its id. */
export function describe(n: GraphNode): string {
  const what = n.kind === "backward" ? `${n.grad_fn} (the backward of '${n.op}')` : isLeaf(n) ? `${n.kind} '${n.name ?? n.label}'` : `'${n.op ?? n.label}'`;
  const where = n.module ? ` in ${n.module}` : "";
  const line = n.source ? ` (${n.source.file.slice(n.source.file.lastIndexOf("/") + 1)}:${n.source.line})` : "";
  return what + where + line;
}
