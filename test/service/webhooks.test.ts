import {
  type BroadcastKit,
  type BroadcastKitOptions,
  createBroadcastKit,
  type Logger,
  type SendResult,
  type WebhookEndpointConfig,
  webhookPayloadSchema,
} from "broadcastkit";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { createWebhookTransport } from "broadcastkit/webhooks";
import { afterEach, describe, expect, it } from "vitest";
import {
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
  webhookSecret,
} from "../support/webhook-receiver.js";
import { recipientsFor } from "./support/world.js";

const SECRET = webhookSecret(5);

interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

function capturingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (fields: object, message?: string): void =>
      void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("signed completion webhooks, end to end (memory store, a real receiver on 127.0.0.1)", () => {
  let receiver: WebhookReceiver | null = null;
  let kit: BroadcastKit | null = null;
  afterEach(async () => {
    await kit?.stop();
    await receiver?.close();
    kit = null;
    receiver = null;
  });

  /** A kit on a memory store with one endpoint (more options of it in `endpoint`), its dispatcher polling every 20 ms. */
  function makeKit(
    endpoint: Partial<WebhookEndpointConfig> & { url: string },
    options: Partial<BroadcastKitOptions> = {},
  ): BroadcastKit {
    kit = createBroadcastKit({
      store: createMemoryStore(),
      queue: createMemoryQueue({ autoRun: true }),
      sender: createFakeSender(),
      webhooks: [{ secret: SECRET, ...endpoint }],
      webhookTransport: createWebhookTransport(),
      webhookDispatch: { pollIntervalMs: 20 },
      ...options,
    });
    return kit;
  }

  async function sendBroadcast(k: BroadcastKit, recipients = 3): Promise<number> {
    const created = (
      await k.service.create({ message: { text: "Hi" }, recipients: recipientsFor(recipients) })
    )._unsafeUnwrap();
    (await k.service.start(created.id))._unsafeUnwrap();
    return created.id;
  }

  it("delivers started, then the final status by name, each signed so that Webhook.verify accepts it, with the payload's fields", async () => {
    receiver = await startWebhookReceiver();
    const k = makeKit(
      { url: receiver.url },
      {
        sender: createFakeSender({
          respond: (m): SendResult =>
            m.recipientId === 3
              ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
              : { status: "delivered" },
        }),
      },
    );
    await k.start();
    const id = await sendBroadcast(k);
    await waitFor(() => receiver!.received.length >= 2);

    const verified = receiver.verified(SECRET);
    expect(verified).toHaveLength(2);
    expect(verified.map((v) => v.payload.type)).toEqual(["broadcast.started", "broadcast.completed"]);
    for (const { payload } of verified) expect(webhookPayloadSchema.safeParse(payload).success).toBe(true);
    expect(verified[1]?.payload.data).toMatchObject({
      broadcast_id: id,
      status: "completed",
      previous_status: "sending",
      total_recipients: 3,
      sent_count: 2,
      failed_count: 1,
      pending_count: 0,
      progress_pct: 66,
    });
    expect(new Set(verified.map((v) => v.id)).size).toBe(2);
    expect(receiver.verified(webhookSecret(6))).toEqual([]);

    await waitFor(async () => {
      const log = (await k.service.listWebhookDeliveries({ broadcastId: id }))._unsafeUnwrap();
      return log.items.every((d) => d.state === "delivered");
    });
    const log = (await k.service.listWebhookDeliveries({ broadcastId: id }))._unsafeUnwrap();
    expect(log.items.map((d) => [d.event.type, d.state, d.attempts, d.lastStatusCode])).toEqual([
      ["broadcast.completed", "delivered", 1, 204],
      ["broadcast.started", "delivered", 1, 204],
    ]);
  });

  it("a receiver that fails 3 times then succeeds gets the event accepted once; the log shows the 4 attempts", async () => {
    receiver = await startWebhookReceiver((index) => (index < 3 ? 503 : 200));
    const lines: LogLine[] = [];
    // Quick retries for the test: 20 ms, 40 ms, 80 ms.
    makeKit(
      { url: receiver.url, events: ["broadcast.sent"], retry: { baseDelayMs: 20, factor: 2, jitter: 0 } },
      { logger: capturingLogger(lines) },
    );
    await kit!.start();
    const id = await sendBroadcast(kit!);
    await waitFor(() => receiver!.received.some((r) => r.status === 200));
    await waitFor(async () => {
      const log = (await kit!.service.listWebhookDeliveries({ broadcastId: id }))._unsafeUnwrap();
      return log.items[0]?.state === "delivered";
    });

    expect(receiver.received.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    const verified = receiver.verified(SECRET);
    expect(verified.map((v) => v.payload.type)).toEqual(Array(4).fill("broadcast.sent"));
    expect(new Set(verified.map((v) => v.id)).size).toBe(1);
    const accepted = receiver.received.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);

    const [delivery] = (await kit!.service.listWebhookDeliveries({ broadcastId: id }))._unsafeUnwrap().items;
    expect(delivery).toMatchObject({ state: "delivered", attempts: 4, lastStatusCode: 200, lastError: null });
    const attempts = lines.filter((line) => String(line.message).startsWith("webhook"));
    expect(attempts.map((line) => [line.fields.attempt, line.fields.outcome, line.message])).toEqual([
      [1, "retry", "webhook refused; will retry"],
      [2, "retry", "webhook refused; will retry"],
      [3, "retry", "webhook refused; will retry"],
      [4, "delivered", "webhook delivered"],
    ]);
    expect(attempts[0]?.fields).toMatchObject({
      error: "HTTP 503",
      broadcastId: id,
      event: "broadcast.sent",
    });
  });

  it("gives up after the last attempt: the delivery reads failed with the last error", async () => {
    receiver = await startWebhookReceiver(() => 500);
    makeKit({
      url: receiver.url,
      events: ["broadcast.sent"],
      retry: { maxRetries: 2, baseDelayMs: 10, jitter: 0 },
    });
    await kit!.start();
    const id = await sendBroadcast(kit!, 1);
    await waitFor(async () => {
      const log = (
        await kit!.service.listWebhookDeliveries({ broadcastId: id, state: "failed" })
      )._unsafeUnwrap();
      return log.items.length === 1;
    });
    const [delivery] = (await kit!.service.listWebhookDeliveries({ broadcastId: id }))._unsafeUnwrap().items;
    expect(delivery).toMatchObject({
      state: "failed",
      attempts: 3,
      lastError: "HTTP 500",
      lastStatusCode: 500,
    });
    expect(receiver.received).toHaveLength(3);
  });

  it("a receiver that hangs for 10 s does not hold the broadcast back: every send happens while the webhook waits", async () => {
    // Sends wait until the endpoint holds the start event, so the order is fixed: the webhook is
    // in flight first, and the whole broadcast must then be sent while the endpoint sits on it.
    let webhookInFlight = () => {};
    const inFlight = new Promise<void>((resolve) => {
      webhookInFlight = resolve;
    });
    receiver = await startWebhookReceiver(() => {
      webhookInFlight();
      return "hang";
    });
    const sender = createFakeSender({
      respond: async (): Promise<SendResult> => {
        await inFlight;
        return { status: "delivered" };
      },
    });
    makeKit(
      { url: receiver.url, timeoutMs: 10_000 },
      { sender, webhookDispatch: { pollIntervalMs: 20, batchSize: 1 } },
    );
    await kit!.start();
    const id = await sendBroadcast(kit!, 200);
    await waitFor(async () => (await kit!.service.get(id))._unsafeUnwrap().status === "sent");

    expect(sender.callCount).toBe(200);
    expect(receiver.received.map((r) => r.status)).toEqual([null]);
    const log = (await kit!.service.listWebhookDeliveries({ broadcastId: id }))._unsafeUnwrap();
    // The completion waits in the outbox for the endpoint's dispatcher; the start is in its hands.
    expect(log.items.map((d) => [d.event.type, d.state, d.attempts])).toEqual([
      ["broadcast.started", "pending", 0],
    ]);
  });

  it("sends an endpoint only the events it asked for", async () => {
    receiver = await startWebhookReceiver();
    const k = makeKit({ url: receiver.url, events: ["broadcast.paused", "broadcast.cancelled"] });
    await k.start();
    const created = (
      await k.service.create({ message: { text: "Hi" }, recipients: recipientsFor(2) })
    )._unsafeUnwrap();
    (await k.service.cancel(created.id))._unsafeUnwrap();
    await sendBroadcast(k, 1);
    await waitFor(() => receiver!.received.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.verified(SECRET).map((v) => [v.payload.type, v.payload.data.broadcast_id])).toEqual([
      ["broadcast.cancelled", created.id],
    ]);
  });

  it("refuses an endpoint's bad configuration at once, naming the field", () => {
    const make =
      (webhooks: unknown, withTransport = true) =>
      () =>
        createBroadcastKit({
          store: createMemoryStore(),
          queue: createMemoryQueue(),
          sender: createFakeSender(),
          webhooks: webhooks as never,
          ...(withTransport ? { webhookTransport: createWebhookTransport() } : {}),
        });
    expect(make([{ url: "https://a.example/", secret: "plain" }])).toThrow(/webhooks\.0\.secret/);
    expect(make([{ url: "file:///etc/passwd", secret: SECRET }])).toThrow(/webhooks\.0\.url/);
    expect(make([{ url: "https://a.example/", secret: SECRET, events: ["broadcast.done"] }])).toThrow(
      /webhooks\.0\.events\.0/,
    );
    expect(make([{ url: "https://a.example/", secret: SECRET }], false)).toThrow(/webhookTransport/);
    expect(make([])).not.toThrow();
  });

  it("validates the delivery log's filters and answers not_found for a broadcast that does not exist", async () => {
    receiver = await startWebhookReceiver();
    const k = makeKit({ url: receiver.url });
    expect((await k.service.listWebhookDeliveries({ broadcastId: 999 }))._unsafeUnwrapErr()).toEqual({
      type: "not_found",
      broadcastId: 999,
    });
    const refused = (
      await k.service.listWebhookDeliveries({ state: "lost" as never, limit: 0 })
    )._unsafeUnwrapErr();
    expect(refused.type === "validation" && refused.issues.map((i) => i.path)).toEqual(["state", "limit"]);
    expect((await k.service.listWebhookDeliveries({ cursor: "nope" }))._unsafeUnwrapErr()).toMatchObject({
      type: "validation",
      issues: [{ path: "cursor" }],
    });
  });
});
