import type { Logger } from "../../../src/ports/logger.js";
import type { RecordedBotRequest } from "../../../src/testing/fake-bot-api.js";

/** A token of Telegram's shape; tests grep every output for it. */
export const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

/** The most requests that arrived within any window of `windowMs`, wherever it starts. */
export function mostInAnyWindow(requests: readonly RecordedBotRequest[], windowMs: number): number {
  const times = requests.map((r) => r.at.getTime()).sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/**
 * The most requests in any window of `windowMs` if `chatId`'s call had arrived at any moment
 * between when it did and `latestMs` after: what a pacer that cannot see the way there must allow for.
 */
export function mostInAnyWindowIfLate(
  requests: readonly RecordedBotRequest[],
  chatId: number,
  latestMs: number,
  windowMs = 1000,
): number {
  let most = 0;
  for (let delay = 0; delay <= latestMs; delay += 25) {
    const shifted = requests.map((r) =>
      r.chatId === chatId ? { ...r, at: new Date(r.at.getTime() + delay) } : r,
    );
    most = Math.max(most, mostInAnyWindow(shifted, windowMs));
  }
  return most;
}

/** Gaps between consecutive requests, in ms. */
export const gapsOf = (requests: readonly RecordedBotRequest[]): number[] =>
  requests.slice(1).map((r, i) => r.at.getTime() - (requests[i]?.at.getTime() ?? 0));

export interface LogLine {
  readonly level: keyof Logger;
  readonly fields: object;
  readonly message: string | undefined;
}

/** A logger that keeps every call, so tests can read (and grep) what was logged. */
export function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof Logger) =>
    (fields: object, message?: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const message = (chatId: number | string, text = "hello", recipientId: number | string = chatId) => ({
  chatId,
  text,
  idempotencyKey: `broadcast:1:recipient:${recipientId}`,
  broadcastId: 1,
  recipientId,
});
