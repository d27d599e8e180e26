import type { Api } from "grammy";
import type { TelegramErrorAnswer, TelegramResponseParameters } from "../../core/telegram-errors.js";
import { describeError, networkReason } from "./redact.js";
import type { Transport, TransportAnswer } from "./transport.js";
import { withTimeout } from "./transport.js";

/** What the sender needs of a grammY `Api` (`bot.api`): its `sendMessage`, and its token for redaction. */
export type GrammyApi = Pick<Api, "sendMessage"> & { readonly token?: string };

type GrammySignal = Parameters<GrammyApi["sendMessage"]>[3];

/**
 * `sendMessage` through a host's grammY `Api`, so its transformers (auto-retry, throttler, …) and
 * client options apply. grammY is only a type here: errors are recognised by their shape, which
 * also works when the host's grammY is another copy than the one this package would import.
 */
export function createGrammyTransport(api: GrammyApi, timeoutMs: number): Transport {
  return {
    async sendMessage(call) {
      const other = {
        ...(call.parseMode === undefined ? {} : { parse_mode: call.parseMode }),
        ...(call.paidBroadcast ? { allow_paid_broadcast: true } : {}),
      };
      const outcome = await withTimeout(timeoutMs, (signal) =>
        // grammY types its signal with the abort-controller polyfill; the standard one works at run time.
        api.sendMessage(call.chatId, call.text, other, signal as GrammySignal),
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
