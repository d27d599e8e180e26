/**
 * # The webhook transport port: one signed HTTP request to one endpoint
 *
 * `broadcastkit/webhooks` implements it (`createWebhookTransport`: fetch, signed per the Standard
 * Webhooks specification with the `standardwebhooks` package). The dispatcher decides what to send,
 * when, and what an answer means; the transport only signs and sends.
 *
 * ## Contract
 * - Sends `body` (JSON text) to `url` with `POST`, signed with `secret` over `messageId`,
 *   `timestamp` and the body (headers `webhook-id`, `webhook-timestamp`, `webhook-signature`).
 * - Answers `answered` with the HTTP status of any response (it does not follow redirects: a 3xx
 *   is an answer), or `unreachable` with a short reason when none came back within `timeoutMs`
 *   or the connection failed. It never rejects for those; a transport that throws anyway is
 *   treated as `unreachable`.
 * - Gives up at once when `signal` aborts (the kit is stopping), answering `unreachable`.
 */
export interface WebhookTransport {
  post(request: WebhookRequest): Promise<WebhookResponse>;
}

export interface WebhookRequest {
  readonly url: string;
  /** `whsec_` and base64, as the endpoint was configured. */
  readonly secret: string;
  /** The same for every attempt at one event, so receivers can deduplicate. */
  readonly messageId: string;
  /** When this attempt is made (receivers refuse signatures older than a few minutes). */
  readonly timestamp: Date;
  readonly body: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export type WebhookResponse =
  | { readonly type: "answered"; readonly status: number }
  | { readonly type: "unreachable"; readonly error: string };
