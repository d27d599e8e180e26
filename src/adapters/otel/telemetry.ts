import {
  type Attributes,
  context,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import type { Telemetry, TelemetrySpan } from "../../ports/telemetry.js";

export interface OpenTelemetryOptions {
  /** Default: the global one (`metrics.getMeterProvider()`), a no-op until the host installs an SDK. */
  readonly meterProvider?: MeterProvider;
  /** Default: the global one (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider;
}

const SCOPE = "broadcastkit";

/** Metric and span names, as `docs/telemetry.md` lists them. */
export const METRICS = {
  delivered: "broadcastkit.messages.delivered",
  failed: "broadcastkit.messages.failed",
  retried: "broadcastkit.messages.retried",
  released: "broadcastkit.messages.released",
  inFlight: "broadcastkit.messages.in_flight",
  sendDuration: "broadcastkit.send.duration",
  throttleDuration: "broadcastkit.telegram.throttle.duration",
  queueLag: "broadcastkit.job.queue_lag",
  transitions: "broadcastkit.broadcast.transitions",
} as const;

export const SPANS = { jobRun: "broadcastkit.send_job", flush: "broadcastkit.flush" } as const;

/**
 * Failure texts as metric attributes: digits folded into `#` ("retry after 5" and "retry after
 * 7" are one series) and at most 100 characters, so a hostile upstream cannot grow the series.
 */
export const reasonBucket = (reason: string): string => reason.replace(/\d+/g, "#").slice(0, 100);

const seconds = (ms: number) => ms / 1000;

class OtelSpan implements TelemetrySpan {
  constructor(readonly span: Span) {}
  setAttributes(attributes: Readonly<Record<string, string | number | boolean>>): void {
    this.span.setAttributes(attributes);
  }
  end(error?: string): void {
    if (error !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.span.end();
  }
}

/**
 * The telemetry port on OpenTelemetry's API only (`@opentelemetry/api`, an optional peer): it
 * records nothing until the host registers an SDK (or passes providers). Metric names follow
 * OpenTelemetry's naming style (dot-separated, units in UCUM: durations in seconds); no metric
 * carries a broadcast id (spans do), so the number of series stays bounded.
 */
export function createOpenTelemetry(options: OpenTelemetryOptions = {}): Telemetry {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);

  const messages = (name: string, description: string) =>
    meter.createCounter(name, { description, unit: "{message}" });
  const delivered = messages(METRICS.delivered, "Messages the platform accepted.");
  const failed = messages(METRICS.failed, "Messages that failed for good, by failure kind and reason.");
  const retried = messages(METRICS.retried, "Sends that failed transiently and wait for a later attempt.");
  const released = messages(
    METRICS.released,
    "Claimed recipients left pending unsent (the run stopped, or the message was refused).",
  );
  const inFlight = meter.createUpDownCounter(METRICS.inFlight, {
    description: "Sends handed to the sender and not answered yet.",
    unit: "{message}",
  });
  const histogram = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: "s" });
  const sendDuration = histogram(
    METRICS.sendDuration,
    "From handing a message to the sender to its answer, pacing waits included.",
  );
  const throttle = histogram(METRICS.throttleDuration, "Waits Telegram asked for (429 retry_after).");
  const queueLag = histogram(METRICS.queueLag, "How long after it was due a send job started running.");
  const transitions = meter.createCounter(METRICS.transitions, {
    description: "Stored status changes of broadcasts, by the status reached.",
    unit: "{transition}",
  });

  return {
    jobRun(run) {
      const attributes: Attributes = {
        "broadcastkit.broadcast.id": run.broadcastId,
        "broadcastkit.job.part": run.part,
        "broadcastkit.job.only_failed": run.onlyFailed,
      };
      if (run.jobId !== null) attributes["broadcastkit.job.id"] = run.jobId;
      return new OtelSpan(tracer.startSpan(SPANS.jobRun, { kind: SpanKind.CONSUMER, attributes }));
    },
    flush(parent, flush) {
      const parentContext =
        parent instanceof OtelSpan ? trace.setSpan(context.active(), parent.span) : context.active();
      const span = tracer.startSpan(
        SPANS.flush,
        {
          attributes: {
            "broadcastkit.broadcast.id": flush.broadcastId,
            "broadcastkit.lease.epoch": flush.epoch,
            "broadcastkit.flush.outcomes": flush.outcomes,
          },
        },
        parentContext,
      );
      return new OtelSpan(span);
    },
    sendSettled(send) {
      sendDuration.record(seconds(send.durationMs), { "broadcastkit.send.outcome": send.outcome });
      const attributes: Attributes = {};
      if (send.kind !== null) attributes["broadcastkit.failure.kind"] = send.kind;
      if (send.reason !== null) attributes["broadcastkit.failure.reason"] = reasonBucket(send.reason);
      if (send.outcome === "delivered") delivered.add(1);
      else if (send.outcome === "failed") failed.add(1, attributes);
      else if (send.outcome === "retry") retried.add(1, attributes);
      else released.add(1, attributes);
    },
    inFlight(delta) {
      inFlight.add(delta);
    },
    throttled(waitMs) {
      throttle.record(seconds(waitMs));
    },
    queueLag(lagMs) {
      queueLag.record(seconds(lagMs));
    },
    statusChanged(change) {
      transitions.add(1, {
        "broadcastkit.broadcast.status": change.to,
        "broadcastkit.broadcast.previous_status": change.from,
      });
    },
  };
}
