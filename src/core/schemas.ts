import { err, ok, type Result } from "neverthrow";
import { z } from "zod";
import { type BroadcastError, type ValidationIssue, validationError } from "./errors.js";
import { MAX_STORED_INTEGER, storableText } from "./storable.js";
import { MAX_MESSAGE_LENGTH } from "./template.js";
import {
  BROADCAST_STATUSES,
  MAX_PARALLELISM,
  PARSE_MODES,
  RECIPIENT_STATUSES,
  type TemplateVariables,
} from "./types.js";

/**
 * A store-issued broadcast id: a positive safe integer. (`z.int()` takes safe integers only, so
 * the integers below need no bounds of their own beyond their sign.)
 */
export const broadcastIdSchema = z.int().positive();

/** Telegram usernames: 5–32 characters of letters, digits and underscores, starting with a letter. */
const CHANNEL_USERNAME = /^@[A-Za-z][A-Za-z0-9_]{3,31}$/;

export const chatIdSchema = z.union(
  [z.int(), z.string().regex(CHANNEL_USERNAME, "must be @channelusername")],
  { error: "must be an integer chat id or @channelusername" },
);

export const recipientIdSchema = z.union([z.int().nonnegative(), storableText().min(1).max(255)], {
  error: "must be a non-negative integer or a non-empty string",
});

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const variableValueSchema = z.union([storableText(), z.number(), z.boolean()], {
  error: "must be a string, a number or a boolean",
});

/** Objects as JSON makes them, or as a host builds them (with or without a prototype). */
function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A recipient's template variables, as an object without a prototype: every name the client
 * sent is an ordinary key, `__proto__`, `constructor` and `toString` included, and each is kept
 * and rendered as given. (zod's record drops `__proto__` without a word.)
 */
export const templateVariablesSchema = z.unknown().transform((input, ctx): TemplateVariables => {
  if (!isPlainObject(input)) {
    ctx.addIssue({ code: "custom", message: "must be an object of variables", input });
    return z.NEVER;
  }
  const variables: Record<string, string | number | boolean> = Object.create(null);
  for (const name of Object.keys(input)) {
    if (!VARIABLE_NAME.test(name)) {
      ctx.addIssue({ code: "custom", path: [name], message: "variable names are identifiers", input: name });
      continue;
    }
    const value = variableValueSchema.safeParse(input[name]);
    if (value.success) variables[name] = value.data;
    else for (const issue of value.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] });
  }
  return variables;
});

export const parseModeSchema = z.enum(PARSE_MODES);

export const messageTextSchema = storableText()
  .refine((t) => t.trim().length > 0, "must not be empty")
  .refine((t) => t.length <= MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`);

export const messageSchema = z.strictObject({
  text: messageTextSchema,
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

/** Failed recipients above which a broadcast pauses itself; every store keeps it in an `INTEGER`. */
export const errorThresholdSchema = z.int().positive().max(MAX_STORED_INTEGER);

/** Who created the broadcast: the host's user id or name. */
export const createdBySchema = z.union([storableText().max(255), z.int()], {
  error: "must be a string or an integer",
});

export const createBroadcastSchema = z.strictObject({
  message: messageSchema,
  scheduledAt: dateInputSchema.optional(),
  createdBy: createdBySchema.optional(),
  errorThreshold: errorThresholdSchema.optional(),
});

export const statusFilterSchema = z.enum(BROADCAST_STATUSES);
export const recipientStateFilterSchema = z.enum(RECIPIENT_STATUSES);

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

/** How many send jobs share a broadcast (each may run in another process). */
export const parallelismSchema = z.int().min(1).max(MAX_PARALLELISM);

export const sendOptionsSchema = z.strictObject({ parallelism: parallelismSchema.optional() });

export const retryOptionsSchema = z.strictObject({
  includePermanent: z.boolean().optional(),
  parallelism: parallelismSchema.optional(),
});

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
