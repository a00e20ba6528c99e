// The _esm every graphgrad widget carries (about 2 KB in a saved notebook's widget state, instead of
// the 1.7 MB front end). JupyterLab and Notebook 7 with graphgrad's extension hold the front end already
// (src/index.ts registers it) and it is used when built with this kernel's bundle. Anywhere else (VS Code,
// Colab, an extension of another build) the bundle comes from the kernel over the widget's own comm
// (engine/graphgrad/viz/widget.py): asked for when a view renders, and pushed unasked while a cell is
// still running (the kernel answers nothing then), which initialize() listens for from the start.
const STAMP = "__STAMP__";
const MESSAGE = "graphgrad:bundle";
const arrived = new WeakMap();   // model -> promise of the front end it was sent

function extension() {
  const ext = globalThis.graphgradFrontEnd;
  return ext && ext.stamp === STAMP ? ext : null;
}

function listen(model) {
  if (!arrived.has(model)) {
    arrived.set(model, new Promise((resolve, reject) => {
      function onMessage(msg, buffers) {
        if (!msg || msg.type !== MESSAGE) return;
        model.off("msg:custom", onMessage);
        if (msg.stamp !== STAMP || !buffers || !buffers.length) return reject(new Error(msg.error || "the kernel sent no front end"));
        const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
        import(/* webpackIgnore: true */ url).then((m) => resolve(m.default), reject).finally(() => URL.revokeObjectURL(url));
      }
      model.on("msg:custom", onMessage);
    }));
  }
  return arrived.get(model);
}

function frontEnd(model) {
  const ext = extension();
  if (ext) return Promise.resolve(ext);
  const loaded = (globalThis.graphgradBundles ??= {});   // one per page and bundle, whichever widget got it
  if (loaded[STAMP]) return loaded[STAMP];
  const got = listen(model);
  model.send({ type: MESSAGE, stamp: STAMP });
  return got.then((ui) => (loaded[STAMP] = Promise.resolve(ui)));
}

export default {
  initialize({ model }) {
    if (!extension()) listen(model);
  },
  async render({ model, el }) {
    el.textContent = "loading graphgrad… (from the kernel, once it is idle)";
    let ui;
    try {
      ui = await frontEnd(model);
    } catch (e) {
      el.textContent = `graphgrad: cannot load the widget's front end (${e.message}); run the cell again`;
      return;
    }
    el.textContent = "";
    return ui.render({ model, el });
  },
};
