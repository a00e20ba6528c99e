// Build-time constants and imports (src/build.mjs).
declare const BUNDLE_STAMP: string;   // the stamp of the widget bundle built with this extension (viz/widget.py)
declare module "*.ipynb" {
  const notebook: Record<string, unknown>;
  export default notebook;
}
