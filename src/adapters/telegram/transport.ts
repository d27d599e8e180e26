import type { TelegramErrorAnswer } from "../../core/telegram-errors.js";
import type { ChatId, ParseMode } from "../../core/types.js";

/** One `sendMessage` call as the sender makes it, whatever carries it. */
export interface SendMessageCall {
  readonly chatId: ChatId;
  readonly text: string;
  readonly parseMode?: ParseMode;
  readonly paidBroadcast: boolean;
}

/** How a call ended. Transports never throw: every way a call can end is one of these. */
export type TransportAnswer =
  | { readonly type: "ok"; readonly messageId?: number }
  | { readonly type: "error"; readonly answer: TelegramErrorAnswer }
  | { readonly type: "timeout" }
  /** `reason`: a system error code; `detail`: a redacted account for the logger. */
  | { readonly type: "network"; readonly reason?: string; readonly detail: string };

export interface Transport {
  sendMessage(call: SendMessageCall): Promise<TransportAnswer>;
}

/** Runs `work` with an abort signal that fires after `timeoutMs`; tells a timeout apart from other failures. */
export async function withTimeout<T>(
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<{ type: "done"; value: T } | { type: "timeout" } | { type: "threw"; error: unknown }> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return { type: "done", value: await work(controller.signal) };
  } catch (error) {
    return timedOut ? { type: "timeout" } : { type: "threw", error };
  } finally {
    clearTimeout(timer);
  }
}
