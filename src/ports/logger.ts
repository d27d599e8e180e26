/**
 * # The logger port: structured logs, pino-compatible
 *
 * Every call passes an object of fields first and an optional message, as pino, bunyan and
 * winston's child loggers accept: `logger.info({ broadcastId }, "broadcast started")`.
 * A pino logger fits this port as it is.
 *
 * The library logs causes of storage and sender failures here and never in responses. It never
 * logs message texts' variables or tokens. Logging must not throw; if it does, the library goes on.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}
