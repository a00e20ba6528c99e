// Reading a .ggtrace file in the browser (written by graphgrad.viz.save / Trace.save; Python half:
// engine/graphgrad/viz/document.py): a zip of graphgrad/trace.json and raw little-endian arrays, turned
// into the SavedView the viewer draws. Every failure is an Error whose message says what is wrong with
// the file, for the viewer to show.
import { checkView, type SavedView } from "./saved";

export const TRACE_FORMAT = "graphgrad.trace";
export const TRACE_VERSION = 1;
export const MANIFEST = "graphgrad/trace.json";

export class TraceFileError extends Error {}

interface Entry { method: number; compressed: number; size: number; offset: number }

/** The entries of a zip archive (stored or deflated; no zip64, which graphgrad never needs for a trace's
 * manifest and previews), by name. */
export function zipEntries(bytes: Uint8Array): Map<string, Entry> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--)
    if (dv.getUint32(i, true) === 0x06054b50) { end = i; break; }
  if (end < 0) throw new TraceFileError("not a zip archive (no end of central directory): the file is truncated or not a .ggtrace");
  const count = dv.getUint16(end + 10, true);
  let p = dv.getUint32(end + 16, true);
  const entries = new Map<string, Entry>();
  const text = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50)
      throw new TraceFileError("the zip's central directory is damaged: the file is corrupted");
    const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true), commentLen = dv.getUint16(p + 32, true);
    const name = text.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    const local = dv.getUint32(p + 42, true);
    if (local + 30 > bytes.length || dv.getUint32(local, true) !== 0x04034b50)
      throw new TraceFileError(`the zip entry ${name} points outside the file: the file is truncated or corrupted`);
    const offset = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    const entry = { method: dv.getUint16(p + 10, true), compressed: dv.getUint32(p + 20, true), size: dv.getUint32(p + 24, true), offset };
    if (offset + entry.compressed > bytes.length)
      throw new TraceFileError(`the zip entry ${name} ends past the end of the file: the file is truncated`);
    entries.set(name, entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function read(bytes: Uint8Array, entries: Map<string, Entry>, name: string): Promise<Uint8Array> {
  const e = entries.get(name);
  if (!e) throw new TraceFileError(`the archive has no ${name}: the file is incomplete`);
  const raw = bytes.subarray(e.offset, e.offset + e.compressed);
  if (e.method === 0) return raw;
  if (e.method === 8) return inflate(raw);
  throw new TraceFileError(`${name} is compressed with zip method ${e.method}, which the viewer does not read`);
}

interface ArrayEntry { file: string; dtype: string; shape: number[] }
const KINDS: Record<string, { new(b: ArrayBuffer): Float32Array | Float64Array; BYTES_PER_ELEMENT: number }> = {
  float64: Float64Array, float32: Float32Array,
};

/** A .ggtrace file's bytes as the view the viewer draws. */
export async function readTrace(bytes: Uint8Array): Promise<SavedView> {
  const entries = zipEntries(bytes);
  if (!entries.has(MANIFEST))
    throw new TraceFileError(`the archive has no ${MANIFEST}: it was not written by graphgrad.viz.save`);
  let manifest: any;
  try {
    manifest = JSON.parse(new TextDecoder().decode(await read(bytes, entries, MANIFEST)));
  } catch (e) {
    throw e instanceof TraceFileError ? e : new TraceFileError(`its ${MANIFEST} is not valid JSON (${(e as Error).message}): the file is corrupted`);
  }
  if (manifest?.format !== TRACE_FORMAT) throw new TraceFileError(`its manifest is not a graphgrad trace (format ${JSON.stringify(manifest?.format)})`);
  if (typeof manifest.version !== "number" || manifest.version > TRACE_VERSION)
    throw new TraceFileError(`it was written in trace format version ${manifest.version}; this viewer reads up to ${TRACE_VERSION}: update graphgrad`);
  const arrays: ArrayEntry[] = Array.isArray(manifest.arrays) ? manifest.arrays : [];
  const array = async (ref: unknown) => {
    const entry = typeof ref === "number" ? arrays[ref] : undefined;
    if (!entry) throw new TraceFileError(`the manifest refers to array ${JSON.stringify(ref)}, which it does not list`);
    const Kind = KINDS[entry.dtype];
    if (!Kind) throw new TraceFileError(`array ${ref} has dtype ${entry.dtype}; the viewer reads float32 and float64`);
    const data = await read(bytes, entries, entry.file);
    const n = entry.shape.reduce((a, b) => a * b, 1);
    if (data.byteLength !== n * Kind.BYTES_PER_ELEMENT)
      throw new TraceFileError(`array ${ref} (${entry.dtype} of shape [${entry.shape}]) should have ${n * Kind.BYTES_PER_ELEMENT} bytes but has ${data.byteLength}: the file is truncated or corrupted`);
    return new Kind(data.slice().buffer as ArrayBuffer);   // copied: aligned for the typed array
  };
  const curves = await Promise.all((manifest.curves ?? []).map(async (c: any) => ({ name: String(c.name), chart: String(c.chart), x: await array(c.x), y: await array(c.y) })));
  const tensors = await Promise.all((manifest.tensors ?? []).map(async (t: any) => ({
    ...t, stats: await array(t.stats), hist: await array(t.hist), preview: await array(t.preview) })));
  return checkView({ version: 1, graphgrad: manifest.graphgrad, title: manifest.title, height: manifest.height, fold_depth: manifest.fold_depth, panels: ["graph", "inspector"],
    graph: manifest.graph, curves, tensors, notes: manifest.notes });
}

/** A base64 string (how JupyterLab hands over a binary file's contents) as bytes. */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
