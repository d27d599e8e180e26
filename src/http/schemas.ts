import { err, ok, type Result } from "neverthrow";
import { z } from "zod";
import { type ValidationIssue, validationError } from "../core/errors.js";
import {
  chatIdSchema,
  errorThresholdSchema,
  parseModeSchema,
  recipientIdSchema,
  recipientStateFilterSchema,
  statusFilterSchema,
  templateVariablesSchema,
} from "../core/schemas.js";
import type { NewRecipient } from "../core/types.js";
import { type ListWebhookDeliveriesInput, WEBHOOK_DELIVERY_STATES } from "../core/webhooks.js";
import type { CreateBroadcastInput, ListQuery, ListRecipientsQueryInput } from "../service/types.js";
import type { HttpError } from "./errors.js";

/*
 * The wire speaks snake_case; the service speaks camelCase. These schemas check the shape of what
 * a client sent (types, unknown fields) and translate it; the service then checks the meaning
 * (dates in the future, unique recipient ids, rendered length). Issue paths here are already the
 * wire's names.
 */

/** A path segment naming a broadcast: digits only, so "1.5", "1e3", " 1" or "0x1" are refused. */
export const idSegmentSchema = z
  .string()
  .regex(/^[1-9][0-9]*$/, { error: "must be a positive integer", abort: true })
  .refine((digits) => Number.isSafeInteger(Number(digits)), `must be at most ${Number.MAX_SAFE_INTEGER}`)
  .transform(Number);

/** An ISO 8601 timestamp with `Z` or an offset: a bare local time would mean different instants to different hosts. */
const timestampSchema = z.iso
  .datetime({ offset: true, error: "must be an ISO 8601 timestamp with a time zone" })
  .transform((text) => new Date(text));

const messageBodySchema = z.union(
  [
    z.string().transform((text) => ({ text })),
    z
      .strictObject({ text: z.string(), parse_mode: parseModeSchema.nullish() })
      .transform(({ text, parse_mode }) => (parse_mode == null ? { text } : { text, parseMode: parse_mode })),
  ],
  { error: 'must be a text or {"text", "parse_mode"}' },
);

const recipientBodySchema = z
  .strictObject({
    recipient_id: recipientIdSchema,
    chat_id: chatIdSchema,
    variables: templateVariablesSchema.nullish(),
  })
  .transform(({ recipient_id, chat_id, variables }): NewRecipient => {
    const recipient = { recipientId: recipient_id, chatId: chat_id };
    return variables == null ? recipient : { ...recipient, variables };
  });

/** `null` for an optional field means "not given", as JSON clients often send it. */
export const createBodySchema = z
  .strictObject({
    message: messageBodySchema,
    recipients: z.array(recipientBodySchema),
    scheduled_at: timestampSchema.nullish(),
    error_threshold: errorThresholdSchema.nullish(),
  })
  .transform(
    ({ message, recipients, scheduled_at, error_threshold }): CreateBroadcastInput => ({
      message,
      recipients,
      ...(scheduled_at == null ? {} : { scheduledAt: scheduled_at }),
      ...(error_threshold == null ? {} : { errorThreshold: error_threshold }),
    }),
  );

/** More recipients for a draft: `recipients` as in the create body, and nothing else. */
export const addRecipientsBodySchema = z
  .strictObject({ recipients: z.array(recipientBodySchema) })
  .transform(({ recipients }) => recipients);

export const scheduleBodySchema = z
  .strictObject({ scheduled_at: timestampSchema })
  .transform(({ scheduled_at }) => scheduled_at);

export const retryBodySchema = z
  .strictObject({ include_permanent: z.boolean().nullish() })
  .transform(({ include_permanent }) =>
    include_permanent == null ? {} : { includePermanent: include_permanent },
  );

/** Actions that take no input still refuse input they would silently ignore. */
export const emptyBodySchema = z.strictObject({});

const limitSchema = z
  .string()
  .regex(/^[0-9]+$/, { error: "must be an integer from 1 to 1000", abort: true })
  .transform(Number)
  .pipe(z.int().min(1, "must be at least 1").max(1000, "must be at most 1000"));

const cursorSchema = z.string().min(1, "must not be empty").max(200, "must be at most 200 characters");

export const listQuerySchema = z
  .strictObject({
    status: statusFilterSchema.optional(),
    limit: limitSchema.optional(),
    cursor: cursorSchema.optional(),
  })
  .transform(
    ({ status, limit, cursor }): ListQuery => ({
      ...(status === undefined ? {} : { status }),
      ...(limit === undefined ? {} : { limit }),
      ...(cursor === undefined ? {} : { cursor }),
    }),
  );

export const recipientsQuerySchema = z
  .strictObject({
    status: recipientStateFilterSchema.optional(),
    limit: limitSchema.optional(),
    cursor: cursorSchema.optional(),
  })
  .transform(
    ({ status, limit, cursor }): ListRecipientsQueryInput => ({
      ...(status === undefined ? {} : { status }),
      ...(limit === undefined ? {} : { limit }),
      ...(cursor === undefined ? {} : { cursor }),
    }),
  );

/**
 * The query parameters a route knows, each given at most once. Others are left alone: a host's
 * `authorize` may read its own (an `EventSource` cannot send headers, so tokens travel there).
 */
export function queryObject(
  params: URLSearchParams,
  known: readonly string[],
): Result<Record<string, string>, HttpError> {
  const values: Record<string, string> = Object.create(null);
  for (const name of known) {
    const all = params.getAll(name);
    if (all.length > 1) return err(validationError([{ path: name, message: "must be given once" }]));
    const [value] = all;
    if (value !== undefined) values[name] = value;
  }
  return ok(values);
}

/** The wire's field names, for the hint given to a client who spelled one in camelCase. */
const WIRE_FIELDS: ReadonlySet<string> = new Set([
  "recipient_id",
  "chat_id",
  "parse_mode",
  "scheduled_at",
  "error_threshold",
  "include_permanent",
]);

const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** The value at `path` inside `input`, through own properties only; `undefined` when absent. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const joinPath = (path: readonly PropertyKey[]): string => path.map(String).join(".");

/**
 * zod's issues in the wire's terms. Unknown keys, which zod reports on their object, each get
 * their own issue at the path the client sent. A key that is a wire field in camelCase
 * (`recipientId`) says which spelling was meant, and the snake_case field it stands for is not
 * also reported missing: the client did send it, under the other name.
 */
function wireIssues(error: z.ZodError, input: unknown): ValidationIssue[] {
  const meantBy = (key: string): string | null => {
    const meant = snakeCase(key);
    return meant !== key && WIRE_FIELDS.has(meant) ? meant : null;
  };
  const sentInCamelCase = new Set<string>();
  for (const issue of error.issues) {
    if (issue.code !== "unrecognized_keys") continue;
    const holder = valueAt(input, issue.path);
    for (const key of issue.keys) {
      const meant = meantBy(key);
      if (meant === null || typeof holder !== "object" || holder === null) continue;
      if (!Object.hasOwn(holder, meant)) sentInCamelCase.add(joinPath([...issue.path, meant]));
    }
  }
  return error.issues.flatMap((issue): ValidationIssue[] => {
    if (issue.code !== "unrecognized_keys") {
      const path = joinPath(issue.path);
      return sentInCamelCase.has(path) ? [] : [{ path, message: issue.message }];
    }
    return issue.keys.map((key) => {
      const meant = meantBy(key);
      return {
        path: joinPath([...issue.path, key]),
        message: meant === null ? "unknown field" : `unknown field; did you mean "${meant}"?`,
      };
    });
  });
}

/** Validates wire input: the translated value, or a `validation` error naming every refused field. */
export function parseWire<S extends z.ZodType>(schema: S, input: unknown): Result<z.output<S>, HttpError> {
  const parsed = schema.safeParse(input);
  return parsed.success ? ok(parsed.data) : err(validationError(wireIssues(parsed.error, input)));
}

/** The delivery log's filters in the wire's spelling (`broadcast_id` only on the log of every broadcast). */
export const webhooksQuerySchema = z
  .strictObject({
    broadcast_id: z
      .string()
      .regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer")
      .transform(Number)
      .pipe(z.int().positive())
      .optional(),
    endpoint_id: z
      .string()
      .min(1, "must not be empty")
      .max(2048, "must be at most 2048 characters")
      .optional(),
    state: z.enum(WEBHOOK_DELIVERY_STATES).optional(),
    limit: limitSchema.optional(),
    cursor: cursorSchema.optional(),
  })
  .transform(
    ({ broadcast_id, endpoint_id, state, limit, cursor }): ListWebhookDeliveriesInput => ({
      ...(broadcast_id === undefined ? {} : { broadcastId: broadcast_id }),
      ...(endpoint_id === undefined ? {} : { endpointId: endpoint_id }),
      ...(state === undefined ? {} : { state }),
      ...(limit === undefined ? {} : { limit }),
      ...(cursor === undefined ? {} : { cursor }),
    }),
  );
