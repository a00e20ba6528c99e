import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "elk-worker-source": new URL("./js/test/elk-worker-stub.ts", import.meta.url).pathname } },
  test: { include: ["js/**/*.test.ts", "src/test/**/*.test.ts"], environment: "node" },
});
