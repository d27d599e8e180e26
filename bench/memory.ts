/**
 * One 1,000,000-recipient broadcast in memory with a no-op sender: how fast the send phase runs,
 * and how much memory the whole process peaks at.
 * Targets (issue 2): >= 1,000,000 recipients/s for the send phase, peak RSS <= 250 MB.
 *
 * Batches of 250 (`BENCH_BATCH` changes it; the worker's default is 100). With batches of 1,000
 * the send phase is no faster, but V8 promotes each in-flight batch to its old space and lets
 * that grow to ~190 MB of garbage before a major collection: peak RSS then lands anywhere between
 * 210 and 340 MB from run to run, while the heap after collection stays under 80 MB.
 */

import { createFakeSender, createMemoryQueue, createMemoryStore } from "../src/adapters/memory/index.js";
import { createBroadcastService, createSendWorker, type NewRecipient } from "../src/index.js";

const total = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 250);

function* recipients(): Generator<NewRecipient> {
  for (let i = 1; i <= total; i++) yield { recipientId: i, chatId: 100_000_000 + i };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function main() {
  const store = createMemoryStore();
  const queue = createMemoryQueue();
  const sender = createFakeSender({ record: false });
  const service = createBroadcastService({ store, queue });
  const worker = createSendWorker({ store, queue, sender, batchSize });
  queue.consume((job) => worker.handle(job));

  const createStart = performance.now();
  const created = (
    await service.create({ message: { text: "Flash sale: 20% off today" }, recipients: recipients() })
  )._unsafeUnwrap();
  const createMs = performance.now() - createStart;

  (await service.start(created.id))._unsafeUnwrap();
  const sendStart = performance.now();
  await queue.drain();
  const sendMs = performance.now() - sendStart;

  const progress = (await service.getProgress(created.id))._unsafeUnwrap();
  if (progress.status !== "sent" || progress.sentCount !== total) {
    throw new Error(`benchmark broadcast ended ${progress.status} with ${progress.sentCount}/${total} sent`);
  }
  const readStart = performance.now();
  const reads = 10_000;
  for (let i = 0; i < reads; i++) await service.getProgress(created.id);
  const readUs = ((performance.now() - readStart) / reads) * 1000;

  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log("\n## In-memory adapters (bench/memory.ts)\n");
  console.log("| measure | figure | target |");
  console.log("| --- | --- | --- |");
  console.log(`| recipients | ${total.toLocaleString("en")} (batch ${batchSize}) | |`);
  console.log(
    `| create (validate + store) | ${Math.round(total / (createMs / 1000)).toLocaleString("en")} recipients/s | |`,
  );
  console.log(
    `| send phase | ${Math.round(total / (sendMs / 1000)).toLocaleString("en")} recipients/s | >= 1,000,000/s |`,
  );
  console.log(`| progress read | ${readUs.toFixed(2)} µs | O(1) |`);
  console.log(`| peak RSS | ${mb(peakRss)} MB | <= 250 MB |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
