// The inspector: what a node is (op, module, shape, dtype, device, size, the line that ran it and the
// user's line that called it), its key figures — value beside gradient — and then one tensor at a
// time in tabs: the value, the gradient that flowed in, the gradients it sent to its inputs. Tensors
// are fetched from Python on demand (a plane of a 3-D or 4-D one at a time), when the node is
// selected, when the stepper moves, or when a plane or input is picked.
import { button, h } from "./dom";
import type { GraphJSON, GraphNode, InspectWhat, SourceLine, TensorReply } from "./protocol";
import { figuresTable, planeDims, tensorPanel } from "./tensorview";

// ---- pure parts (js/test/inspector.test.ts) -------------------------------------------------------
export type Slot = InspectWhat;
export interface InputRef { input: number; label: string; shape: number[] | null; kind: string }
export interface InspectRequest { node: number; what: Slot; input?: number; index?: number[] }

const shapeText = (shape: number[] | null | undefined) => (shape ? `[${shape.join(", ")}]` : "");
const isBackward = (n: GraphNode) => n.kind === "backward";
const isLeaf = (n: GraphNode) => n.kind === "param" || n.kind === "input" || n.kind === "const";

/** What a node's tabs show, in order: the value, the gradient it received, the gradients it sent. */
export function slotsFor(node: GraphNode, inputs: InputRef[]): Slot[] {
  if (node.kind === "const") return ["value"];
  if (isLeaf(node)) return ["value", "grad"];
  const sent: Slot[] = inputs.length ? ["sent"] : [];
  return isBackward(node) ? ["grad", ...sent] : ["value", "grad", ...sent];
}

/** The tensors that flowed into a node (a backward node: its forward op's), by input position. */
export function inputsOf(graph: GraphJSON | null, node: GraphNode): InputRef[] {
  if (!graph) return [];
  const target = isBackward(node) && node.forward_id != null ? node.forward_id : node.id;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const seen = new Set<number>();
  const refs: InputRef[] = [];
  for (const e of graph.edges) {
    const src = byId.get(e.source);
    if (e.target !== target || seen.has(e.input) || !src || isBackward(src)) continue;
    seen.add(e.input);
    refs.push({ input: e.input, label: nameOf(src), shape: e.shape ?? src.shape, kind: src.kind });
  }
  return refs.sort((a, b) => a.input - b.input);
}

const nameOf = (n: GraphNode) => (n.name ? n.name.split(".").pop()! : n.label || n.op || n.kind);

export interface Words { tab: string; head: string; title: string; explain: string }

/** Which tensor a tab shows, in words a learner reads: the value; the gradient that flowed in (the
 *  loss's gradient with respect to the node's output); the gradient sent to one input. */
export function wordsFor(node: GraphNode, slot: Slot, input?: InputRef): Words {
  const op = node.op || node.label;
  const name = isLeaf(node) ? nameOf(node) : op;
  if (slot === "value") {
    return isLeaf(node)
      ? { tab: "value", head: "value", title: `Value of ${node.name ?? name}`, explain: "" }
      : { tab: "value", head: "value", title: `Value: the output of ${op}`, explain: "" };
  }
  if (slot === "grad") {
    if (isBackward(node))
      return { tab: "received", head: "received", title: `Gradient received: ∂loss/∂(output of ${op})`,
        explain: `What ${node.grad_fn ?? "this backward step"} was handed: how the loss changes with each entry of the output of the forward op ${op}.` };
    if (isLeaf(node))
      return { tab: "gradient", head: "gradient", title: `Gradient: ∂loss/∂${name}`,
        explain: node.kind === "param"
          ? `How the loss changes with each entry of ${name}: what reached it in backward, what its .grad holds, what the optimizer steps against.`
          : `How the loss changes with each entry of this input: what reached it in backward.` };
    return { tab: "gradient in", head: "gradient in", title: "Gradient in: ∂loss/∂output",
      explain: `How the loss changes with each entry of ${op}'s output: what flowed back into ${op} from the ops that used its result.` };
  }
  const to = input ? `input ${input.input} (${input.label})` : "an input";
  const param = input?.kind === "param" ? ` It lands in ${input.label}'s .grad.` : "";
  return { tab: isBackward(node) ? "sent" : "gradients out", head: input ? `to ${input.label}` : "sent",
    title: `Gradient out to ${input?.label ?? "input"}: ∂loss/∂${input?.label ?? "input"}`,
    explain: `What ${isBackward(node) ? node.grad_fn ?? op : `${op}'s backward`} sent to ${to}: the gradient that came in times ${op}'s local derivative.${param}` };
}

const ITEMSIZE: Record<string, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  complex64: 8, complex128: 16, float8_e4m3fn: 1, float8_e5m2: 1, uint16: 2, uint32: 4, uint64: 8,
};

/** Bytes a tensor of this shape and dtype takes (null when the dtype is not known). */
export function bytesOf(shape: number[] | null | undefined, dtype: string | null | undefined): number | null {
  const size = dtype ? ITEMSIZE[dtype.replace(/^(torch|graphgrad)\./, "")] : undefined;
  if (!shape || size == null) return null;
  return shape.reduce((a, b) => a * b, 1) * size;
}

/** A long file path as its last two parts ("…/models/resnet.py"); notebook cells' names stay whole. */
export function shortPath(file: string, max = 40): string {
  const parts = file.split(/[\\/]/);
  return file.length <= max || parts.length <= 2 ? file : `…/${parts.slice(-2).join("/")}`;
}

export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${Number(v.toPrecision(3))} ${units[u]}`;
}

/** The plane to keep when the inspector moves to a tensor of another shape: the same batch and channel
 *  while the leading dimensions are the same (following the cursor through a block), else none. */
export function keepPlane(index: number[] | null, from: number[] | null | undefined, to: number[] | null | undefined): number[] | null {
  const a = planeDims(from), b = planeDims(to);
  if (!index || !a.length || a.length !== b.length || a.some((d, i) => d.size !== b[i].size)) return null;
  return index;
}

// ---- the panel --------------------------------------------------------------------------------------
interface Context { graph: GraphJSON | null; breakpoint: boolean; stepping: boolean; as?: string }

export class Inspector {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private followBox: HTMLInputElement;
  private node: GraphNode | null = null;
  private ctx: Context = { graph: null, breakpoint: false, stepping: false };
  private inputs: InputRef[] = [];
  private tab: Slot = "value";
  private index: number[] | null = null;      // the plane of value and gradient in
  private sentInput = 0;
  private sentIndex: number[] | null = null;
  private latest: Partial<Record<Slot, number>> = {};
  private replies: Partial<Record<Slot, TensorReply>> = {};
  private figures = h("div", "gg-figures-box");
  private tabBar = h("div", "gg-tabs");
  private panel = h("div", "gg-tab-panel");
  private actions = h("div", "gg-actions");
  onBreakpoint: (node: number, on: boolean) => void = () => {};
  onRunTo: (node: number) => void = () => {};
  onFollow: (on: boolean) => void = () => {};
  /** Ask Python for a tensor; returns the request's id (its reply is matched on it). */
  request: (r: InspectRequest) => number = () => -1;

  constructor() {
    this.followBox = h("input") as HTMLInputElement;
    this.followBox.type = "checkbox";
    this.followBox.addEventListener("change", () => this.onFollow(this.followBox.checked));
    const follow = h("label", "gg-follow gg-small", this.followBox, " follow the step cursor");
    follow.title = "Show the node the stepper is at, as it moves";
    this.body = h("div", "gg-inspector-body");
    this.el = h("aside", "gg-inspector", h("div", "gg-insp-bar", follow), this.body);
    this.panel.setAttribute("role", "tabpanel");
    this.clear();
  }

  get following(): boolean { return this.followBox.checked; }

  clear(): void {
    this.node = null;
    this.latest = {};
    this.body.replaceChildren(h("p", "gg-muted", "click a node to inspect it"));
  }

  /** A node: its facts now, its tensors as they arrive. `ctx.as` titles a folded module shown by its output. */
  show(node: GraphNode, ctx: Context): void {
    const same = this.node?.id === node.id;
    const was = this.node;
    this.node = node;
    this.ctx = ctx;
    this.inputs = inputsOf(ctx.graph, node);
    const slots = slotsFor(node, this.inputs);
    if (!slots.includes(this.tab)) this.tab = slots[0];
    if (!same) {
      this.index = keepPlane(this.index, was?.shape, node.shape);
      if (!this.inputs.some((r) => r.input === this.sentInput)) this.sentInput = this.inputs[0]?.input ?? 0;
      this.sentIndex = null;
      this.replies = {};
    }
    const title = h("h3", "gg-insp-title", ctx.as ?? (node.label || node.op || node.kind));
    if (!ctx.as && node.grad_fn && node.grad_fn !== node.label) title.append(h("span", "gg-muted gg-insp-sub", ` ${node.grad_fn}`));
    this.body.replaceChildren(title, this.facts(node), this.figures, this.tabBar, this.panel, this.actions, this.details(node));
    this.renderActions();
    this.renderTabs(slots);
    this.renderFigures();
    this.renderPanel();
    for (const slot of this.figureSlots()) this.ask(slot);
    if (this.tab === "sent") this.ask("sent");
  }

  /** The stepper moved or a breakpoint changed: ask again for what may have changed (gradients). */
  refresh(ctx: Partial<Context>): void {
    if (!this.node) return;
    this.ctx = { ...this.ctx, ...ctx };
    this.renderActions();
    if (this.figureSlots().includes("grad")) this.ask("grad");
    if (this.tab === "sent") this.ask("sent");
  }

  tensor(t: TensorReply): void {
    if (!this.node || t.node !== this.node.id || this.latest[t.what] !== t.request) return;
    this.replies[t.what] = t;
    if (t.what === "sent") this.sentIndex = t.index;
    else if (t.index) this.index = t.index;
    this.renderFigures();
    if (t.what === this.tab) this.renderPanel();
  }

  // ---- pieces ------------------------------------------------------------------------------
  private ask(slot: Slot) {
    const node = this.node!;
    const index = slot === "sent" ? this.sentIndex : this.index;
    const r: InspectRequest = { node: node.id, what: slot };
    if (slot === "sent") r.input = this.sentInput;
    if (index) r.index = index;
    this.latest[slot] = this.request(r);
  }

  private figureSlots(): Slot[] { return slotsFor(this.node!, this.inputs).filter((s) => s !== "sent"); }

  private facts(n: GraphNode): HTMLElement {
    const type = this.ctx.graph?.modules.find((m) => m.path === n.module)?.type;
    const size = bytesOf(n.shape, n.dtype);
    const rows: [string, string | null, string?][] = [
      ["name", n.name],
      ["module", n.module ? `${n.module}${type ? ` · ${type}` : ""}` : null],
      ["shape", n.shape ? shapeText(n.shape) : null],
      ["dtype", n.dtype ? [n.dtype, n.device, size != null ? bytesText(size) : null].filter(Boolean).join(" · ") : null,
        "dtype · device · size in memory"],
    ];
    const table = h("table", "gg-props");
    for (const [k, val, tip] of rows) if (val) {
      const tr = h("tr", "", h("th", "", k), h("td", "", val));
      tr.dataset.prop = k;
      if (tip) tr.title = tip;
      table.append(tr);
    }
    const ran = sourceRow("ran at", "The innermost line that ran this op (inside a library model's forward too)", n.source, "source");
    if (ran) table.append(ran);
    const called = sourceRow("called from", "Your line that called it", n.caller ?? null, "caller");
    if (called) table.append(called);
    return table;
  }

  private details(n: GraphNode): HTMLElement {
    const rows: [string, string | null][] = [["kind", n.kind], ["phase", n.phase], ["id", String(n.id)],
      ["time", n.seconds != null ? `${(n.seconds * 1e6).toFixed(1)} µs` : null]];
    const attrs = Object.entries(n.attrs ?? {});
    if (attrs.length) rows.push(["attrs", attrs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")]);
    const table = h("table", "gg-more");
    for (const [k, v] of rows) if (v) table.append(h("tr", "", h("th", "", k), h("td", "", v)));
    return h("details", "gg-details", h("summary", "gg-muted gg-small", "more about this node"), table);
  }

  private renderActions() {
    const n = this.node!, { breakpoint, stepping } = this.ctx;
    this.actions.replaceChildren(
      button(breakpoint ? "● breakpoint" : "○ breakpoint", "Toggle a breakpoint on this node", () => this.onBreakpoint(n.id, !breakpoint)));
    if (stepping) this.actions.append(button("run to here", "Run backward until this node has run", () => this.onRunTo(n.id)));
  }

  private renderTabs(slots: Slot[]) {
    this.tabBar.setAttribute("role", "tablist");
    this.tabBar.replaceChildren(...slots.map((slot) => {
      const words = wordsFor(this.node!, slot, this.sentRef());
      const b = button(words.tab, words.title, () => {
        if (this.tab === slot) return;
        this.tab = slot;
        this.renderTabs(slots);
        this.renderFigures();
        this.renderPanel();
        if (!this.replies[slot]) this.ask(slot);
      }, "gg-tab");
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", String(slot === this.tab));
      b.dataset.tab = slot;
      return b;
    }));
  }

  private sentRef(): InputRef | undefined { return this.inputs.find((r) => r.input === this.sentInput); }

  /** Value beside gradient in, and beside them what was sent to the input picked while its tab is open. */
  private renderFigures() {
    const slots = [...this.figureSlots(), ...(this.tab === "sent" ? ["sent" as Slot] : [])];
    const columns = slots.map((slot) => {
      const t = this.replies[slot], words = wordsFor(this.node!, slot, this.sentRef());
      return { slot, head: words.head, title: words.title, stats: t?.available && t.stats ? t.stats : null, reason: t && !t.available ? t.reason : undefined };
    });
    this.figures.replaceChildren(figuresTable(columns));
  }

  private renderPanel() {
    const slot = this.tab, t = this.replies[slot], words = wordsFor(this.node!, slot, this.sentRef());
    const extra = slot === "sent" ? this.inputPicker() : null;
    if (!t) {
      const box = h("section", "gg-tensor gg-loading", h("div", "gg-tensor-title", words.title));
      box.dataset.what = slot;
      if (extra) box.append(extra);
      box.append(h("p", "gg-muted", "loading…"));
      this.panel.replaceChildren(box);
      return;
    }
    this.panel.replaceChildren(tensorPanel(t, {
      title: words.title, explain: words.explain, extra,
      weight: slot === "sent" ? this.sentRef()?.kind === "param" : this.node!.kind === "param",
      onPlane: (index) => {
        if (slot === "sent") { this.sentIndex = index; this.ask("sent"); return; }
        this.index = index;
        for (const s of this.figureSlots()) this.ask(s);
      },
    }));
  }

  private inputPicker(): HTMLElement | null {
    if (this.inputs.length < 2) return null;
    const select = h("select", "gg-input-pick") as HTMLSelectElement;
    select.setAttribute("aria-label", "which input's gradient");
    for (const r of this.inputs) {
      const o = h("option", "", `to input ${r.input}: ${r.label} ${shapeText(r.shape)}`) as HTMLOptionElement;
      o.value = String(r.input);
      o.selected = r.input === this.sentInput;
      select.append(o);
    }
    select.addEventListener("change", () => {
      this.sentInput = Number(select.value);
      this.sentIndex = null;
      delete this.replies.sent;
      this.renderFigures();
      this.renderPanel();
      this.ask("sent");
    });
    return select;
  }
}

function sourceRow(label: string, tip: string, at: SourceLine | null, prop: string): HTMLElement | null {
  if (!at) return null;
  const where = h("div", "gg-muted gg-small gg-where", `${shortPath(at.file)}:${at.line}`);
  where.title = `${at.file}:${at.line}`;
  const code = h("code", "gg-code", at.code ?? "");
  code.title = at.code ?? "";
  const tr = h("tr", "gg-source", h("th", "", label), h("td", "", where, code));
  tr.dataset.prop = prop;
  tr.title = tip;
  return tr;
}
