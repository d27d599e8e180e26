import type { Logger } from "../ports/logger.js";
import type { Telemetry, TelemetrySpan } from "../ports/telemetry.js";

const noSpan: TelemetrySpan = { setAttributes: () => {}, end: () => {} };

/** Telemetry that records nothing: the default. */
export const noTelemetry: Telemetry = {
  jobRun: () => noSpan,
  flush: () => noSpan,
  sendSettled: () => {},
  inFlight: () => {},
  throttled: () => {},
  queueLag: () => {},
  statusChanged: () => {},
};

/**
 * The host's telemetry, made harmless: a call that throws is logged once per kind and ignored, so
 * telemetry can never fail a send or a status change.
 */
export function guardTelemetry(telemetry: Telemetry | undefined, logger: Logger): Telemetry {
  if (telemetry === undefined) return noTelemetry;
  const reported = new Set<string>();
  const report = (call: string, cause: unknown) => {
    if (reported.has(call)) return;
    reported.add(call);
    logger.warn({ err: cause, call }, "telemetry call failed; ignoring it from now on");
  };
  /** The host's own span behind each guarded one: a child span is started from the host's. */
  const inner = new WeakMap<TelemetrySpan, TelemetrySpan>();
  const guardSpan = (span: TelemetrySpan): TelemetrySpan => {
    const guarded: TelemetrySpan = {
      setAttributes: (attributes) => {
        try {
          span.setAttributes(attributes);
        } catch (cause) {
          report("span.setAttributes", cause);
        }
      },
      end: (error) => {
        try {
          span.end(error);
        } catch (cause) {
          report("span.end", cause);
        }
      },
    };
    inner.set(guarded, span);
    return guarded;
  };
  const safely =
    <A extends unknown[]>(call: keyof Telemetry, run: (...args: A) => void) =>
    (...args: A): void => {
      try {
        run(...args);
      } catch (cause) {
        report(call, cause);
      }
    };
  return {
    jobRun: (run) => {
      try {
        return guardSpan(telemetry.jobRun(run));
      } catch (cause) {
        report("jobRun", cause);
        return noSpan;
      }
    },
    flush: (parent, flush) => {
      try {
        return guardSpan(telemetry.flush(inner.get(parent) ?? parent, flush));
      } catch (cause) {
        report("flush", cause);
        return noSpan;
      }
    },
    sendSettled: safely("sendSettled", (send) => telemetry.sendSettled(send)),
    inFlight: safely("inFlight", (delta: number) => telemetry.inFlight(delta)),
    throttled: safely("throttled", (waitMs: number) => telemetry.throttled(waitMs)),
    queueLag: safely("queueLag", (lagMs: number) => telemetry.queueLag(lagMs)),
    statusChanged: safely("statusChanged", (change) => telemetry.statusChanged(change)),
  };
}
