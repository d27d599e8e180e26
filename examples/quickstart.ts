/**
 * `npm run demo`: one broadcast end to end on the embedded default (SQLite in a temporary file),
 * sent through the real Telegram sender (pacing at Telegram's 30 messages/s, 429 and error
 * handling) to a simulated Telegram that answers after a 100 ± 30 ms round trip and refuses some
 * chats (see simulated-telegram.ts). Nothing leaves the process.
 *
 * 1. 300 recipients; a live progress bar while the worker sends, 16 sends in flight.
 * 2. The first pass: a 502 was retried on the backoff schedule (scaled from the seed's 60 s down to
 *    0.25 s so the demo ends in seconds); chats that blocked the bot, do not exist or were
 *    deactivated failed at once (permanent failures).
 * 3. `retryFailed({ includePermanent: true })`: the deactivated accounts are back, so they get it;
 *    the others fail again.
 * 4. The end state, and the busiest second Telegram saw (never above its limit).
 *
 * `npm run demo -- --memory` runs the same on the in-memory store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BroadcastError,
  type BroadcastService,
  type BroadcastStore,
  createBroadcastKit,
  FINISHED_STATUSES,
  formatBroadcastError,
  type NewRecipient,
  type Progress,
} from "broadcastkit";
import { createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";
import { Presets, SingleBar } from "cli-progress";
import type { Result } from "neverthrow";
import { simulatedTelegram } from "./simulated-telegram.js";

const RECIPIENTS = 300;
const TELEGRAM_LIMIT = 30;
const useMemory = process.argv.includes("--memory");

function* audience(): Generator<NewRecipient> {
  const names = ["Ada", "Grace", "Linus", "Barbara", "Ken"];
  for (let i = 1; i <= RECIPIENTS; i++) {
    yield {
      recipientId: i,
      chatId: 700_000_000 + i,
      variables: { name: names[i % names.length] ?? "friend" },
    };
  }
}

/** The most calls the simulated Telegram received within any one second. */
function busiestSecond(arrivals: readonly Date[]): number {
  const times = arrivals.map((at) => at.getTime()).sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while ((times[to] ?? 0) - (times[from] ?? 0) >= 1000) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

async function openStore(): Promise<{ store: BroadcastStore; close: () => Promise<void>; where: string }> {
  if (useMemory) return { store: createMemoryStore(), close: async () => {}, where: "in memory" };
  const dir = mkdtempSync(join(tmpdir(), "broadcastkit-demo-"));
  const filename = join(dir, "broadcasts.db");
  const store = createSqliteStore({ filename });
  return {
    store,
    where: `SQLite file ${filename}`,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const isFinished = (p: Progress) => FINISHED_STATUSES.includes(p.status);

/** The value of a result; an error, in words. */
function unwrapOrThrow<T>(result: Result<T, BroadcastError>): T {
  if (result.isErr()) throw new Error(formatBroadcastError(result.error));
  return result.value;
}

/** Redraws the bar from the stored counters until the broadcast reaches a final status. */
async function watch(service: BroadcastService, id: number, title: string): Promise<Progress> {
  const bar = new SingleBar(
    {
      format: `${title} |{bar}| {percentage}% processed | {value}/{total} | sent {sent} · failed {failed} · {status}`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 500,
    },
    Presets.shades_classic,
  );
  let progress = unwrapOrThrow(await service.getProgress(id));
  const draw = (p: Progress) => ({ sent: p.sentCount, failed: p.failedCount, status: p.status });
  bar.start(progress.totalRecipients, progress.sentCount + progress.failedCount, draw(progress));
  while (!isFinished(progress)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    progress = unwrapOrThrow(await service.getProgress(id));
    bar.update(progress.sentCount + progress.failedCount, draw(progress));
  }
  bar.stop();
  return progress;
}

function report(label: string, p: Progress): void {
  console.log(`\n${label}`);
  console.table({
    status: p.status,
    total: p.totalRecipients,
    sent: p.sentCount,
    failed: p.failedCount,
    pending: p.pendingCount,
    "progress %": p.progressPct,
    "processed %": p.processedPct,
  });
  console.log(`error summary: ${p.errorSummary ?? "none"}`);
}

async function main(): Promise<void> {
  const { store, close, where } = await openStore();
  const telegram = simulatedTelegram({ latency: { baseMs: 100, jitterMs: 30 }, perSecond: TELEGRAM_LIMIT });
  const kit = createBroadcastKit({
    store,
    queue: createMemoryQueue({ autoRun: true }),
    sender: telegram.sender,
    worker: { retry: { baseDelayMs: 250 } },
  });
  await kit.start();
  const { service } = kit;
  console.log(
    `broadcastkit demo: ${RECIPIENTS} recipients, store ${where}, ` +
      `simulated Telegram (100 ± 30 ms round trips, ${TELEGRAM_LIMIT} messages/s)\n`,
  );

  const created = await service.create({
    message: { text: "Hi <b>{{name}}</b>, your order ships today!", parseMode: "HTML" },
    recipients: audience(),
  });
  if (created.isErr()) throw new Error(`create refused: ${formatBroadcastError(created.error)}`);
  const { id } = created.value;

  unwrapOrThrow(await service.start(id));
  report("after the first pass", await watch(service, id, "sending "));

  const retry = unwrapOrThrow(await service.retryFailed(id, { includePermanent: true }));
  console.log(
    `\nretryFailed({ includePermanent: true }): ${retry.retriedCount} recipients queued again (job ${retry.taskId})`,
  );
  report("end state", await watch(service, id, "retrying"));

  const failedPage = unwrapOrThrow(await service.listRecipients(id, { status: "failed", limit: 3 }));
  console.log("\nsome recipients that stay failed:");
  for (const r of failedPage.items)
    console.log(`  #${r.recipientId} chat ${r.chatId}: ${r.lastError} (${r.lastErrorKind})`);

  const arrivals = telegram.api.requests.map((request) => request.at);
  console.log(
    `\nTelegram received ${arrivals.length} calls; the busiest second held ${busiestSecond(arrivals)} ` +
      `(its limit: ${TELEGRAM_LIMIT})`,
  );

  await kit.stop();
  await close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
