/**
 * Signed webhooks end to end: `npx tsx examples/webhooks.ts`.
 *
 * A receiver on 127.0.0.1 verifies every request with the `standardwebhooks` package (as your
 * endpoint would) and prints what it got; a kit sends a broadcast whose first attempt at the
 * completion webhook is refused with a 503, so the retry shows in the delivery log.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createBroadcastKit, formatBroadcastError, type WebhookPayload } from "broadcastkit";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { createWebhookTransport } from "broadcastkit/webhooks";
import { Webhook } from "standardwebhooks";

const secret = `whsec_${randomBytes(32).toString("base64")}`;

// The receiver: verify the raw body, deduplicate on webhook-id, answer 2xx quickly.
const verifier = new Webhook(secret);
const seen = new Set<string>();
let refusedOnce = false;
let finished: (payload: WebhookPayload) => void = () => {};
const completion = new Promise<WebhookPayload>((resolve) => {
  finished = resolve;
});
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    let payload: WebhookPayload;
    try {
      payload = verifier.verify(
        Buffer.concat(chunks).toString("utf8"),
        request.headers as Record<string, string>,
      ) as WebhookPayload;
    } catch {
      response.writeHead(401).end();
      return;
    }
    const id = String(request.headers["webhook-id"]);
    if (payload.type !== "broadcast.started" && !refusedOnce) {
      refusedOnce = true;
      console.log(`receiver: ${payload.type} (${id}) refused once with 503, to show a retry`);
      response.writeHead(503).end();
      return;
    }
    if (!seen.has(id)) {
      seen.add(id);
      console.log(
        `receiver: verified ${payload.type} for broadcast ${payload.data.broadcast_id}`,
        payload.data,
      );
      if (payload.type !== "broadcast.started") finished(payload);
    }
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const { port } = receiver.address() as AddressInfo;

const kit = createBroadcastKit({
  store: createMemoryStore(),
  queue: createMemoryQueue({ autoRun: true }),
  // Chat 1003 blocked the bot, so the broadcast ends `completed` (some delivered, some failed).
  sender: createFakeSender({
    respond: (message) =>
      message.chatId === 1003
        ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
        : { status: "delivered" },
  }),
  webhooks: [
    {
      id: "ops",
      url: `http://127.0.0.1:${port}/hooks`,
      secret,
      events: ["broadcast.started", "broadcast.sent", "broadcast.completed", "broadcast.failed"],
      // A short schedule for the demo; the default waits 30 s before the second attempt.
      retry: { baseDelayMs: 500, jitter: 0 },
    },
  ],
  webhookTransport: createWebhookTransport(),
  webhookDispatch: { pollIntervalMs: 100 },
});
await kit.start();

const created = await kit.service.create({
  message: { text: "Maintenance tonight at 22:00 UTC" },
  recipients: [1, 2, 3, 4].map((n) => ({ recipientId: n, chatId: 1000 + n })),
});
if (created.isErr()) throw new Error(formatBroadcastError(created.error));
const started = await kit.service.start(created.value.id);
if (started.isErr()) throw new Error(formatBroadcastError(started.error));

const final = await completion;
console.log(`the host learnt: broadcast ${final.data.broadcast_id} is ${final.data.status}`);
// The dispatcher records the accepted attempt right after the answer: read the log once it has.
const settledLog = async () => {
  for (;;) {
    const log = await kit.service.listWebhookDeliveries({ broadcastId: created.value.id });
    if (log.isErr()) throw new Error(formatBroadcastError(log.error));
    if (log.value.items.every((d) => d.state !== "pending")) return log.value.items;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
for (const d of await settledLog()) {
  console.log(`log: ${d.event.type} -> ${d.endpointId}: ${d.state} after ${d.attempts} attempt(s)`);
}
await kit.stop();
receiver.close();
