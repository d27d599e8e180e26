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

export async function readJsonBody(request: Request, maxBytes: number): Promise<Result<JsonBody, HttpError>> {
  return (await readBodyBytes(request, maxBytes)).andThen(parseJsonBody);
}
