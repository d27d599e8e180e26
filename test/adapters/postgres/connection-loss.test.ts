import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DATABASE_URL, dropSchema, testPool, uniqueSchema } from "../../support/postgres.js";

interface Report {
  readonly tally: Record<string, { calls: number; resolved: number; rejected: number }>;
  readonly afterwards: Record<string, string>;
  readonly mainId: number;
  readonly final: { total: number; sent: number; failed: number; errorCountsSum: number } | null;
}

const script = fileURLToPath(new URL("./fixtures/store-under-termination.ts", import.meta.url));
const TERMINATING_FOR_MS = 7_000;
const EVERY_MS = 250;

const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

describe("the PostgreSQL store when its connections are terminated mid-call", () => {
  it("rejects the calls that lose their connection, never crashes the process, and recovers", async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const applicationName = `bk_terminated_${randomBytes(4).toString("hex")}`;
    const child = fork(script, [DATABASE_URL, applicationName, schema], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exit = exited(child);
    const messages: unknown[] = [];
    child.on("message", (message) => messages.push(message));
    const ready = new Promise<void>((resolve, reject) => {
      child.on("message", (message) => message === "ready" && resolve());
      void exit.then(() => reject(new Error(`the child exited before it was ready:\n${stderr}`)));
    });
    await ready;

    let terminated = 0;
    const until = Date.now() + TERMINATING_FOR_MS;
    while (Date.now() < until && child.exitCode === null) {
      const killed = await testPool().query(
        "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1",
        [applicationName],
      );
      terminated += killed.rows.filter((row) => row.done === true).length;
      await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
    }
    if (child.connected) child.send("stop");
    const { code, signal } = await exit;

    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: "" });
    expect(terminated).toBeGreaterThan(20);
    const report = messages.find((m): m is Report => typeof m === "object" && m !== null && "tally" in m);
    expect(report).toBeDefined();
    if (report === undefined) return;

    // Every call settled, one way or the other, and terminations did reach calls.
    let rejected = 0;
    for (const [method, counts] of Object.entries(report.tally)) {
      expect({ method, settled: counts.resolved + counts.rejected }).toEqual({
        method,
        settled: counts.calls,
      });
      rejected += counts.rejected;
    }
    expect(rejected).toBeGreaterThan(0);
    // Afterwards every method works again on the same pool.
    expect(Object.values(report.afterwards).every((outcome) => outcome === "ok")).toBe(true);
    expect(Object.keys(report.afterwards)).toHaveLength(9);

    // The counters add up, by the store's own row and by counting the rows themselves.
    const final = report.final;
    expect(final).not.toBeNull();
    if (final === null) return;
    expect(final.errorCountsSum).toBe(final.failed);
    const rows = await testPool().query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM "${schema}".broadcast_recipients WHERE broadcast_id = $1 GROUP BY state`,
      [report.mainId],
    );
    const byState = Object.fromEntries(rows.rows.map((row) => [row.state, row.n]));
    const pending = byState.pending ?? 0;
    expect(final.sent).toBe(byState.sent ?? 0);
    expect(final.failed).toBe(byState.failed ?? 0);
    expect(final.sent + final.failed + pending).toBe(final.total);
    expect(final.total).toBe(rows.rows.reduce((sum, row) => sum + row.n, 0));
  }, 30_000);
});
