import type { SendResult } from "../../core/outcome.js";
import type { MessageSender, OutgoingMessage } from "../../ports/sender.js";

export interface FakeSenderOptions {
  /**
   * Decides each answer; `callIndex` counts calls from 0. May return a promise, or throw / reject
   * (the worker must survive a sender that does). By default every message is delivered with an
   * increasing integer message id.
   */
  readonly respond?: (message: OutgoingMessage, callIndex: number) => SendResult | Promise<SendResult>;
  /** Keep every message in `.calls` (default true). Benchmarks turn it off to keep memory flat. */
  readonly record?: boolean;
}

export interface FakeSender extends MessageSender {
  /** Every message given to `send`, in call order (empty with `record: false`). */
  readonly calls: readonly OutgoingMessage[];
  /** How many times `send` was called, recorded or not. */
  readonly callCount: number;
}

/** A `MessageSender` for tests, demos and benchmarks: it sends nothing anywhere. */
export function createFakeSender(options: FakeSenderOptions = {}): FakeSender {
  const calls: OutgoingMessage[] = [];
  const record = options.record ?? true;
  const respond = options.respond;
  let callCount = 0;
  let lastMessageId = 0;

  return {
    async send(message: OutgoingMessage): Promise<SendResult> {
      const callIndex = callCount;
      callCount += 1;
      if (record) calls.push({ ...message });
      if (respond !== undefined) return respond(message, callIndex);
      lastMessageId += 1;
      return { status: "delivered", messageId: lastMessageId };
    },
    get calls(): readonly OutgoingMessage[] {
      return calls;
    },
    get callCount(): number {
      return callCount;
    },
  };
}
