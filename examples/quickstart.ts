/**
 * `npm run demo`: one broadcast end to end on the embedded default (SQLite in a temporary file),
 * with a simulated Telegram that blocks some chats for good and has a short outage.
 *
 * 1. 3,000 recipients; a live progress bar while the worker sends.
 * 2. The final progress and its error summary: transient failures were retried on the backoff
 *    schedule (scaled from the seed's 60 s / 120 s / 240 s down to 0.25 s / 0.5 s / 1 s so the demo
 *    ends in seconds); chats that blocked the bot failed at once.
 * 3. The outage ends; `retryFailed` sends the transient failures again, skipping the permanent ones.
 * 4. The end state.
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
  type OutgoingMessage,
  type Progress,
  type SendResult,
} from "broadcastkit";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";
import { Presets, SingleBar } from "cli-progress";
import type { Result } from "neverthrow";

const RECIPIENTS = 3_000;
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

/** A Telegram look-alike: about 1 ms per call, some chats blocked, one flaky network path. */
function simulatedTelegram() {
  let outage = true;
  const seenOnce = new Set<number | string>();
  const respond = async (message: OutgoingMessage): Promise<SendResult> => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const id = Number(message.recipientId);
    if (id % 40 === 0)
      return { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" };
    if (id % 97 === 0)
      return { status: "failed", kind: "permanent", description: "Bad Request: chat not found" };
    if (id % 101 === 0 && outage) return { status: "failed", kind: "transient", description: "Bad Gateway" };
    if (id % 13 === 0 && !seenOnce.has(id)) {
      seenOnce.add(id);
      return { status: "failed", kind: "transient", description: "Network timeout" };
    }
    return { status: "delivered", messageId: 10_000 + id };
  };
  return { sender: createFakeSender({ respond, record: false }), endOutage: () => (outage = false) };
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
  const telegram = simulatedTelegram();
  const kit = createBroadcastKit({
    store,
    queue: createMemoryQueue({ autoRun: true }),
    sender: telegram.sender,
    worker: { retry: { baseDelayMs: 250 } },
  });
  await kit.start();
  const { service } = kit;
  console.log(`broadcastkit demo: ${RECIPIENTS.toLocaleString("en")} recipients, store ${where}\n`);

  const created = await service.create({
    message: { text: "Hi <b>{{name}}</b>, your order ships today!", parseMode: "HTML" },
    recipients: audience(),
  });
  if (created.isErr()) throw new Error(`create refused: ${formatBroadcastError(created.error)}`);
  const { id } = created.value;

  unwrapOrThrow(await service.start(id));
  report("after the first pass", await watch(service, id, "sending "));

  telegram.endOutage();
  const retry = unwrapOrThrow(await service.retryFailed(id));
  console.log(
    `\nretryFailed: ${retry.retriedCount} recipients queued again (job ${retry.taskId}), ` +
      `${retry.skippedCount} permanent failures skipped`,
  );
  report("end state", await watch(service, id, "retrying"));

  const failedPage = unwrapOrThrow(await service.listRecipients(id, { status: "failed", limit: 3 }));
  console.log("\nsome recipients that stay failed:");
  for (const r of failedPage.items)
    console.log(`  #${r.recipientId} chat ${r.chatId}: ${r.lastError} (${r.lastErrorKind})`);

  await kit.stop();
  await close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
