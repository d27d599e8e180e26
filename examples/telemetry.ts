/**
 * Logs, metrics and traces of a broadcast, as a production host wires them:
 * `npx tsx examples/telemetry.ts`.
 *
 * - pino is the logger (it fits the `Logger` port as it is): every line of a send job carries its
 *   `broadcastId` and `jobId`.
 * - OpenTelemetry's SDK collects what `broadcastkit/otel` records; here it prints to the console.
 *   A real host registers its SDK (OTLP exporters, a collector) once at start-up instead.
 */
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createBroadcastKit, formatBroadcastError } from "broadcastkit";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { createOpenTelemetry } from "broadcastkit/otel";
import { pino } from "pino";

const logger = pino({ level: "info" });
const reader = new PeriodicExportingMetricReader({
  exporter: new ConsoleMetricExporter(),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
});
const telemetry = createOpenTelemetry({ meterProvider, tracerProvider });

const queue = createMemoryQueue({ autoRun: true });
const kit = createBroadcastKit({
  store: createMemoryStore(),
  queue,
  // Chats ending in 3 blocked the bot: something for the failure metrics to count.
  sender: createFakeSender({
    respond: (message) =>
      String(message.chatId).endsWith("3")
        ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
        : { status: "delivered" },
  }),
  logger,
  telemetry,
});
await kit.start();

const created = await kit.service.create({
  message: { text: "Service update at 22:00 UTC" },
  recipients: Array.from({ length: 200 }, (_, i) => ({ recipientId: i + 1, chatId: 5000 + i })),
});
if (created.isErr()) throw new Error(formatBroadcastError(created.error));
await kit.service.start(created.value.id);
await queue.idle();
await kit.stop();
// Export what was recorded now rather than at the next interval.
await reader.forceFlush();
await meterProvider.shutdown();
await tracerProvider.shutdown();
