// The widget protocol, browser half (Python half: engine/graphgrad/viz/protocol.py). Both are checked
// against tests/viz_protocol.json. Structure travels as JSON in synced traits; numbers as binary buffers.

export const VERSION = 1;
export const GRAPH_SCHEMA = 1;
export const STATS = ["numel", "min", "max", "mean", "std", "norm", "nan", "inf", "zeros"] as const;
export const HIST_BINS = 32;
export const PREVIEW_KINDS = ["none", "values", "heatmap", "images"] as const;
export const COMMANDS = ["first", "prev", "next", "last", "run_to", "continue", "forward", "backward"] as const;
export const TO_PYTHON = {
  hello: ["version"],
  inspect: ["request", "node", "what"],
  command: ["cmd", "node"],
  breakpoint: ["node", "on"],
  show_step: ["step"],
} as const;
// fields a browser -> Python message may leave out; inspect: whose gradient "sent" means (0), and the leading
// indices of the 2-D plane a preview of 3 or more dimensions shows ([batch, channel] of N,C,H,W; channel -1: RGB)
export const TO_PYTHON_OPTIONAL = { inspect: ["input", "index"] } as const;
// value: what the node made; grad: the gradient that reached its output; sent: what its backward passed to input `input`
export const INSPECT_WHAT = ["value", "grad", "sent"] as const;
export type InspectWhat = typeof INSPECT_WHAT[number];
export const TO_BROWSER = {
  tensor: ["request", "node", "what", "available", "reason", "shape", "dtype", "device",
    "preview_kind", "preview_shape", "truncated", "index"],
  points: ["reset", "series"],
  error: ["message"],
  monitor: ["markers", "shown", "pinned", "step", "rate", "done", "total", "left", "flags"],
  graph_values: ["iteration", "structure_hash", "ids", "seconds", "flags"],
} as const;
export const BUFFERS = {
  tensor: ["stats:float64", "hist:float64", "preview:float32"],
  points: ["xy:float64*"],
} as const;
export const TRAITS = ["protocol_version", "graph", "steps", "panels", "fold_depth", "height", "title", "version"] as const;
export const STEP_FIELDS = ["mode", "available", "position", "total", "current", "done", "ready", "finished",
  "breakpoints", "message", "flagged"] as const;

export function spec() {
  return {
    version: VERSION, graph_schema: GRAPH_SCHEMA, stats: [...STATS], hist_bins: HIST_BINS,
    preview_kinds: [...PREVIEW_KINDS], commands: [...COMMANDS],
    to_python: TO_PYTHON, to_python_optional: TO_PYTHON_OPTIONAL, inspect_what: [...INSPECT_WHAT],
    to_browser: TO_BROWSER, buffers: BUFFERS,
    traits: [...TRAITS], step_fields: [...STEP_FIELDS],
  };
}

// ---- graph structure (schema v1) ----------------------------------------------------------
export type NodeKind = "op" | "input" | "param" | "const" | "backward" | "optimizer";
export interface GraphNode {
  id: number; kind: NodeKind; op: string | null; grad_fn: string | null; label: string; name: string | null;
  category?: string | null;     // the op's (graphgrad.ops.dispatch.CATEGORIES); null for a leaf or an unregistered op
  module: string; phase: string; shape: number[] | null; dtype: string | null; device: string | null;
  source: SourceLine | null; attrs: Record<string, unknown>;
  caller?: SourceLine | null;   // the user's line that called it, where the op ran in a library model
  seconds: number | null; forward_id: number | null; flags: { nan: boolean; inf: boolean };
}
export interface SourceLine { file: string; line: number; code: string }
export interface GraphEdge { source: number; target: number; input: number; shape: number[] | null; dtype: string | null }
export interface ModuleInfo { path: string; type: string; parent: string }
export interface GraphJSON {
  schema: number; structure_hash: string; iteration: number;
  nodes: GraphNode[]; edges: GraphEdge[]; modules: ModuleInfo[];
}
export type Command = typeof COMMANDS[number];
export interface StepState {
  mode: "backward" | "forward" | "none"; available: boolean; position?: number; total?: number | null;
  current?: number | null; done?: number[]; ready?: number[]; finished?: boolean; breakpoints?: number[];
  message?: string; flagged?: number[];
}

// ---- messages --------------------------------------------------------------------------
export type ToPython =
  | { type: "hello"; version: number }
  | { type: "inspect"; request: number; node: number; what: InspectWhat; input?: number; index?: number[] }
  | { type: "command"; cmd: Command; node: number | null }
  | { type: "breakpoint"; node: number; on: boolean }
  | { type: "show_step"; step: number | null };

export type Stats = Record<typeof STATS[number], number>;
export interface TensorReply {
  request: number; node: number; what: InspectWhat; available: boolean; reason: string;
  shape: number[] | null; dtype: string | null; device: string | null;
  preview_kind: typeof PREVIEW_KINDS[number]; preview_shape: number[]; truncated: boolean;
  index: number[] | null;   // the plane the preview shows ([batch, channel] of a 4-D tensor), null below 3-D
  stats?: Stats; hist?: Float64Array; preview?: Float32Array;
}
export interface SeriesPoints {
  name: string; chart: string; x: Float64Array; y: Float64Array;
  replace?: boolean; last?: [number, number] | null;   // replace: drop the series' points first; last: its latest point
}
// a monitor's state (Python: LoopMonitor via the Monitor widget)
export interface Marker { step: number; role: string; label: string; note: string }
// a monitor's newer step of the graph's structure: node ids and op seconds in the graph's order, the flagged nodes by position
export interface GraphValues {
  iteration: number; structure_hash: string; ids: number[]; seconds: (number | null)[];
  flags: [number, { nan: boolean; inf: boolean; born?: boolean }][];
}
export interface MonitorState {
  markers: Marker[]; shown: number | null; pinned: boolean; step: number; rate: number | null;
  done: number; total: number | null; left: number | null;
  flags: { no_gradient: string[]; dead_relu: Record<string, number> };
}

// Buffers arrive as DataViews that may sit at any offset of a shared buffer: copy to align them.
function floats<T extends Float32Array | Float64Array>(view: DataView | ArrayBuffer, Kind: { new(b: ArrayBuffer): T }): T {
  const dv = view instanceof DataView ? view : new DataView(view);
  return new Kind(dv.buffer.slice(dv.byteOffset, dv.byteOffset + dv.byteLength) as ArrayBuffer);
}

export function checkFields(kind: string, msg: Record<string, unknown>): void {
  const fields = (TO_BROWSER as Record<string, readonly string[]>)[kind];
  if (!fields) throw new Error(`unknown message type ${kind}`);
  const missing = fields.filter((f) => !(f in msg));
  if (missing.length) throw new Error(`${kind} message lacks ${missing.join(", ")}`);
}

export function decodeTensor(msg: Record<string, unknown>, buffers: (DataView | ArrayBuffer)[]): TensorReply {
  checkFields("tensor", msg);
  const reply = msg as unknown as TensorReply;
  if (reply.available && buffers.length === BUFFERS.tensor.length) {
    const s = floats(buffers[0], Float64Array);
    reply.stats = Object.fromEntries(STATS.map((k, i) => [k, s[i]])) as Stats;
    reply.hist = floats(buffers[1], Float64Array);
    reply.preview = floats(buffers[2], Float32Array);
  }
  return reply;
}

export function decodePoints(msg: Record<string, unknown>, buffers: (DataView | ArrayBuffer)[]): { reset: boolean; series: SeriesPoints[] } {
  checkFields("points", msg);
  const meta = msg.series as { name: string; chart: string; count: number; replace?: boolean; tail?: boolean }[];
  return {
    reset: Boolean(msg.reset),
    series: meta.map((m, i) => {
      const xy = floats(buffers[i], Float64Array);
      const x = new Float64Array(m.count), y = new Float64Array(m.count);
      for (let k = 0; k < m.count; k++) { x[k] = xy[2 * k]; y[k] = xy[2 * k + 1]; }
      const last: [number, number] | null = m.tail ? [xy[2 * m.count], xy[2 * m.count + 1]] : null;   // the latest point, after them
      return { name: m.name, chart: m.chart, x, y, replace: Boolean(m.replace), last };
    }),
  };
}
