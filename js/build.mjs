// Bundles js/ into one ES module (and one stylesheet) for the Python package: engine/graphgrad/viz/static.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const elkWorker = {   // the ELK worker script, embedded as a string: the widget starts it from a Blob URL
  name: "elk-worker-source",
  setup(b) {
    b.onResolve({ filter: /^elk-worker-source$/ }, () => ({ path: "elk-worker-source", namespace: "elk" }));
    b.onLoad({ filter: /.*/, namespace: "elk" }, () => ({
      contents: readFileSync(require.resolve("elkjs/lib/elk-worker.min.js"), "utf8"), loader: "text" }));
  },
};
const options = {
  entryPoints: [{ in: "js/widget.ts", out: "widget" }, { in: "js/styles.css", out: "widget" }],
  outdir: "engine/graphgrad/viz/static",
  bundle: true, format: "esm", target: "es2020", minify: true, sourcemap: false,
  plugins: [elkWorker], logLevel: "info",
};
await build(options);
