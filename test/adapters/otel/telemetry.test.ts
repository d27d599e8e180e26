import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createBroadcastKit, type SendResult } from "broadcastkit";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { createOpenTelemetry, METRICS, reasonBucket, SPANS } from "broadcastkit/otel";
import { createTelegramSender } from "broadcastkit/telegram";
import { botAnswers, createFakeBotApi } from "broadcastkit/testing";
import { describe, expect, it } from "vitest";
import { recipientsFor } from "../../service/support/world.js";

/** An SDK of our own, read on demand: what a host's exporter would receive. */
function sdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  /** Every data point of `name`, as attributes and value (a sum, or a histogram's count). */
  const points = async (name: string) => {
    const collected = await reader.collect();
    const metric = collected.resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((point) => ({
      attributes: point.attributes,
      value: typeof point.value === "number" ? point.value : (point.value as { count: number }).count,
    }));
  };
  return { telemetry: createOpenTelemetry({ meterProvider, tracerProvider }), points, spans };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("OpenTelemetry (broadcastkit/otel)", () => {
  it("counts messages by outcome, kind and reason, times every send, and traces each job run with its writes", async () => {
    const { telemetry, points, spans } = sdk();
    const blocked: SendResult = {
      status: "failed",
      kind: "permanent",
      description: "Forbidden: bot was blocked by the user",
    };
    const timeout: SendResult = { status: "failed", kind: "transient", description: "Network timeout" };
    const queue = createMemoryQueue({ autoRun: true });
    const kit = createBroadcastKit({
      store: createMemoryStore(),
      queue,
      sender: createFakeSender({
        respond: (m) =>
          Number(m.recipientId) % 5 === 0
            ? blocked
            : Number(m.recipientId) % 7 === 0
              ? timeout
              : { status: "delivered" },
      }),
      telemetry,
      worker: { batchSize: 10 },
    });
    await kit.start();
    const created = (
      await kit.service.create({ message: { text: "Hi" }, recipients: recipientsFor(35) })
    )._unsafeUnwrap();
    (await kit.service.start(created.id))._unsafeUnwrap();
    // Everyone answered once: 31 settled, 4 waiting a minute for their retry.
    for (let i = 0; i < 400; i++) {
      const progress = (await kit.service.getProgress(created.id))._unsafeUnwrap();
      if (progress.sentCount + progress.failedCount === 31 && queue.pending().length > 0) break;
      await sleep(10);
    }
    await kit.service.cancel(created.id);
    await kit.stop();

    // 35 recipients: 7 blocked (5, 10, … 35), 4 timing out (7, 14, 21, 28) and waiting for a retry.
    expect(await points(METRICS.delivered)).toEqual([{ attributes: {}, value: 24 }]);
    expect(await points(METRICS.failed)).toEqual([
      {
        attributes: {
          "broadcastkit.failure.kind": "permanent",
          "broadcastkit.failure.reason": "Forbidden: bot was blocked by the user",
        },
        value: 7,
      },
    ]);
    expect(await points(METRICS.retried)).toEqual([
      {
        attributes: {
          "broadcastkit.failure.kind": "transient",
          "broadcastkit.failure.reason": "Network timeout",
        },
        value: 4,
      },
    ]);
    const durations = await points(METRICS.sendDuration);
    expect(durations.reduce((sum, point) => sum + point.value, 0)).toBe(35);
    expect(await points(METRICS.inFlight)).toEqual([{ attributes: {}, value: 0 }]);
    expect(
      (await points(METRICS.queueLag)).reduce((sum, point) => sum + point.value, 0),
    ).toBeGreaterThanOrEqual(1);
    const transitions = await points(METRICS.transitions);
    expect(transitions).toEqual(
      expect.arrayContaining([
        {
          attributes: {
            "broadcastkit.broadcast.status": "sending",
            "broadcastkit.broadcast.previous_status": "draft",
          },
          value: 1,
        },
        {
          attributes: {
            "broadcastkit.broadcast.status": "cancelled",
            "broadcastkit.broadcast.previous_status": "sending",
          },
          value: 1,
        },
      ]),
    );

    const finished = spans.getFinishedSpans();
    const runs = finished.filter((span) => span.name === SPANS.jobRun);
    const flushes = finished.filter((span) => span.name === SPANS.flush);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs[0]?.attributes).toMatchObject({
      "broadcastkit.broadcast.id": created.id,
      "broadcastkit.job.id": expect.any(String),
      "broadcastkit.job.stopped_because": "waiting",
    });
    expect(flushes.length).toBeGreaterThanOrEqual(4);
    const runIds = new Set(runs.map((span) => span.spanContext().spanId));
    expect(flushes.every((span) => runIds.has(span.parentSpanContext?.spanId ?? ""))).toBe(true);
    expect(
      flushes.reduce((sum, span) => sum + Number(span.attributes["broadcastkit.flush.outcomes"]), 0),
    ).toBe(35);
  });

  it("records the waits Telegram asks for", async () => {
    const { telemetry, points } = sdk();
    const api = createFakeBotApi();
    const { url } = await api.start();
    try {
      api.answerNext(botAnswers.tooManyRequests(1));
      const sender = createTelegramSender({ token: "1:secret", apiRoot: url, telemetry });
      await sender.send({ chatId: 1, text: "x", idempotencyKey: "k", broadcastId: 1, recipientId: 1 });
      expect(await points(METRICS.throttleDuration)).toEqual([{ attributes: {}, value: 1 }]);
    } finally {
      await api.close();
    }
  });

  it("folds digits in failure reasons so a reason cannot grow the series without bound", () => {
    expect(reasonBucket("Too Many Requests: retry after 17")).toBe("Too Many Requests: retry after #");
    expect(reasonBucket("x".repeat(500))).toHaveLength(100);
  });

  it("records nothing and throws nothing without an SDK", async () => {
    const telemetry = createOpenTelemetry();
    const span = telemetry.jobRun({ broadcastId: 1, jobId: null, part: 0, onlyFailed: false });
    telemetry.flush(span, { broadcastId: 1, epoch: 1, outcomes: 1 }).end();
    telemetry.sendSettled({ broadcastId: 1, outcome: "delivered", kind: null, reason: null, durationMs: 3 });
    span.end();
    await sleep(1);
  });

  it("a telemetry that throws never fails a send", async () => {
    const queue = createMemoryQueue({ autoRun: true });
    const exploding = new Proxy(createOpenTelemetry(), {
      get: () => () => {
        throw new Error("exporter down");
      },
    });
    const kit = createBroadcastKit({
      store: createMemoryStore(),
      queue,
      sender: createFakeSender(),
      telemetry: exploding,
    });
    await kit.start();
    const created = (
      await kit.service.create({ message: { text: "Hi" }, recipients: recipientsFor(5) })
    )._unsafeUnwrap();
    (await kit.service.start(created.id))._unsafeUnwrap();
    await queue.idle();
    expect((await kit.service.getProgress(created.id))._unsafeUnwrap()).toMatchObject({
      status: "sent",
      sentCount: 5,
    });
    await kit.stop();
  });
});
