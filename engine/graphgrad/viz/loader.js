// The _esm every graphgrad widget carries (about 2 KB in a saved notebook's widget state,
// instead of the 1.7 MB front end): JupyterLab and Notebook 7 with graphgrad's extension already hold the
// front end (src/index.ts registers it), when it was built with this kernel's bundle; anywhere else
// (VS Code, Colab, an extension of another build) the bundle comes from the kernel once per page, over
// the widget's own comm (engine/graphgrad/viz/widget.py answers "graphgrad:bundle").
const STAMP = "__STAMP__";
const TIMEOUT_MS = 60000;

function fromKernel(model) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { model.off("msg:custom", onMessage); reject(new Error("the kernel did not send the widget's front end")); }, TIMEOUT_MS);
    function onMessage(msg, buffers) {
      if (!msg || msg.type !== "graphgrad:bundle") return;
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      if (msg.stamp !== STAMP || !buffers || !buffers.length) return reject(new Error(msg.error || "the kernel sent no front end"));
      const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
      import(/* webpackIgnore: true */ url).then((m) => resolve(m.default), reject).finally(() => URL.revokeObjectURL(url));
    }
    model.on("msg:custom", onMessage);
    model.send({ type: "graphgrad:bundle", stamp: STAMP });
  });
}

function frontEnd(model) {
  const ext = globalThis.graphgradFrontEnd;
  if (ext && ext.stamp === STAMP) return Promise.resolve(ext);
  const cache = (globalThis.graphgradBundles ??= {});
  cache[STAMP] ??= fromKernel(model).catch((e) => { delete cache[STAMP]; throw e; });
  return cache[STAMP];
}

export default {
  async render({ model, el }) {
    el.textContent = "loading graphgrad…";
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
