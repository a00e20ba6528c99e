// The ELK worker's source, embedded as text by js/build.mjs (and by vitest's alias): a Blob URL starts it.
declare module "elk-worker-source" {
  const source: string;
  export default source;
}
