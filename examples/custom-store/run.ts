/**
 * The custom-store example at work: `npx tsx examples/custom-store/run.ts [database-file]`.
 * The host's own tables hold the broadcast; the library's service and worker drive it.
 * Chats ending in 7 have blocked the bot, so the end shows failures and a manual retry's answer.
 */

import Database from "better-sqlite3";
import {
  type BroadcastError,
  createBroadcastKit,
  formatBroadcastError,
  type NewRecipient,
} from "broadcastkit";
import { createFakeSender, createMemoryQueue } from "broadcastkit/memory";
import type { Result } from "neverthrow";
import { createCampaignStore } from "./campaign-store.js";

const db = new Database(process.argv[2] ?? ":memory:");
const store = createCampaignStore(db);
const queue = createMemoryQueue({ autoRun: true });
const sender = createFakeSender({
  respond: (message) =>
    String(message.chatId).endsWith("7")
      ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
      : { status: "delivered", messageId: Number(message.recipientId) },
});
const kit = createBroadcastKit({ store, queue, sender, worker: { batchSize: 50 } });
await kit.start();
const { service } = kit;
/** The value of a result; an error, in words. */
function unwrapOrThrow<T>(result: Result<T, BroadcastError>): T {
  if (result.isErr()) throw new Error(formatBroadcastError(result.error));
  return result.value;
}

function* audience(): Generator<NewRecipient> {
  for (let i = 1; i <= 500; i++) yield { recipientId: `user-${i}`, chatId: 500_000 + i, variables: { n: i } };
}

const created = unwrapOrThrow(
  await service.create({
    message: { text: "Hello, subscriber #{{n}}" },
    recipients: audience(),
    createdBy: "ops",
  }),
);
unwrapOrThrow(await service.start(created.id));
await queue.idle();

const progress = unwrapOrThrow(await service.getProgress(created.id));
console.log(
  `campaign ${progress.id}: ${progress.status}, ${progress.sentCount}/${progress.totalRecipients} delivered, ` +
    `${progress.progressPct}% — ${progress.errorSummary}`,
);
const retried = unwrapOrThrow(await service.retryFailed(created.id));
console.log(`retry: ${retried.retriedCount} retried, ${retried.skippedCount} skipped (blocked for good)`);
const row = db.prepare("SELECT state, delivered, failed, total FROM campaigns WHERE id = ?").get(created.id);
console.log("the host's own row:", row);
await kit.stop();
db.close();
