import type { TelegramErrorAnswer, TelegramResponseParameters } from "../../core/telegram-errors.js";
import { describeError, networkReason } from "./redact.js";
import type { SendMessageCall, Transport, TransportAnswer } from "./transport.js";
import { withTimeout } from "./transport.js";

export interface FetchTransportOptions {
  readonly token: string;
  readonly apiRoot: string;
  readonly fetch: typeof globalThis.fetch;
  readonly timeoutMs: number;
}

/** The Bot API's `sendMessage` over HTTP: `POST {apiRoot}/bot{token}/sendMessage` with a JSON body. */
export function createFetchTransport(options: FetchTransportOptions): Transport {
  const url = `${options.apiRoot.replace(/\/+$/, "")}/bot${options.token}/sendMessage`;
  return {
    async sendMessage(call) {
      const outcome = await withTimeout(options.timeoutMs, async (signal) => {
        const response = await options.fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(requestBody(call)),
          signal,
        });
        // Reading the body is inside the timeout: a server may send headers and then stall.
        return answerOf(response.status, await response.text());
      });
      if (outcome.type === "done") return outcome.value;
      if (outcome.type === "timeout") return { type: "timeout" };
      const reason = networkReason(outcome.error);
      return {
        type: "network",
        ...(reason === undefined ? {} : { reason }),
        detail: describeError(outcome.error, options.token),
      };
    },
  };
}

function requestBody(call: SendMessageCall): Record<string, unknown> {
  return {
    chat_id: call.chatId,
    text: call.text,
    ...(call.parseMode === undefined ? {} : { parse_mode: call.parseMode }),
    ...(call.paidBroadcast ? { allow_paid_broadcast: true } : {}),
  };
}

/** Reads the Bot API's `{ ok, result | error_code, description, parameters }`; anything else is an HTTP error. */
function answerOf(status: number, body: string): TransportAnswer {
  const payload = parseJson(body);
  if (isRecord(payload) && payload.ok === true) {
    const result = isRecord(payload.result) ? payload.result : {};
    return typeof result.message_id === "number"
      ? { type: "ok", messageId: result.message_id }
      : { type: "ok" };
  }
  if (isRecord(payload) && payload.ok === false) {
    const answer: TelegramErrorAnswer = {
      status,
      ...(typeof payload.error_code === "number" ? { error_code: payload.error_code } : {}),
      ...(typeof payload.description === "string" ? { description: payload.description } : {}),
      ...(isRecord(payload.parameters) ? { parameters: parametersOf(payload.parameters) } : {}),
    };
    return { type: "error", answer };
  }
  // Not the Bot API speaking (a proxy's error page, a truncated body): only the status is known.
  const description = status >= 200 && status < 300 ? `Unexpected answer (HTTP ${status})` : `HTTP ${status}`;
  return { type: "error", answer: { status, description } };
}

function parametersOf(raw: Record<string, unknown>): TelegramResponseParameters {
  const { retry_after, migrate_to_chat_id } = raw;
  return {
    ...(typeof retry_after === "number" ? { retry_after } : {}),
    ...(typeof migrate_to_chat_id === "number" ? { migrate_to_chat_id } : {}),
  };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
