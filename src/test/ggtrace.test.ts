// Reading .ggtrace files in the browser: the file Python writes (tests/fixtures/small.ggtrace, checked
// current by tests/test_document.py), and files that are not traces.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromBase64, readTrace, zipEntries } from "../ggtrace";

const fixture = new Uint8Array(readFileSync(new URL("../../tests/fixtures/small.ggtrace", import.meta.url)));

describe("readTrace", () => {
  it("reads the graph, statistics and curves Python wrote", async () => {
    const view = await readTrace(fixture);
    expect(view.title).toBe("small");
    expect(view.graph!.schema).toBe(1);
    expect(view.graph!.nodes.length).toBeGreaterThan(2);
    expect(view.tensors.length).toBeGreaterThan(0);
    const t = view.tensors[0];
    expect(t.stats.length).toBe(9);
    expect(t.hist.length).toBe(32);
    expect(view.curves[0].chart).toBe("loss");
    expect(Array.from(view.curves[0].y).slice(0, 2)).toEqual([3, 2]);
  });

  it("round-trips through base64, as JupyterLab hands a binary file over", async () => {
    const text = Buffer.from(fixture).toString("base64");
    expect((await readTrace(fromBase64(text))).title).toBe("small");
  });

  it("says what is wrong with a file that is not a trace", async () => {
    await expect(readTrace(new TextEncoder().encode("hello, not a zip"))).rejects.toThrow(/not a zip archive/);
    await expect(readTrace(fixture.slice(0, fixture.length - 30))).rejects.toThrow(/truncated|corrupted/);
    const damaged = fixture.slice();
    const manifest = zipEntries(damaged).get("graphgrad/trace.json")!;
    damaged[manifest.offset] = "#".charCodeAt(0);
    await expect(readTrace(damaged)).rejects.toThrow(/not valid JSON/);
  });
});
