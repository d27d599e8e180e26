import { err, ok, type Result } from "neverthrow";
import { type HttpError, validationFailure } from "./errors.js";

/** No body at all (or only whitespace): routes whose body is optional treat it as `{}`. */
export const NO_BODY: unique symbol = Symbol("no body");
export type JsonBody = unknown | typeof NO_BODY;

const tooLarge = (maxBytes: number): HttpError => ({ type: "payload_too_large", maxBytes });

/**
 * Reads at most `maxBytes` of the body. `Content-Length` only lets a too-large body be refused
 * before reading; it is never trusted to bound the read, since chunked bodies carry none and a
 * client may lie.
 */
export async function readBodyBytes(
  request: Request,
  maxBytes: number,
): Promise<Result<Uint8Array, HttpError>> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return err(tooLarge(maxBytes));
  if (request.body === null) return ok(new Uint8Array(0));

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      // Stop the upload here rather than buffer the rest of it.
      await reader.cancel().catch(() => {});
      return err(tooLarge(maxBytes));
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return ok(bytes);
}

/**
 * Whether a `Content-Type` says JSON: `application/json`, in any case, with any parameters
 * (`; charset=utf-8`). Other types are refused even when their body parses: the types an HTML form
 * can send (`text/plain`, form encodings) would otherwise let another site's page create
 * broadcasts with an admin's cookie, and a `+json` type (merge patch, problem details) names a
 * format whose meaning this API does not implement.
 */
export function isJsonMediaType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const [essence = ""] = contentType.split(";");
  return essence.trim().toLowerCase() === "application/json";
}

/** The body as JSON: `NO_BODY` when empty, a `validation` error (path `""`) when not UTF-8 JSON. */
export function parseJsonBody(bytes: Uint8Array): Result<JsonBody, HttpError> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return err(validationFailure("", "body must be UTF-8 encoded JSON"));
  }
  if (text.trim() === "") return ok(NO_BODY);
  try {
    return ok(JSON.parse(text) as unknown);
  } catch {
    return err(validationFailure("", "body must be valid JSON"));
  }
}

/**
 * Reads and parses a JSON body. A request without a body needs no `Content-Type`, so bodyless
 * actions (`POST …/cancel/`) work from any client; one with a body must declare it JSON.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<Result<JsonBody, HttpError>> {
  return (await readBodyBytes(request, maxBytes)).andThen((bytes) => {
    const contentType = request.headers.get("content-type");
    if (bytes.byteLength > 0 && !isJsonMediaType(contentType)) {
      return err<JsonBody, HttpError>({ type: "unsupported_media_type", contentType });
    }
    return parseJsonBody(bytes);
  });
}
