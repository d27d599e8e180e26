import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const quickstart = /<!-- quickstart:start -->\s*```ts\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(
  readme,
)?.[1];
// Inside test/ so that `broadcastkit/*` resolves as it does for every test.
const dir = mkdtempSync(join(root, "test", "docs", ".quickstart-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README quickstart", () => {
  it("is at most 20 lines", () => {
    expect(quickstart).toBeDefined();
    expect(quickstart?.trimEnd().split("\n").length).toBeLessThanOrEqual(20);
  });

  it("runs as written and ends with everyone delivered", async () => {
    const file = join(dir, "quickstart.ts");
    writeFileSync(file, quickstart ?? "");
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await import(file);
      expect(log).toHaveBeenCalledWith(
        expect.objectContaining({ status: "sent", totalRecipients: 2, sentCount: 2, progressPct: 100 }),
      );
    } finally {
      log.mockRestore();
    }
  });
});
