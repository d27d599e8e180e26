import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
let demo: ChildProcess | undefined;

// The demo runs in a process group of its own: a test that fails or times out ends it and every
// process it started.
afterEach(() => {
  if (demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null) {
    process.kill(-demo.pid, "SIGKILL");
  }
});

describe("npm run demo:cluster", () => {
  it("sends a broadcast with an admin process and two workers on PostgreSQL + BullMQ, one worker SIGKILLed midway, and nothing is lost", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/cluster/run.ts"], {
      cwd: root,
      detached: true,
      env: {
        ...process.env,
        CLUSTER_RUN_ID: `cluster_test_${randomBytes(4).toString("hex")}`,
        CLUSTER_RECIPIENTS: "2000",
        CLUSTER_WORKERS: "2",
        CLUSTER_LEASE_MS: "5000",
        CLUSTER_POLL_MS: "200",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    demo = child;
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      output += String(chunk);
    });
    const [code] = await once(child, "exit");

    const line = /^tally (\{.*\})$/m.exec(output)?.[1];
    expect(line, output).toBeDefined();
    const tally = JSON.parse(line ?? "{}");
    expect(tally, output).toMatchObject({
      status: "completed",
      total: 2000,
      sent: 1960,
      failed: 40,
      pending: 0,
      lost: 0,
      countsMatch: true,
      killedWorker: true,
      stoppedCleanly: true,
    });
    expect(output).toMatch(/SIGKILL worker-1/);
    expect(code).toBe(0);
  }, 90_000);
});
