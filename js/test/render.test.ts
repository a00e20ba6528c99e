import { describe, expect, it } from "vitest";
import { titlesShown } from "../render";

describe("module titles far out", () => {
  it("keeps a title where its box holds it or is tall, drops one that would sit on another", () => {
    const outer = { x: 0, y: 0, width: 200, height: 2000 };
    const firstChild = { x: 8, y: 26, width: 120, height: 900 };     // just below its parent's title row
    const second = { x: 8, y: 1000, width: 120, height: 900 };
    const tiny = { x: 300, y: 0, width: 40, height: 40 };
    expect(titlesShown([[outer, 24], [firstChild, 18], [second, 18], [tiny, 18]], 0.1)).toEqual([true, false, true, false]);
    // close up, every title has room
    expect(titlesShown([[outer, 24], [firstChild, 18], [second, 18]], 1)).toEqual([true, true, true]);
  });
});
