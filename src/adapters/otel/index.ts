export {
  createOpenTelemetry,
  METRICS,
  type OpenTelemetryOptions,
  reasonBucket,
  SPANS,
} from "./telemetry.js";
