// Builds the JupyterLab extension into engine/graphgrad/labextension (shipped in the wheel under
// share/jupyter/labextensions/graphgrad): esbuild bundles src/ with the widget's front end (js/, one code
// base) into src/lib as ES modules, leaving @jupyterlab/* and @lumino/* to JupyterLab; then
// JupyterLab's extension builder (`jupyter labextension build`, i.e. jupyter-builder with @jupyter/builder)
// makes the federated extension. Run after js/build.mjs
// (`npm run build:labextension`; pip install runs both). Skips itself when the output is newer than every
// input; --force builds anyway, --dev builds unminified with source maps.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { elkWorker } from "../js/build.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const at = (p) => join(root, p);
const output = at("engine/graphgrad/labextension/package.json");
const bundle = at("engine/graphgrad/viz/static/widget.js");
const dev = process.argv.includes("--dev");

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).filter((n) => n !== "node_modules" && n !== "lib").map((n) => newest(join(path, n))));
}

function run(cmd, args, cwd = root, env = process.env) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd, env, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.error?.message ?? "exit " + r.status})`);
}

const inputs = ["src", "js", "examples/widget_tour.ipynb", "engine/graphgrad/viz/static/widget.js"].map(at);
if (!process.argv.includes("--force") && existsSync(output) && Math.max(...inputs.map(newest)) < statSync(output).mtimeMs) {
  console.log("graphgrad labextension is up to date");
  process.exit(0);
}
if (!existsSync(bundle)) throw new Error("build the widget first (npm run build): the extension records its bundle's stamp");

// the extension's own packages (JupyterLab's, and its builder) live in src/node_modules
const installed = at("src/node_modules/.package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(at("src/package-lock.json")).mtimeMs)
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], at("src"));

// the same stamp engine/graphgrad/viz/widget.py computes: the loader uses this front end only when it
// was built with the bundle the kernel would serve
const stamp = createHash("sha256").update(readFileSync(bundle)).digest("hex").slice(0, 16);
await build({
  entryPoints: [{ in: at("src/index.ts"), out: "index" }, { in: at("src/mime.ts"), out: "mime" }, { in: at("src/style.css"), out: "style" }],
  outdir: at("src/lib"), bundle: true, splitting: true, format: "esm", target: "es2020", minify: !dev, sourcemap: dev,
  external: ["@jupyterlab/*", "@lumino/*"], loader: { ".ipynb": "json" }, define: { BUNDLE_STAMP: JSON.stringify(stamp) },
  plugins: [elkWorker], logLevel: "info",
});
// jupyter-builder (what `jupyter labextension build` runs): with the Python the build hook runs in
// (scripts/hatch_build.py sets GRAPHGRAD_PYTHON), else from PATH, else from this checkout's .venv
const args = ["build", ...(dev ? ["--development", "True"] : []), at("src")];
const venvBin = at(".venv/bin");
if (process.env.GRAPHGRAD_PYTHON) run(process.env.GRAPHGRAD_PYTHON, ["-m", "jupyter_builder.main", ...args]);
else if (!spawnSync("jupyter-builder", ["--version"]).error || !existsSync(venvBin)) run("jupyter-builder", args);
else run("jupyter-builder", args, root, { ...process.env, PATH: `${venvBin}:${process.env.PATH}` });
