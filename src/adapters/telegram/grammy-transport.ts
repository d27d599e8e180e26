import type { TelegramErrorAnswer, TelegramResponseParameters } from "../../core/telegram-errors.js";
import type { ParseMode } from "../../core/types.js";
import { describeError, networkReason } from "./redact.js";
import type { Transport, TransportAnswer } from "./transport.js";
import { withTimeout } from "./transport.js";

/** The options of `sendMessage` the sender sets. */
export interface GrammySendOptions {
  readonly parse_mode?: ParseMode;
  readonly allow_paid_broadcast?: boolean;
}

/**
 * The signal the sender passes is a standard `AbortSignal`; grammY types its parameter with the
 * abort-controller polyfill's class. This is what the two have in common, so that `bot.api` fits.
 */
export interface GrammyAbortSignal {
  readonly aborted: boolean;
}

/**
 * What the sender needs of a grammY `Api` (`bot.api`): its `sendMessage`, and its token for
 * redaction. Written by shape, so that neither this package's code nor its type declarations
 * import grammY: a host that does not use it needs neither the package nor its types.
 */
export interface GrammyApi {
  sendMessage(
    chatId: number | string,
    text: string,
    other?: GrammySendOptions,
    signal?: GrammyAbortSignal,
  ): Promise<{ readonly message_id: number }>;
  readonly token?: string;
}

/**
 * `sendMessage` through a host's grammY `Api`, so its transformers (auto-retry, throttler, …) and
 * client options apply. Nothing of grammY is imported: the `Api` and its errors are recognised by
 * their shape, which also works whichever copy or version of grammY the host has.
 */
export function createGrammyTransport(api: GrammyApi, timeoutMs: number): Transport {
  return {
    async sendMessage(call) {
      const other: GrammySendOptions = {
        ...(call.parseMode === undefined ? {} : { parse_mode: call.parseMode }),
        ...(call.paidBroadcast ? { allow_paid_broadcast: true } : {}),
      };
      const outcome = await withTimeout(timeoutMs, (signal) =>
        api.sendMessage(call.chatId, call.text, other, signal),
      );
      if (outcome.type === "done") {
        const { message_id } = outcome.value;
        return typeof message_id === "number" ? { type: "ok", messageId: message_id } : { type: "ok" };
      }
      if (outcome.type === "timeout") return { type: "timeout" };
      return answerOfError(outcome.error, api.token);
    },
  };
}

/** grammY's `GrammyError`: the Bot API answered with an error. */
interface GrammyErrorShape {
  readonly error_code: number;
  readonly description: string;
  readonly parameters?: TelegramResponseParameters;
}

const isGrammyError = (error: unknown): error is GrammyErrorShape =>
  typeof error === "object" &&
  error !== null &&
  typeof (error as { error_code?: unknown }).error_code === "number" &&
  typeof (error as { description?: unknown }).description === "string";

function answerOfError(error: unknown, token: string | undefined): TransportAnswer {
  if (isGrammyError(error)) {
    const answer: TelegramErrorAnswer = {
      error_code: error.error_code,
      description: error.description,
      ...(error.parameters === undefined ? {} : { parameters: error.parameters }),
    };
    return { type: "error", answer };
  }
  // grammY's `HttpError` (the request failed; the cause is in `.error`), or anything a
  // transformer threw: no answer from Telegram either way.
  const reason = networkReason(error);
  return {
    type: "network",
    ...(reason === undefined ? {} : { reason }),
    detail: describeError(error, token),
  };
}
