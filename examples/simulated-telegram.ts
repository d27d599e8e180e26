/**
 * A simulated Telegram for the demos: the real `createTelegramSender` (pacing, 429 handling,
 * error classification) talking to `createFakeBotApi()` in-process, with a network round trip and
 * a failure mix decided by chat id, so any list of chats (a CSV you upload in the dashboard too)
 * meets the same failures:
 *
 * | chat id ends in (mod 50) | answer                                   | kind                 |
 * | ------------------------ | ---------------------------------------- | -------------------- |
 * | 7                        | 403 Forbidden: bot was blocked by the user | permanent, always  |
 * | 13                       | 400 Bad Request: chat not found            | permanent, always  |
 * | 29                       | 502 Bad Gateway, the first time only       | transient: retried |
 * | 33                       | 403 Forbidden: user is deactivated, first time only | permanent; a manual retry with "include permanent" delivers it |
 *
 * Nothing leaves the process.
 */
import type { MessageSender } from "broadcastkit";
import { createTelegramSender } from "broadcastkit/telegram";
import {
  type BotAnswer,
  botAnswers,
  createFakeBotApi,
  type FakeBotApi,
  type FakeLatency,
} from "broadcastkit/testing";

export interface SimulatedTelegramOptions {
  /** The simulated round trip; default 100 ± 30 ms. */
  readonly latency?: FakeLatency;
  /** Telegram's limit per second for the bot; default 30 (its free limit). */
  readonly perSecond?: number;
}

export interface SimulatedTelegram {
  readonly sender: MessageSender;
  readonly api: FakeBotApi;
}

/** The answer a chat gets on its `attempt`-th message (1 = first), or `undefined` for success. */
export function failureMix(chatId: number, attempt: number): BotAnswer | undefined {
  switch (((chatId % 50) + 50) % 50) {
    case 7:
      return botAnswers.forbidden("bot was blocked by the user");
    case 13:
      return botAnswers.badRequest("chat not found");
    case 29:
      return attempt === 1 ? botAnswers.serverError(502) : undefined;
    case 33:
      return attempt === 1 ? botAnswers.forbidden("user is deactivated") : undefined;
    default:
      return undefined;
  }
}

/** The chat id of a `sendMessage` call, read from its JSON body; `undefined` when it has none. */
function chatIdOf(init: RequestInit | undefined): number | undefined {
  if (typeof init?.body !== "string") return undefined;
  try {
    const chatId = (JSON.parse(init.body) as { chat_id?: unknown }).chat_id;
    return typeof chatId === "number" ? chatId : undefined;
  } catch {
    return undefined;
  }
}

export function simulatedTelegram(options: SimulatedTelegramOptions = {}): SimulatedTelegram {
  const api = createFakeBotApi({ latency: options.latency ?? { baseMs: 100, jitterMs: 30 } });
  const attempts = new Map<number, number>();
  const fetchWithFailures: typeof globalThis.fetch = (input, init) => {
    const chatId = chatIdOf(init);
    if (chatId !== undefined) {
      const attempt = (attempts.get(chatId) ?? 0) + 1;
      attempts.set(chatId, attempt);
      const answer = failureMix(chatId, attempt);
      if (answer !== undefined) api.answerChat(chatId, answer);
    }
    return api.fetch(input, init);
  };
  const sender = createTelegramSender({
    token: "123456:simulated",
    apiRoot: "http://telegram.simulated",
    fetch: fetchWithFailures,
    ...(options.perSecond === undefined ? {} : { limits: { perSecond: options.perSecond } }),
  });
  return { sender, api };
}
