// The renderer of saved views: a notebook output's graphgrad mime bundle (the widget's model is gone:
// the notebook was reopened without its kernel, or is untrusted) and a .ggtrace document. Both draw with
// the widget's App over a StaticModel; a view that cannot be read says why, never a blank panel.
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
import { h } from "../js/dom";
import { App } from "../js/widget";
import { fromBase64, readTrace } from "./ggtrace";
import { checkView, GRAPH_MIME, StaticModel, type SavedView } from "./saved";

export const TRACE_MIME = "application/vnd.graphgrad.trace";
export const OUTPUT_NOTE = "saved output: pan, zoom, fold, search and inspect the saved statistics; run the cell for the live widget and stepping";

/** Draw a saved view into host (a caption, then the App); the App, to dispose. */
export function mountSaved(host: HTMLElement, view: SavedView, caption: string): App {
  host.append(h("div", "gg-saved-note gg-muted gg-small", [caption, ...view.notes].join(" · ")));
  return new App(new StaticModel(view), host);
}

export function showError(host: HTMLElement, what: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  host.replaceChildren(h("div", "gg-error", h("strong", "", `graphgrad cannot show ${what}`), h("div", "", message)));
}

export class SavedRenderer extends Widget implements IRenderMime.IRenderer {
  private app: App | null = null;
  private readonly document: boolean;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.document = options.mimeType === TRACE_MIME;
    this.addClass("gg-saved");
    if (this.document) this.addClass("gg-document");
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.app?.dispose();
    this.app = null;
    this.node.replaceChildren();
    try {
      if (this.document) {
        const view = await readTrace(fromBase64(String(model.data[TRACE_MIME] ?? "")));
        this.app = mountSaved(this.node, view, `graphgrad trace${view.title ? ": " + view.title : ""}`);
        this.fitHeight();
      } else {
        this.app = mountSaved(this.node, checkView(model.data[GRAPH_MIME]), OUTPUT_NOTE);
      }
    } catch (e) {
      showError(this.node, this.document ? "this trace file" : "this saved output", e);
    }
  }

  protected onResize(): void { this.fitHeight(); }

  /** A document fills its panel: the graph area takes what the caption, toolbars and footer leave. */
  private fitHeight() {
    if (!this.document || !this.app || !this.node.clientHeight) return;
    const main = this.app.root.querySelector(".gg-main") as HTMLElement | null;
    if (!main) return;
    const around = this.node.scrollHeight - main.offsetHeight;   // everything but the graph area
    this.app.root.style.setProperty("--gg-height", `${Math.max(320, this.node.clientHeight - around - 4)}px`);
  }

  dispose(): void {
    this.app?.dispose();
    this.app = null;
    super.dispose();
  }
}
