import { err, ok, type Result, type ResultAsync, safeTry } from "neverthrow";
import type { z } from "zod";
import type { BroadcastError } from "../core/errors.js";
import type { Broadcast } from "../core/types.js";
import type { BroadcastService } from "../service/types.js";
import { NO_BODY, readJsonBody } from "./body.js";
import { type HttpError, validationFailure, wireError } from "./errors.js";
import type { MessageCatalog } from "./messages.js";
import { errorBody, successResponse } from "./responses.js";
import type { Operation } from "./routes.js";
import {
  addRecipientsBodySchema,
  createBodySchema,
  emptyBodySchema,
  idSegmentSchema,
  listQuerySchema,
  parseWire,
  queryObject,
  recipientsQuerySchema,
  retryBodySchema,
  scheduleBodySchema,
  webhooksQuerySchema,
} from "./schemas.js";
import {
  broadcastJson,
  cancelJson,
  pageJson,
  progressJson,
  recipientJson,
  retryJson,
  webhookDeliveryJson,
} from "./serialize.js";
import { EVENT_STREAM_HEADERS, progressEventStream } from "./stream.js";

/** What one request carries into its operation, already routed and authorized. */
export interface OperationContext {
  readonly service: BroadcastService;
  readonly request: Request;
  readonly url: URL;
  readonly idSegment: string | undefined;
  readonly catalog: MessageCatalog;
  readonly basePath: string;
  readonly maxBodyBytes: number;
  readonly streamPollMs: number;
  /** Logs a server fault's cause; the client sees only the generic message. */
  readonly reportFault: (error: HttpError) => void;
}

/** The `{id}` path segment as a broadcast id; a refusal names the field `id`. */
function broadcastId(ctx: OperationContext): Result<number, HttpError> {
  const parsed = idSegmentSchema.safeParse(ctx.idSegment);
  return parsed.success
    ? ok(parsed.data)
    : err({
        type: "validation",
        issues: parsed.error.issues.map(({ message }) => ({ path: "id", message })),
      });
}

/**
 * Reads and validates a JSON body. An absent body counts as `{}` when `optional`, so
 * `POST …/cancel/` needs none; a body sent to an action that takes none must still be `{}`.
 */
async function body<S extends z.ZodType>(
  ctx: OperationContext,
  schema: S,
  presence: "required" | "optional",
): Promise<Result<z.output<S>, HttpError>> {
  const json = await readJsonBody(ctx.request, ctx.maxBodyBytes);
  if (json.isErr()) return err(json.error);
  if (json.value !== NO_BODY) return parseWire(schema, json.value);
  return presence === "required"
    ? err(validationFailure("", "a JSON body is required"))
    : parseWire(schema, {});
}

const noBody = (ctx: OperationContext) => body(ctx, emptyBodySchema, "optional");

const query = <S extends z.ZodType>(ctx: OperationContext, schema: S) =>
  queryObject(ctx.url.searchParams, ["status", "limit", "cursor"]).andThen((values) =>
    parseWire(schema, values),
  );

/** The delivery log's filters; `extra` are those only some routes take. */
const webhooksQuery = (ctx: OperationContext, extra: readonly string[]) =>
  queryObject(ctx.url.searchParams, ["endpoint_id", "state", "limit", "cursor", ...extra]).andThen((values) =>
    parseWire(webhooksQuerySchema, values),
  );

/** A service answer with its error's field names in the wire's spelling. */
const wire = <T>(answer: ResultAsync<T, BroadcastError>): ResultAsync<T, BroadcastError> =>
  answer.mapErr(wireError);

const broadcastReply = (broadcast: Broadcast, status = 200) =>
  ok(successResponse(broadcastJson(broadcast, "full"), status));

function streamReply(
  ctx: OperationContext,
  id: number,
  initial: Parameters<typeof progressJson>[0],
): Response {
  const stream = progressEventStream({
    initial,
    poll: () => wire(ctx.service.getProgress(id)),
    settled: () => wire(ctx.service.settledProgress(id)),
    pollMs: ctx.streamPollMs,
    signal: ctx.request.signal,
    describeError: (error) => {
      ctx.reportFault(error);
      return errorBody(error, ctx.catalog);
    },
  });
  return new Response(stream, { status: 200, headers: EVENT_STREAM_HEADERS });
}

/**
 * Runs one operation and shapes its answer for the wire. Input is checked in order id, query,
 * body, and all of it before the service is called, so a refused request changes nothing.
 */
export function runOperation(operation: Operation, ctx: OperationContext): ResultAsync<Response, HttpError> {
  const { service, catalog } = ctx;
  return safeTry(async function* () {
    switch (operation) {
      case "list": {
        const page = yield* wire(service.list(yield* query(ctx, listQuerySchema)));
        return ok(successResponse(pageJson(page, (b) => broadcastJson(b, "summary"))));
      }
      case "create": {
        const created = yield* wire(service.create(yield* await body(ctx, createBodySchema, "required")));
        return ok(
          successResponse(broadcastJson(created, "full"), 201, {
            location: `${ctx.basePath}/${created.id}/`,
          }),
        );
      }
      case "get":
        return broadcastReply(yield* wire(service.get(yield* broadcastId(ctx))));
      case "start": {
        const id = yield* broadcastId(ctx);
        yield* await noBody(ctx);
        return broadcastReply(yield* wire(service.start(id)));
      }
      case "schedule": {
        const id = yield* broadcastId(ctx);
        const at = yield* await body(ctx, scheduleBodySchema, "required");
        return broadcastReply(yield* wire(service.schedule(id, at)));
      }
      case "unschedule": {
        const id = yield* broadcastId(ctx);
        yield* await noBody(ctx);
        return broadcastReply(yield* wire(service.unschedule(id)));
      }
      case "pause": {
        const id = yield* broadcastId(ctx);
        yield* await noBody(ctx);
        return broadcastReply(yield* wire(service.pause(id)));
      }
      case "resume": {
        const id = yield* broadcastId(ctx);
        yield* await noBody(ctx);
        return broadcastReply(yield* wire(service.resume(id)));
      }
      case "cancel": {
        const id = yield* broadcastId(ctx);
        yield* await noBody(ctx);
        return ok(successResponse(cancelJson(yield* wire(service.cancel(id)), catalog)));
      }
      case "retry": {
        const id = yield* broadcastId(ctx);
        const options = yield* await body(ctx, retryBodySchema, "optional");
        return ok(successResponse(retryJson(yield* wire(service.retryFailed(id, options)), catalog)));
      }
      case "recipients": {
        const id = yield* broadcastId(ctx);
        const page = yield* wire(service.listRecipients(id, yield* query(ctx, recipientsQuerySchema)));
        return ok(successResponse(pageJson(page, recipientJson)));
      }
      case "add_recipients": {
        const id = yield* broadcastId(ctx);
        const recipients = yield* await body(ctx, addRecipientsBodySchema, "required");
        return broadcastReply(yield* wire(service.addRecipients(id, recipients)));
      }
      case "progress":
        return ok(successResponse(progressJson(yield* wire(service.getProgress(yield* broadcastId(ctx))))));
      case "progress_stream": {
        const id = yield* broadcastId(ctx);
        return ok(streamReply(ctx, id, yield* wire(service.getProgress(id))));
      }
      case "webhooks": {
        const filters = yield* webhooksQuery(ctx, ["broadcast_id"]);
        const page = yield* wire(service.listWebhookDeliveries(filters));
        return ok(successResponse(pageJson(page, webhookDeliveryJson)));
      }
      case "broadcast_webhooks": {
        const id = yield* broadcastId(ctx);
        const filters = yield* webhooksQuery(ctx, []);
        const page = yield* wire(service.listWebhookDeliveries({ ...filters, broadcastId: id }));
        return ok(successResponse(pageJson(page, webhookDeliveryJson)));
      }
    }
  });
}
