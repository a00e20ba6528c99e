// A saved view (a notebook output's application/vnd.graphgrad.graph+json, or a .ggtrace document) driven
// through the widget's own front end: StaticModel implements js/widget.ts's WidgetModel over the saved
// JSON, so App draws it exactly as it draws a live widget. Nothing reaches a kernel: inspect requests are
// answered from the statistics saved with the view, stepping is hidden.
import { TO_BROWSER, VERSION, type GraphJSON, type StepState } from "../js/protocol";
import type { WidgetModel } from "../js/widget";

export const GRAPH_MIME = "application/vnd.graphgrad.graph+json";
export const VIEW_VERSION = 1;

type Numbers = ArrayLike<number | null>;

export interface SavedCurve { name: string; chart: string; x: Numbers; y: Numbers }
export interface SavedTensor {
  node: number; what: "value" | "grad"; shape: number[] | null; dtype: string | null; device: string | null;
  preview_kind: string; preview_shape: number[]; truncated: boolean;
  stats: Numbers; hist: Numbers; preview: Numbers;
}
export interface SavedView {
  version: number; title: string; height: number; fold_depth: number; panels: string[];
  graphgrad: string;   // the version that saved it (the widget's footer)
  graph: GraphJSON | null; curves: SavedCurve[]; tensors: SavedTensor[]; notes: string[];
}

/** Check a saved view's shape (it comes from a file or a notebook anyone may have edited): a clear
 * message for anything that is not one, rather than a blank panel later. */
export function checkView(data: unknown): SavedView {
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw new Error("this is not a saved graphgrad view (expected a JSON object)");
  const v = data as Partial<SavedView>;
  if (typeof v.version !== "number" || v.version > VIEW_VERSION)
    throw new Error(`saved view version ${String(v.version)} is not one this extension reads (up to ${VIEW_VERSION}): update graphgrad`);
  if (v.graph != null && (typeof v.graph !== "object" || !Array.isArray(v.graph.nodes) || !Array.isArray(v.graph.edges)))
    throw new Error("the saved graph has no node and edge lists");
  return {
    version: v.version, graphgrad: String(v.graphgrad ?? ""), title: String(v.title ?? ""), height: Number(v.height ?? 560) || 0, fold_depth: Number(v.fold_depth) || 0,
    panels: Array.isArray(v.panels) ? v.panels.map(String) : ["graph", "inspector"],
    graph: v.graph ? { ...v.graph, modules: v.graph.modules ?? [] } : null,
    curves: Array.isArray(v.curves) ? v.curves : [], tensors: Array.isArray(v.tensors) ? v.tensors : [],
    notes: Array.isArray(v.notes) ? v.notes.map(String) : [],
  };
}

/** JSON has no NaN: a saved null is a NaN again. */
function floats<T extends Float32Array | Float64Array>(values: Numbers, Kind: { new(n: number): T }): T {
  const out = new Kind(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] ?? NaN;
  return out;
}

const view = (a: Float32Array | Float64Array) => new DataView(a.buffer, a.byteOffset, a.byteLength);

type Listener = (...args: any[]) => void;

export class StaticModel implements WidgetModel {
  private listeners = new Map<string, Set<Listener>>();
  private traits: Record<string, unknown>;
  private tensors = new Map<string, SavedTensor>();

  constructor(private saved: SavedView) {
    const panels = saved.panels.filter((p) => p !== "steps");   // stepping needs the kernel
    if (saved.graph && !panels.includes("graph")) panels.push("graph", "inspector");
    if (saved.curves.length && !panels.includes("charts")) panels.unshift("charts");
    this.traits = {
      protocol_version: VERSION, graph: saved.graph ?? {}, steps: { available: false, mode: "none" } satisfies StepState,
      panels, fold_depth: saved.fold_depth, height: saved.height, title: saved.title, version: saved.graphgrad,
    };
    for (const t of saved.tensors) this.tensors.set(`${t.node}:${t.what}`, t);
  }

  get(name: string): any { return this.traits[name]; }

  on(event: string, cb: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }

  off(event?: string | null, cb?: Listener | null): void {
    if (!event) this.listeners.clear();
    else if (!cb) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(cb);
  }

  send(content: unknown): void {
    const msg = content as Record<string, unknown>;
    if (msg.type === "hello" && this.saved.curves.length) this.reply(this.points());
    else if (msg.type === "inspect") this.reply(this.tensor(Number(msg.request), Number(msg.node), msg.what as "value" | "grad"));
  }

  /** Replies arrive asynchronously, as a kernel's would; header fields a saved view has no value for
   * (ones the protocol added since) are null. */
  private reply([msg, buffers]: [Record<string, unknown>, DataView[]]) {
    const fields: readonly string[] = (TO_BROWSER as Record<string, readonly string[]>)[String(msg.type)] ?? [];
    for (const f of fields) if (!(f in msg)) msg[f] = null;
    setTimeout(() => { for (const cb of this.listeners.get("msg:custom") ?? []) cb(msg, buffers); }, 0);
  }

  points(): [Record<string, unknown>, DataView[]] {
    const series = this.saved.curves.map((c) => ({ name: c.name, chart: c.chart, count: Math.min(c.x.length, c.y.length) }));
    const buffers = this.saved.curves.map((c, i) => {
      const xy = new Float64Array(2 * series[i].count);
      for (let k = 0; k < series[i].count; k++) { xy[2 * k] = c.x[k] ?? NaN; xy[2 * k + 1] = c.y[k] ?? NaN; }
      return view(xy);
    });
    return [{ type: "points", reset: true, series }, buffers];
  }

  tensor(request: number, node: number, what: "value" | "grad"): [Record<string, unknown>, DataView[]] {
    const t = this.tensors.get(`${node}:${what}`);
    const header = { type: "tensor", request, node, what };
    if (!t)
      return [{ ...header, available: false, reason: `not saved with this ${what === "grad" ? "gradient" : "value"}: run the notebook for the live view`,
        shape: null, dtype: null, device: null, preview_kind: "none", preview_shape: [], truncated: false }, []];
    return [{ ...header, available: true, reason: "", shape: t.shape, dtype: t.dtype, device: t.device, preview_kind: t.preview_kind,
      preview_shape: t.preview_shape, truncated: t.truncated },
    [view(floats(t.stats, Float64Array)), view(floats(t.hist, Float64Array)), view(floats(t.preview, Float32Array))]];
  }
}
