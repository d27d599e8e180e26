import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterWorkerConfig } from "../fixtures/cluster-worker.js";

const WORKER = fileURLToPath(new URL("../fixtures/cluster-worker.ts", import.meta.url));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** One running worker process (test/adapters/bullmq/fixtures/cluster-worker.ts). */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a worker whose journal is `<journals>/<n>.log`; `config.journal` is filled in. */
export function startWorker(
  config: Omit<ClusterWorkerConfig, "journal">,
  journals: string,
  n: number,
): WorkerProcess {
  const journal = join(journals, `${n}.log`);
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, JSON.stringify({ ...config, journal })], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready")) resolve();
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`worker ${n} exited (${code ?? signal}) before it was ready`)),
    );
  });
  ready.catch(() => {});
  return { child, pid: child.pid ?? 0, ready, exited };
}

/** Kills a worker (if still running) and waits until it is gone. */
export async function killWorker(worker: WorkerProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill("SIGCONT");
    worker.child.kill(signal);
  }
  await worker.exited;
}

/** One journal line, as the worker wrote it. */
export type JournalEntry =
  | { readonly type: "attempt"; readonly at: number; readonly recipientId: number; readonly chatId: number }
  | { readonly type: "recorded"; readonly recipientId: number; readonly delivered: boolean }
  | { readonly type: "lease_lost"; readonly recipientId: number; readonly at: "write" | "renewal" }
  | { readonly type: "tick"; readonly jobId: string }
  | { readonly type: "started"; readonly broadcastId: number };

/** Every worker's journal, by worker number, each in the order it was written. A torn last line is dropped. */
export function readJournals(journals: string): Map<number, JournalEntry[]> {
  const byWorker = new Map<number, JournalEntry[]>();
  if (!existsSync(journals)) return byWorker;
  for (const file of readdirSync(journals)) {
    const n = Number(file.replace(".log", ""));
    const text = readFileSync(join(journals, file), "utf8");
    const lines = text.split("\n");
    if (!text.endsWith("\n")) lines.pop();
    const entries: JournalEntry[] = [];
    for (const line of lines) {
      const [kind, a, b, c] = line.split(" ");
      if (kind === "A")
        entries.push({ type: "attempt", at: Number(a), recipientId: Number(b), chatId: Number(c) });
      else if (kind === "W") entries.push({ type: "recorded", recipientId: Number(a), delivered: b === "d" });
      else if (kind === "L")
        entries.push({ type: "lease_lost", recipientId: Number(a), at: b === "w" ? "write" : "renewal" });
      else if (kind === "T") entries.push({ type: "tick", jobId: a ?? "" });
      else if (kind === "S") entries.push({ type: "started", broadcastId: Number(a) });
    }
    byWorker.set(n, entries);
  }
  return byWorker;
}
