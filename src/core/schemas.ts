import { err, ok, type Result } from "neverthrow";
import { z } from "zod";
import { type BroadcastError, type ValidationIssue, validationError } from "./errors.js";
import { MAX_MESSAGE_LENGTH } from "./template.js";
import { BROADCAST_STATUSES, PARSE_MODES, RECIPIENT_STATES } from "./types.js";

/** A store-issued broadcast id: a positive safe integer. */
export const broadcastIdSchema = z.int().positive().max(Number.MAX_SAFE_INTEGER);

/** Telegram usernames: 5–32 characters of letters, digits and underscores, starting with a letter. */
const CHANNEL_USERNAME = /^@[A-Za-z][A-Za-z0-9_]{3,31}$/;

export const chatIdSchema = z.union(
  [
    z.int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
    z.string().regex(CHANNEL_USERNAME, "must be @channelusername"),
  ],
  { error: "must be an integer chat id or @channelusername" },
);

export const recipientIdSchema = z.union(
  [z.int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(255)],
  { error: "must be a non-negative integer or a non-empty string" },
);

export const templateVariablesSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "variable names are identifiers"),
  z.union([z.string(), z.number(), z.boolean()]),
);

export const parseModeSchema = z.enum(PARSE_MODES);

export const messageSchema = z.strictObject({
  text: z
    .string()
    .refine((t) => t.trim().length > 0, "must not be empty")
    .refine((t) => t.length <= MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`),
  parseMode: parseModeSchema.optional(),
});

export const newRecipientSchema = z.strictObject({
  recipientId: recipientIdSchema,
  chatId: chatIdSchema,
  variables: templateVariablesSchema.optional(),
});

/** A date given as a `Date` or an ISO 8601 string with an offset. */
export const dateInputSchema = z.union(
  [z.date(), z.iso.datetime({ offset: true }).transform((s) => new Date(s))],
  {
    error: "must be a date or an ISO 8601 timestamp",
  },
);

export const createBroadcastSchema = z.strictObject({
  message: messageSchema,
  scheduledAt: dateInputSchema.optional(),
  createdBy: z.union([z.string().max(255), z.int()]).optional(),
  errorThreshold: z.int().positive().optional(),
});

export const statusFilterSchema = z.enum(BROADCAST_STATUSES);
export const recipientStateFilterSchema = z.enum(RECIPIENT_STATES);

export const listOptionsSchema = z.strictObject({
  status: statusFilterSchema.optional(),
  limit: z.int().min(1).max(1000).optional(),
  cursor: z.string().max(200).optional(),
});

export const listRecipientsOptionsSchema = z.strictObject({
  status: recipientStateFilterSchema.optional(),
  limit: z.int().min(1).max(1000).optional(),
  cursor: z.string().max(200).optional(),
});

export const retryOptionsSchema = z.strictObject({ includePermanent: z.boolean().optional() });

export const countersSchema = z.strictObject({
  sentCount: z.int().nonnegative(),
  failedCount: z.int().nonnegative(),
});

/**
 * zod's issues as ours: a dotted path naming the field, and a message. zod reports unknown keys on
 * the object that holds them; each becomes its own issue at the key's path, so the refusal names
 * the field as every other refusal does.
 */
export function toValidationIssues(
  error: z.ZodError,
  prefix: readonly PropertyKey[] = [],
): ValidationIssue[] {
  const pathOf = (path: readonly PropertyKey[]) => [...prefix, ...path].map(String).join(".");
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: pathOf([...issue.path, key]), message: "unknown field" }))
      : [{ path: pathOf(issue.path), message: issue.message }],
  );
}

/** Validates at a boundary: the parsed value, or a `validation` error naming every refused field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): Result<z.output<S>, BroadcastError> {
  const parsed = schema.safeParse(input);
  return parsed.success ? ok(parsed.data) : err(validationError(toValidationIssues(parsed.error, prefix)));
}
