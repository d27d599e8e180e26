import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Recipient } from "broadcastkit";
import { createSqliteStore, type SqliteStore } from "broadcastkit/sqlite";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Real processes and real signals: a host (test/service/fixtures/kit-process.ts, set up as the
 * README says) sends a broadcast on a SQLite file and is killed midway; a fresh process started
 * the same way must finish it without a human, losing nobody.
 */

const HOST = fileURLToPath(new URL("./fixtures/kit-process.ts", import.meta.url));
const RECIPIENTS = 400;
/** The host's worker settings: the duplicate bound after a crash is in flight + twice a batch. */
const CONCURRENCY = 4;
const BATCH_SIZE = 20;

interface Host {
  readonly child: ChildProcess;
  /** The id of the broadcast it created (0 when it created none), once it runs. */
  readonly ready: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startHost(database: string, attempts: string, ...args: string[]): Host {
  const child = spawn(process.execPath, ["--import", "tsx", HOST, database, attempts, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`host exited (${code}) before it was ready`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, ready, exited };
}

const attemptsIn = (file: string): string[][] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => line.split(" "));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function allRecipients(store: SqliteStore, id: number): Promise<Recipient[]> {
  const page = await store.listRecipients(id, { limit: RECIPIENTS + 1 });
  return [...(page?.items ?? [])];
}

describe("a host process that dies mid-broadcast (SQLite, real processes)", () => {
  let directory = "";
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running) child.kill("SIGKILL");
    running.length = 0;
    rmSync(directory, { recursive: true, force: true });
  });

  it("SIGKILL: a fresh process set up the same way finishes the broadcast; only the dead one's unwritten sends go twice", async () => {
    directory = mkdtempSync(join(tmpdir(), "bk-restart-"));
    const database = join(directory, "broadcasts.db");
    const attempts = join(directory, "attempts.log");
    const first = startHost(database, attempts, "create", String(RECIPIENTS));
    running.push(first.child);
    const id = await first.ready;
    await waitFor(() => {
      try {
        return attemptsIn(attempts).length >= 100;
      } catch {
        return false;
      }
    });
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const store = createSqliteStore({ filename: database });
    const left = await store.getBroadcast(id);
    const writtenBeforeDeath = new Set(
      (await allRecipients(store, id)).filter((r) => r.state === "sent").map((r) => String(r.recipientId)),
    );
    const sentByTheDead = new Set(attemptsIn(attempts).map(([, recipient]) => recipient!));
    const unwritten = [...sentByTheDead].filter((recipient) => !writtenBeforeDeath.has(recipient));
    expect(left?.status).toBe("sending");

    const second = startHost(database, attempts);
    running.push(second.child);
    await second.ready;
    await waitFor(async () => (await store.getBroadcast(id))?.status === "sent");
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);

    const final = await store.getBroadcast(id);
    const recipients = await allRecipients(store, id);
    await store.close();
    expect(final).toMatchObject({ status: "sent", sentCount: RECIPIENTS, failedCount: 0 });
    expect(recipients.every((r) => r.state === "sent")).toBe(true);
    const sends = new Map<string, number>();
    for (const [, recipient] of attemptsIn(attempts)) sends.set(recipient!, (sends.get(recipient!) ?? 0) + 1);
    expect(sends.size).toBe(RECIPIENTS);
    const twice = [...sends].filter(([, n]) => n > 1).map(([recipient]) => recipient);
    expect(twice.sort()).toEqual(unwritten.sort());
    expect(twice.length).toBeLessThanOrEqual(CONCURRENCY + 2 * BATCH_SIZE);
  });

  it("SIGTERM: the host stops gracefully (sent is written, the rest released), and the next one sends nobody twice", async () => {
    directory = mkdtempSync(join(tmpdir(), "bk-restart-"));
    const database = join(directory, "broadcasts.db");
    const attempts = join(directory, "attempts.log");
    const first = startHost(database, attempts, "create", String(RECIPIENTS));
    running.push(first.child);
    const id = await first.ready;
    await waitFor(() => {
      try {
        return attemptsIn(attempts).length >= 100;
      } catch {
        return false;
      }
    });
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);

    const store = createSqliteStore({ filename: database });
    const stopped = await store.getBroadcast(id);
    expect(stopped?.sentCount).toBe(attemptsIn(attempts).length);
    expect((await store.getActivity(id, new Date()))?.leased).toBe(false);

    const second = startHost(database, attempts);
    running.push(second.child);
    await second.ready;
    await waitFor(async () => (await store.getBroadcast(id))?.status === "sent");
    second.child.kill("SIGTERM");
    await second.exited;
    await store.close();

    const sends = attemptsIn(attempts).map(([, recipient]) => recipient);
    expect(sends).toHaveLength(RECIPIENTS);
    expect(new Set(sends).size).toBe(RECIPIENTS);
  });
});
