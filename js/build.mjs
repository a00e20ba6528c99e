// Bundles js/ into one ES module (and one stylesheet) for the Python package: engine/graphgrad/viz/static.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
export const elkWorker = {   // the ELK worker script (src/build.mjs uses it too), embedded as a string: the widget starts it from a Blob URL
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
// run as a script (npm run build), not when src/build.mjs imports the plugin
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await build(options);
