import { Webhook } from "standardwebhooks";
import type { WebhookRequest, WebhookResponse, WebhookTransport } from "../../ports/webhook-transport.js";

export interface WebhookTransportOptions {
  /** The fetch to send with (default the global one): a proxy's, or a test's. */
  readonly fetch?: typeof fetch;
  /** Sent as `user-agent` (default `broadcastkit-webhooks`). */
  readonly userAgent?: string;
}

/** What a failed request is called in the delivery log: short, and never the body or the secret. */
function reasonOf(cause: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const code = (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code === "string") return `network error: ${code}`;
  return cause instanceof Error && cause.name === "AbortError" ? "aborted" : "network error";
}

/**
 * Webhooks over `fetch`, signed per the Standard Webhooks specification by the `standardwebhooks`
 * package: `webhook-id` (the event's id, the same for every attempt), `webhook-timestamp` (seconds,
 * the attempt's time) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
 * `id.timestamp.body` with the endpoint's secret). Redirects are not followed; the response body is
 * discarded unread.
 */
export function createWebhookTransport(options: WebhookTransportOptions = {}): WebhookTransport {
  const send = options.fetch ?? globalThis.fetch;
  const userAgent = options.userAgent ?? "broadcastkit-webhooks";
  const signers = new Map<string, Webhook>();
  const signerFor = (secret: string): Webhook => {
    let signer = signers.get(secret);
    if (signer === undefined) {
      signer = new Webhook(secret);
      signers.set(secret, signer);
    }
    return signer;
  };

  return {
    async post(request: WebhookRequest): Promise<WebhookResponse> {
      const timeout = AbortSignal.timeout(request.timeoutMs);
      const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
      try {
        const signature = signerFor(request.secret).sign(request.messageId, request.timestamp, request.body);
        const response = await send(request.url, {
          method: "POST",
          redirect: "manual",
          signal,
          headers: {
            "content-type": "application/json",
            "user-agent": userAgent,
            "webhook-id": request.messageId,
            "webhook-timestamp": String(Math.floor(request.timestamp.getTime() / 1000)),
            "webhook-signature": signature,
          },
          body: request.body,
        });
        await response.body?.cancel().catch(() => undefined);
        return { type: "answered", status: response.status };
      } catch (cause) {
        return { type: "unreachable", error: reasonOf(cause, timeout.aborted, request.timeoutMs) };
      }
    },
  };
}
