import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createWebhookTransport } from "broadcastkit/webhooks";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { startWebhookReceiver, type WebhookReceiver, webhookSecret } from "../../support/webhook-receiver.js";

const SECRET = webhookSecret();
const BODY = JSON.stringify({ type: "broadcast.sent", timestamp: "2030-01-01T00:00:00.000Z", data: {} });

describe("createWebhookTransport (a real receiver on 127.0.0.1)", () => {
  let receiver: WebhookReceiver | null = null;
  afterEach(async () => {
    await receiver?.close();
    receiver = null;
  });

  const request = (
    url: string,
    overrides: Partial<Parameters<ReturnType<typeof createWebhookTransport>["post"]>[0]> = {},
  ) => ({
    url,
    secret: SECRET,
    messageId: "evt_12",
    timestamp: new Date(),
    body: BODY,
    timeoutMs: 5_000,
    ...overrides,
  });

  it("signs per Standard Webhooks: the package's Webhook.verify accepts it, and a wrong secret does not", async () => {
    receiver = await startWebhookReceiver();
    const answer = await createWebhookTransport().post(request(receiver.url));
    expect(answer).toEqual({ type: "answered", status: 204 });
    const [got] = receiver.received;
    expect(got?.headers).toMatchObject({
      "content-type": "application/json",
      "webhook-id": "evt_12",
      "user-agent": "broadcastkit-webhooks",
    });
    expect(got?.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(got?.body).toBe(BODY);
    expect(new Webhook(SECRET).verify(got!.body, got!.headers)).toEqual(JSON.parse(BODY));
    expect(() => new Webhook(webhookSecret(9)).verify(got!.body, got!.headers)).toThrow();
    expect(() => new Webhook(SECRET).verify(`${got!.body} `, got!.headers)).toThrow();
  });

  it("answers any status as it came, without following a redirect", async () => {
    receiver = await startWebhookReceiver((index) => [503, 410, 302][index] ?? 200);
    const transport = createWebhookTransport();
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push(await transport.post(request(receiver.url)));
    expect(statuses).toEqual([
      { type: "answered", status: 503 },
      { type: "answered", status: 410 },
      { type: "answered", status: 302 },
    ]);
    expect(receiver.received).toHaveLength(3);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    receiver = await startWebhookReceiver(() => "hang");
    const answer = await createWebhookTransport().post(request(receiver.url, { timeoutMs: 200 }));
    expect(answer).toEqual({ type: "unreachable", error: "timed out after 200 ms" });
  });

  it("reports a refused connection as unreachable, naming the error code, without throwing", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const answer = await createWebhookTransport().post(request(`http://127.0.0.1:${port}/`));
    expect(answer).toEqual({ type: "unreachable", error: "network error: ECONNREFUSED" });
  });

  it("stops at once when the caller aborts", async () => {
    receiver = await startWebhookReceiver(() => "hang");
    const stop = new AbortController();
    const pending = createWebhookTransport().post(
      request(receiver.url, { signal: stop.signal, timeoutMs: 60_000 }),
    );
    while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort();
    expect(await pending).toEqual({ type: "unreachable", error: "aborted" });
  });
});
