import { type BroadcastError, type BroadcastService, storageError } from "broadcastkit";
import { errAsync, ok } from "neverthrow";
import { afterEach, describe, expect, it, vi } from "vitest";
import { progressOf } from "../../src/core/progress.js";
import type { Broadcast } from "../../src/core/types.js";
import { progressEventStream } from "../../src/http/stream.js";
import { BASE, type Harness, START, startHarness, TOKEN } from "./harness.js";

interface SseEvent {
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data is read field by field
  readonly data: any;
}

/** Reads server-sent events one at a time; `null` once the stream has ended. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(): Promise<SseEvent | null> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split("\n").filter((line) => !line.startsWith(":"));
          if (lines.length === 0) continue;
          const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? "message";
          const data = lines.find((line) => line.startsWith("data: "))?.slice(6) ?? "";
          return { event, data: JSON.parse(data) };
        }
        const { done, value } = await reader.read();
        if (done) return null;
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const openStream = (api: Harness, id: number, signal?: AbortSignal) =>
  fetch(`${api.url}${BASE}/${id}/progress/stream/`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(signal === undefined ? {} : { signal }),
  });

describe("GET {base}/{id}/progress/stream/", () => {
  it("sends a progress event on every change, in order, and closes after the final status", async () => {
    h = await startHarness({ handler: { streamPollMs: 2 } });
    const id = await h.createBroadcast(3);

    const response = await openStream(h, id);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = sseReader(response.body!);

    const first = await events.next();
    expect(first).toEqual({
      event: "progress",
      data: expect.objectContaining({ id, status: "draft", sent_count: 0, pending_count: 3 }),
    });
    expect(Object.keys(first?.data).sort()).toEqual(
      [
        "id",
        "status",
        "total_recipients",
        "sent_count",
        "failed_count",
        "pending_count",
        "cancelled_count",
        "progress_pct",
        "processed_pct",
        "error_summary",
        "created_at",
        "scheduled_at",
        "sent_at",
        "completed_at",
      ].sort(),
    );

    await h.api("POST", `${BASE}/${id}/send/`);
    expect(await events.next()).toEqual({
      event: "progress",
      data: expect.objectContaining({ status: "sending", sent_at: START.toISOString(), sent_count: 0 }),
    });

    await h.settle();
    expect(await events.next()).toEqual({
      event: "progress",
      data: expect.objectContaining({ status: "sent", sent_count: 3, progress_pct: 100, pending_count: 0 }),
    });
    expect(await events.next()).toEqual({ event: "done", data: { status: "sent" } });
    expect(await events.next()).toBeNull();
  });

  it("sends one event and closes at once for a broadcast already finished", async () => {
    h = await startHarness({ handler: { streamPollMs: 2 } });
    const id = await h.createBroadcast(1);
    await h.api("POST", `${BASE}/${id}/cancel/`);

    const events = sseReader((await openStream(h, id)).body!);

    expect(await events.next()).toEqual({
      event: "progress",
      data: expect.objectContaining({ status: "cancelled" }),
    });
    expect(await events.next()).toEqual({ event: "done", data: { status: "cancelled" } });
    expect(await events.next()).toBeNull();
  });

  it("answers 404 in the JSON envelope, not as a stream, for a broadcast nobody has", async () => {
    h = await startHarness();
    const response = await openStream(h, 404);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await response.json()).error.code).toBe("not_found");
  });

  it("stops polling when the client goes away", async () => {
    let polls = 0;
    h = await startHarness({
      handler: { streamPollMs: 2 },
      wrapService: (service) => ({
        ...service,
        getProgress: (id) => {
          polls += 1;
          return service.getProgress(id);
        },
      }),
    });
    const id = await h.createBroadcast(1);
    const client = new AbortController();
    const events = sseReader((await openStream(h, id, client.signal)).body!);
    expect((await events.next())?.event).toBe("progress");
    await vi.waitFor(() => expect(polls).toBeGreaterThan(3));

    client.abort();

    await vi.waitFor(async () => {
      const seen = polls;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(polls).toBe(seen);
    });
  });

  it("reports a failed poll as an error event without its cause, then closes", async () => {
    let calls = 0;
    h = await startHarness({
      handler: { streamPollMs: 2 },
      wrapService: (service): BroadcastService => ({
        ...service,
        getProgress: (id) => {
          calls += 1;
          return calls === 1
            ? service.getProgress(id)
            : errAsync<never, BroadcastError>(storageError(new Error("connection refused: 10.0.0.5:5432")));
        },
      }),
    });
    const id = await h.createBroadcast(1);
    const events = sseReader((await openStream(h, id)).body!);

    expect((await events.next())?.event).toBe("progress");
    expect(await events.next()).toEqual({
      event: "error",
      data: { code: "internal", message: "Internal server error" },
    });
    expect(await events.next()).toBeNull();
  });
});

describe("the progress event stream", () => {
  const broadcast = (overrides: Partial<Broadcast>): Broadcast => ({
    id: 1,
    status: "sending",
    message: { text: "Hi" },
    createdBy: null,
    errorThreshold: null,
    totalRecipients: 2,
    sentCount: 0,
    failedCount: 0,
    errorCounts: {},
    errorLog: [],
    pauseReason: null,
    createdAt: START,
    scheduledAt: null,
    sentAt: START,
    completedAt: null,
    version: 1,
    ...overrides,
  });

  it("ends when its signal aborts, and polls no more", async () => {
    const client = new AbortController();
    let polls = 0;
    const stream = progressEventStream({
      initial: progressOf(broadcast({})),
      poll: async () => {
        polls += 1;
        return ok(progressOf(broadcast({})));
      },
      settled: async () => ok(progressOf(broadcast({}))),
      pollMs: 1,
      signal: client.signal,
      describeError: () => ({ code: "internal", message: "x" }),
    });
    const events = sseReader(stream);
    expect((await events.next())?.event).toBe("progress");

    client.abort();

    expect(await events.next()).toBeNull();
    const after = polls;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(polls).toBe(after);
  });

  it("skips polls that changed nothing", async () => {
    const sequence = [
      broadcast({}),
      broadcast({}),
      broadcast({ sentCount: 1, version: 2 }),
      broadcast({ sentCount: 1, version: 2 }),
      broadcast({ status: "sent", sentCount: 2, completedAt: START, version: 3 }),
    ];
    let index = 0;
    const stream = progressEventStream({
      initial: progressOf(sequence[0]!),
      poll: async () => ok(progressOf(sequence[Math.min(++index, sequence.length - 1)]!)),
      settled: async () => ok(progressOf(sequence[sequence.length - 1]!)),
      pollMs: 1,
      signal: new AbortController().signal,
      describeError: () => ({ code: "internal", message: "x" }),
    });
    const events = sseReader(stream);
    const received: SseEvent[] = [];
    for (let event = await events.next(); event !== null; event = await events.next()) received.push(event);

    expect(received.map((e) => [e.event, e.data.sent_count ?? e.data.status])).toEqual([
      ["progress", 0],
      ["progress", 1],
      ["progress", 2],
      ["done", "sent"],
    ]);
  });

  it("after a final status, sends the counts once the sends in flight settled, then done", async () => {
    const base = { status: "cancelled" as const, totalRecipients: 4, completedAt: START };
    const cancelledEarly = broadcast({ ...base, sentCount: 1, version: 2 });
    const settled = broadcast({ ...base, sentCount: 3, version: 4 });
    const stream = progressEventStream({
      initial: progressOf(broadcast({})),
      poll: async () => ok(progressOf(cancelledEarly)),
      settled: async () => ok(progressOf(settled)),
      pollMs: 1,
      signal: new AbortController().signal,
      describeError: () => ({ code: "internal", message: "x" }),
    });
    const events = sseReader(stream);
    const received: SseEvent[] = [];
    for (let event = await events.next(); event !== null; event = await events.next()) received.push(event);

    expect(received.map((e) => [e.event, e.data.sent_count ?? e.data.status])).toEqual([
      ["progress", 0],
      ["progress", 1],
      ["progress", 3],
      ["done", "cancelled"],
    ]);
    expect(received.at(-2)?.data).toMatchObject({
      status: "cancelled",
      cancelled_count: 1,
      pending_count: 1,
    });
  });
});
