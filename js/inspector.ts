// The inspector: what a node is (op, grad_fn, module, source line, shape...), then its value and
// its gradient, fetched from Python on demand when the node is selected or the stepper moves.
import { button, h } from "./dom";
import type { GraphNode, TensorReply } from "./protocol";
import { shapeText, type VisibleNode } from "./model";
import { tensorPanel } from "./tensorview";

export class Inspector {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private panels: Record<"value" | "grad", HTMLElement>;
  onBreakpoint: (node: number, on: boolean) => void = () => {};
  onRunTo: (node: number) => void = () => {};

  constructor() {
    this.body = h("div", "gg-inspector-body");
    this.panels = { value: h("div", "gg-slot"), grad: h("div", "gg-slot") };
    this.el = h("aside", "gg-inspector", this.body);
    this.clear();
  }

  clear(): void {
    this.body.replaceChildren(h("p", "gg-muted", "click a node to inspect it"));
  }

  show(v: VisibleNode, breakpoint: boolean, stepping: boolean): void {
    if (!v.node) {
      this.body.replaceChildren(h("h3", "gg-insp-title", v.label),
        h("p", "gg-muted", `module ${v.module}: ${v.sub.replace(" ▸", "")} folded; click it in the graph to unfold`));
      return;
    }
    const n = v.node;
    const rows: [string, string | null][] = [
      ["op", n.op], ["grad_fn", n.grad_fn], ["kind", n.kind], ["name", n.name], ["module", n.module || null],
      ["shape", n.shape ? shapeText(n.shape) : null], ["dtype", n.dtype], ["device", n.device],
      ["phase", n.phase], ["time", n.seconds != null ? `${(n.seconds * 1e6).toFixed(1)} µs` : null],
    ];
    const attrs = Object.entries(n.attrs ?? {});
    if (attrs.length) rows.push(["attrs", attrs.map(([k, val]) => `${k}=${JSON.stringify(val)}`).join(", ")]);
    if (n.flags?.nan || n.flags?.inf) rows.push(["flags", [n.flags.nan && "NaN", n.flags.inf && "Inf"].filter(Boolean).join(" ")]);
    const table = h("table", "gg-props");
    for (const [k, val] of rows) if (val != null && val !== "") {
      const tr = h("tr", "", h("th", "", k), h("td", "", val));
      tr.dataset.prop = k;
      table.append(tr);
    }
    const actions = h("div", "gg-actions",
      button(breakpoint ? "● breakpoint" : "○ breakpoint", "Toggle a breakpoint on this node", () => this.onBreakpoint(n.id, !breakpoint)));
    if (stepping) actions.append(button("run to here", "Run backward until this node has run", () => this.onRunTo(n.id)));
    this.body.replaceChildren(...[h("h3", "gg-insp-title", n.label || n.op || n.kind), table, source(n), actions, this.panels.value, this.panels.grad].filter((e): e is HTMLElement => e !== null));
    this.panels.value.replaceChildren(h("p", "gg-muted", "loading value…"));
    this.panels.grad.replaceChildren(h("p", "gg-muted", "loading gradient…"));
  }

  tensor(t: TensorReply): void {
    this.panels[t.what].replaceChildren(tensorPanel(t.what === "value" ? "Value" : "Gradient", t));
  }
}

function source(n: GraphNode): HTMLElement | null {
  if (!n.source) return null;
  return h("div", "gg-source", h("div", "gg-muted", `${n.source.file}:${n.source.line}`), h("code", "", n.source.code ?? ""));
}
