import { z } from "zod";
import type { SendResult } from "../../core/outcome.js";
import { FAILURE_KINDS } from "../../core/types.js";

const messageIdSchema = z.union([z.number(), z.string()]);

const sendResultSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("delivered"), messageId: messageIdSchema.optional() }),
  z.object({
    status: z.literal("failed"),
    kind: z.enum(FAILURE_KINDS),
    description: z.string(),
    retryAfterMs: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    migrateToChatId: z.int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  }),
  z.object({ status: z.literal("not_sent") }),
]);

function withoutUndefined(parsed: z.output<typeof sendResultSchema>): SendResult {
  if (parsed.status === "not_sent") return { status: "not_sent" };
  if (parsed.status === "delivered") {
    return parsed.messageId === undefined
      ? { status: "delivered" }
      : { status: "delivered", messageId: parsed.messageId };
  }
  const { kind, description, retryAfterMs, migrateToChatId } = parsed;
  return {
    status: "failed",
    kind,
    description,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(migrateToChatId === undefined ? {} : { migrateToChatId }),
  };
}

/**
 * A sender's answer if it keeps the port's shape, else `null`. The common answer (delivered, with
 * or without a message id) is recognised without a parse: this runs once per recipient.
 */
export function asSendResult(answer: unknown): SendResult | null {
  if (
    typeof answer === "object" &&
    answer !== null &&
    (answer as { status?: unknown }).status === "delivered"
  ) {
    const { messageId } = answer as { messageId?: unknown };
    if (messageId === undefined || typeof messageId === "string" || typeof messageId === "number") {
      return answer as SendResult;
    }
  }
  const parsed = sendResultSchema.safeParse(answer);
  return parsed.success ? withoutUndefined(parsed.data) : null;
}

/** A delivered answer with nothing else to look at: the common case, checked without a parse. */
export function isPlainDelivery(answer: unknown): answer is SendResult {
  if (typeof answer !== "object" || answer === null) return false;
  const { status, messageId } = answer as { status?: unknown; messageId?: unknown };
  return (
    status === "delivered" &&
    (messageId === undefined || typeof messageId === "number" || typeof messageId === "string")
  );
}
