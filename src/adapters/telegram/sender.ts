import type { SendResult } from "../../core/outcome.js";
import {
  classifyTelegramError,
  classifyTransportFailure,
  type FailedSendResult,
} from "../../core/telegram-errors.js";
import type { Clock } from "../../ports/clock.js";
import type { Logger } from "../../ports/logger.js";
import type { MessageSender, OutgoingMessage, SendOptions } from "../../ports/sender.js";
import type { Telemetry } from "../../ports/telemetry.js";
import { silentLogger, systemClock } from "../../service/defaults.js";
import { guardTelemetry } from "../../service/telemetry.js";
import { createFetchTransport } from "./fetch-transport.js";
import { createGrammyTransport, type GrammyApi } from "./grammy-transport.js";
import { createMemoryRateLimiter } from "./memory-rate-limiter.js";
import {
  type RateLimiterFactory,
  type RateLimiterSettings,
  realSleep,
  type Sleep,
  TELEGRAM_DEFAULT_LIMITS,
  type TelegramLimits,
  type TelegramRateLimiter,
  type Turn,
} from "./rate-limiter.js";
import { describeError, redactToken } from "./redact.js";
import type { Transport, TransportAnswer } from "./transport.js";

interface CommonOptions {
  /** Longest wait for one call's answer, body included; then the send is a transient "Network timeout". */
  readonly timeoutMs?: number;
  /** Overrides Telegram's published limits, field by field. */
  readonly limits?: Partial<TelegramLimits>;
  /** Sends `allow_paid_broadcast` (charged in Stars) and lifts the overall limit to `limits.paidPerSecond`. */
  readonly paidBroadcast?: boolean;
  /**
   * Where limits are counted: this process by default; `redisRateLimiter({ redis })` shares them,
   * and 429 pauses, with every process using the same Redis and key prefix.
   */
  readonly rateLimiter?: TelegramRateLimiter | RateLimiterFactory;
  readonly logger?: Logger;
  /** Told of every 429 wait (`broadcastkit/otel`'s `broadcastkit.telegram.throttle.duration`). */
  readonly telemetry?: Telemetry;
  /** Drives the pacing. A clock with an `advance(ms)` method (a manual clock) is also used to wait, unless `sleep` is given. */
  readonly clock?: Clock;
  /** How the pacer waits; defaults to timers, or to `clock.advance` for a manual clock. */
  readonly sleep?: Sleep;
}

export interface FetchSenderOptions extends CommonOptions {
  /** The bot token from @BotFather. It is never logged nor returned, even inside error messages. */
  readonly token: string;
  /** Default `https://api.telegram.org`; point it at a local Bot API server or at `createFakeBotApi`. */
  readonly apiRoot?: string;
  /** Default: the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  readonly api?: never;
}

export interface GrammySenderOptions extends CommonOptions {
  /** A grammY `Api`, usually `bot.api`: calls go through it, with its transformers. */
  readonly api: GrammyApi;
  readonly token?: never;
  readonly apiRoot?: never;
  readonly fetch?: never;
}

export type TelegramSenderOptions = FetchSenderOptions | GrammySenderOptions;

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The `MessageSender` for the Telegram Bot API. Each `send` waits for its turn under the bot's
 * limits, calls `sendMessage` once and answers with a `SendResult`; it never throws. A 429 pauses
 * every later call of the bot for its `retry_after`. A chat that migrated to a supergroup is
 * reported as a transient failure carrying `migrateToChatId`: the worker resends to the new id and
 * records it on the recipient (a `SendResult` cannot say "delivered, but elsewhere").
 *
 * When `options.signal` aborts while the call still waits for its turn, it answers `not_sent`
 * without calling Telegram (an already-aborted signal answers so at once). A call that got its
 * turn is never abandoned: its real outcome is answered, whatever the signal does meanwhile.
 */
export function createTelegramSender(options: TelegramSenderOptions): MessageSender {
  const token = options.api === undefined ? options.token : options.api.token;
  const logger = options.logger ?? silentLogger;
  const telemetry = guardTelemetry(options.telemetry, logger);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const paidBroadcast = options.paidBroadcast ?? false;
  const transport: Transport =
    options.api === undefined
      ? createFetchTransport({
          token: options.token,
          apiRoot: options.apiRoot ?? "https://api.telegram.org",
          fetch: options.fetch ?? globalThis.fetch,
          timeoutMs,
        })
      : createGrammyTransport(options.api, timeoutMs);
  const limiter = rateLimiterOf(options, {
    limits: { ...TELEGRAM_DEFAULT_LIMITS, ...options.limits },
    paidBroadcast,
    clock: options.clock ?? systemClock,
    sleep: options.sleep ?? sleepOf(options.clock),
    logger,
    botId: token?.split(":")[0] || "bot",
    timeoutMs,
  });
  const redact = (text: string) => redactToken(text, token);
  const log = (level: keyof Logger, fields: object, message: string) => {
    try {
      logger[level](fields, message);
    } catch {
      // A failing logger must not fail a send.
    }
  };

  return {
    async send(message: OutgoingMessage, options: SendOptions = {}): Promise<SendResult> {
      const { signal } = options;
      if (signal?.aborted) return { status: "not_sent" };
      const context = {
        broadcastId: message.broadcastId,
        recipientId: message.recipientId,
        chatId: message.chatId,
      };
      let turn: Turn;
      try {
        turn = await limiter.acquire(message.chatId, signal === undefined ? {} : { signal });
      } catch (error) {
        log(
          "error",
          { ...context, error: describeError(error, token) },
          "telegram rate limiter failed; not sent",
        );
        return { status: "failed", kind: "transient", description: "Rate limiter unavailable" };
      }
      if (turn.type === "aborted") return { status: "not_sent" };
      // From here on the call is made and its outcome answered: the signal no longer applies.
      let answer: TransportAnswer;
      try {
        answer = await transport.sendMessage({
          chatId: message.chatId,
          text: message.text,
          ...(message.parseMode === undefined ? {} : { parseMode: message.parseMode }),
          paidBroadcast,
        });
      } catch (error) {
        // Transports do not throw; this guards the port's promise all the same.
        answer = { type: "network", detail: describeError(error, token) };
      } finally {
        turn.answered();
      }
      if (answer.type === "ok") {
        return answer.messageId === undefined
          ? { status: "delivered" }
          : { status: "delivered", messageId: answer.messageId };
      }
      const classified = classify(answer);
      const result: FailedSendResult = { ...classified, description: redact(classified.description) };
      if (result.retryAfterMs !== undefined) {
        log(
          "warn",
          { ...context, retryAfterMs: result.retryAfterMs },
          "telegram flood control: pausing the bot",
        );
        telemetry.throttled(result.retryAfterMs);
        try {
          await limiter.pause(result.retryAfterMs);
        } catch (error) {
          log(
            "error",
            { ...context, error: describeError(error, token) },
            "telegram rate limiter could not store the pause",
          );
        }
      }
      // Blocked users are routine in a broadcast; what may need a human is logged louder.
      log(
        result.kind === "permanent" ? "info" : "warn",
        { ...context, ...failureFields(answer, result, redact) },
        "telegram send failed",
      );
      return result;
    },
  };
}

function classify(answer: Exclude<TransportAnswer, { type: "ok" }>): FailedSendResult {
  switch (answer.type) {
    case "error":
      return classifyTelegramError(answer.answer);
    case "timeout":
      return classifyTransportFailure({ type: "timeout" });
    case "network":
      return classifyTransportFailure(
        answer.reason === undefined ? { type: "network" } : { type: "network", reason: answer.reason },
      );
  }
}

function failureFields(
  answer: Exclude<TransportAnswer, { type: "ok" }>,
  result: FailedSendResult,
  redact: (text: string) => string,
): object {
  const fields: Record<string, unknown> = { kind: result.kind, description: result.description };
  if (answer.type === "error") fields.errorCode = answer.answer.error_code ?? answer.answer.status;
  if (answer.type === "network") fields.cause = redact(answer.detail);
  if (result.migrateToChatId !== undefined) fields.migrateToChatId = result.migrateToChatId;
  return fields;
}

function rateLimiterOf(options: CommonOptions, settings: RateLimiterSettings): TelegramRateLimiter {
  const given = options.rateLimiter;
  if (given === undefined) return createMemoryRateLimiter(settings);
  return typeof given === "function" ? given(settings) : given;
}

/** A manual clock (one with `advance`) is waited on by advancing it, so simulated time paces itself. */
function sleepOf(clock: Clock | undefined): Sleep {
  const advance = (clock as { advance?: unknown } | undefined)?.advance;
  if (typeof advance !== "function") return realSleep;
  return async (ms) => {
    advance.call(clock, ms);
  };
}
