// graphgrad's JupyterLab (and Notebook 7) extension, the plugin half (the mime half is mime.ts):
// - serves the widget's front end to graphgrad's small anywidget loader (engine/graphgrad/viz/loader.js),
//   so a saved notebook does not carry the 1.7 MB bundle in every widget's state;
// - a live widget whose model is gone (the notebook reopened without its kernel) shows the view saved in
//   its output instead of "Error displaying widget: model not found";
// - commands: open a trace in the viewer (palette), a launcher item that opens the widget tour.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette, InputDialog } from "@jupyterlab/apputils";
import { ILauncher } from "@jupyterlab/launcher";
import { IRenderMimeRegistry } from "@jupyterlab/rendermime";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { notebookIcon } from "@jupyterlab/ui-components";
import type { Widget } from "@lumino/widgets";
import tour from "../examples/widget_tour.ipynb";
import widget from "../js/widget";
import { VIEWER } from "./mime";
import { checkView, GRAPH_MIME } from "./saved";
import { mountSaved, OUTPUT_NOTE, showError } from "./view";

const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";
// what @jupyter-widgets/jupyterlab-manager's renderer writes while it waits and when the model is gone
const MISSING = "Error displaying widget: model not found";
const LOADING = "Loading widget...";
const LOADING_GRACE_MS = 2000;   // a live model usually arrives well within this

const COMMANDS = { open: "graphgrad:open-trace", tour: "graphgrad:new-notebook" };
const TOUR_NAME = "graphgrad_tour";

/** Shows the saved view inside a widget renderer whose model is missing, and steps aside when the live
 * widget appears (a kernel restored it). Watches the renderer's node: ipywidgets offers no hook for this. */
class SavedFallback {
  private host: HTMLElement | null = null;
  private app: { dispose(): void } | null = null;
  private timer = 0;
  private observer = new MutationObserver(() => this.check());

  constructor(private node: HTMLElement, public saved: unknown, public modelId: unknown) {
    this.observer.observe(node, { childList: true });
  }

  /** Whether the renderer shows the live widget. */
  live(): boolean {
    return Array.from(this.node.children).some((c) => c !== this.host);
  }

  check() {
    if (this.host && this.node.contains(this.host)) return;   // showing the saved view
    if (this.live()) return this.hide();
    const text = this.node.textContent?.trim();
    // the widget manager tries again (a kernel came, restored its widgets, not this one): keep the
    // saved view as it is (panned, unfolded, inspected) rather than flash "Loading widget..."
    if (this.host && (text === LOADING || text === MISSING)) this.node.replaceChildren(this.host);
    else if (text === MISSING) this.show();
    else if (text === LOADING && !this.timer)
      this.timer = window.setTimeout(() => { this.timer = 0; if (this.node.textContent?.trim() === LOADING) this.show(); }, LOADING_GRACE_MS);
  }

  private show() {
    this.host = document.createElement("div");
    this.host.className = "gg-saved";
    this.node.replaceChildren(this.host);
    try {
      this.app = mountSaved(this.host, checkView(this.saved), OUTPUT_NOTE);
    } catch (e) {
      showError(this.host, "this saved output", e);
    }
  }

  private hide() {
    this.app?.dispose();
    this.app = null;
    this.host = null;
  }

  dispose() {
    this.observer.disconnect();
    clearTimeout(this.timer);
    this.hide();
  }
}

const fallbacks = new WeakMap<Widget, SavedFallback>();
const PATCHED = Symbol.for("graphgrad.savedFallback");

/** Wrap the widget renderer's renderModel (its class, so every notebook's factory and those made later
 * get it) to attach a SavedFallback to outputs that carry a graphgrad view. */
function patchWidgetRenderer(rendermime: IRenderMimeRegistry): boolean {
  const factory = rendermime.getFactory(WIDGET_MIME);
  if (!factory) return false;
  const probe = factory.createRenderer({ mimeType: WIDGET_MIME, sanitizer: rendermime.sanitizer, resolver: null,
    linkHandler: null, latexTypesetter: null } as unknown as IRenderMime.IRendererOptions);
  const proto = Object.getPrototypeOf(probe);
  probe.dispose();
  if (proto[PATCHED]) return true;
  const original = proto.renderModel;
  proto.renderModel = function (this: Widget & IRenderMime.IRenderer, model: IRenderMime.IMimeModel) {
    const saved = model.data[GRAPH_MIME];
    const modelId = (model.data[WIDGET_MIME] as { model_id?: string } | undefined)?.model_id;
    let fallback = fallbacks.get(this);
    if (saved && fallback && fallback.modelId === modelId && fallback.live()) {
      // only the saved view changed (a monitor's output brought up to date after its cell): keep the
      // live widget as it is rather than make the widget manager draw it again
      fallback.saved = saved;
      return Promise.resolve();
    }
    if (saved && !fallback) {
      fallback = new SavedFallback(this.node, saved, modelId);
      fallbacks.set(this, fallback);
      this.disposed.connect(() => fallback!.dispose());
    } else if (fallback && saved) Object.assign(fallback, { saved, modelId });
    const done = original.call(this, model);
    fallback?.check();
    return done;
  };
  proto[PATCHED] = true;
  return true;
}

async function freeName(app: JupyterFrontEnd, dir: string): Promise<string> {
  const join = (name: string) => (dir ? `${dir}/${name}` : name);
  for (let k = 0; ; k++) {
    const path = join(`${TOUR_NAME}${k ? "-" + k : ""}.ipynb`);
    try {
      await app.serviceManager.contents.get(path, { content: false });
    } catch {
      return path;
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: "graphgrad:plugin",
  description: "graphgrad: the widget's front end for saved notebooks, the trace viewer's commands, the tour",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ICommandPalette, ILauncher],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, palette: ICommandPalette | null, launcher: ILauncher | null) => {
    // the loader in a widget's _esm uses this front end when it is the one built with the kernel's bundle
    (globalThis as any).graphgradFrontEnd = { stamp: BUNDLE_STAMP, render: widget.render };
    if (!patchWidgetRenderer(rendermime)) void app.started.then(() => patchWidgetRenderer(rendermime));

    app.commands.addCommand(COMMANDS.open, {
      label: "Open a graphgrad trace…",
      caption: "Open a .ggtrace file (graphgrad.viz.save, Trace.save) in the graphgrad viewer",
      execute: async (args) => {
        let path = args.path as string | undefined;
        if (!path) {
          const answer = await InputDialog.getText({ title: "Open a graphgrad trace", placeholder: "run.ggtrace", okLabel: "Open" });
          path = answer.button.accept ? answer.value ?? "" : "";
        }
        if (path) return app.commands.execute("docmanager:open", { path, factory: VIEWER });
      },
    });
    app.commands.addCommand(COMMANDS.tour, {
      label: "New graphgrad notebook",
      icon: notebookIcon,
      caption: "A new notebook with graphgrad's widget tour: the autograd graph, a traced model, training curves",
      execute: async (args) => {
        const path = await freeName(app, String(args.cwd ?? ""));
        await app.serviceManager.contents.save(path, { type: "notebook", format: "json", content: tour });
        return app.commands.execute("docmanager:open", { path });
      },
    });
    palette?.addItem({ command: COMMANDS.open, category: "graphgrad" });
    palette?.addItem({ command: COMMANDS.tour, category: "graphgrad" });
    launcher?.add({ command: COMMANDS.tour, category: "Notebook", rank: 50 });
  },
};

export default plugin;
