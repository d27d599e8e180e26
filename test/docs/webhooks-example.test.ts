import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

describe("examples/webhooks.ts", () => {
  it("runs: its receiver verifies every webhook, sees the refused one retried, and the log says so", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/webhooks.ts"], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout).toContain("receiver: verified broadcast.started for broadcast 1");
    expect(stdout).toContain("receiver: broadcast.completed (evt_2) refused once with 503");
    expect(stdout).toContain("the host learnt: broadcast 1 is completed");
    expect(stdout).toContain("log: broadcast.completed -> ops: delivered after 2 attempt(s)");
    expect(stdout).toContain("log: broadcast.started -> ops: delivered after 1 attempt(s)");
  }, 60_000);
});
