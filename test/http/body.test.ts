import { describe, expect, it } from "vitest";
import { NO_BODY, parseJsonBody, readBodyBytes, readJsonBody } from "../../src/http/body.js";

const encoder = new TextEncoder();

/** A request whose body arrives in chunks and declares no length, as a chunked upload does. */
function chunkedRequest(chunks: readonly Uint8Array[], headers: Record<string, string> = {}) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[pulled++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  const request = new Request("http://x/", { method: "POST", body, headers, duplex: "half" } as RequestInit);
  return { request, pulledChunks: () => pulled };
}

describe("reading a body", () => {
  it("returns the bytes of a body within the limit", async () => {
    const { request } = chunkedRequest([encoder.encode('{"a":'), encoder.encode("1}")]);
    const bytes = (await readBodyBytes(request, 100))._unsafeUnwrap();
    expect(new TextDecoder().decode(bytes)).toBe('{"a":1}');
  });

  it("stops reading at the limit when no Content-Length is declared", async () => {
    const chunk = new Uint8Array(400);
    const { request, pulledChunks } = chunkedRequest(Array.from({ length: 100 }, () => chunk));
    const result = await readBodyBytes(request, 1000);
    expect(result._unsafeUnwrapErr()).toEqual({ type: "payload_too_large", maxBytes: 1000 });
    expect(pulledChunks()).toBeLessThan(10);
  });

  it("refuses a declared Content-Length over the limit without reading", async () => {
    const { request, pulledChunks } = chunkedRequest([encoder.encode("{}")], { "content-length": "5000" });
    expect((await readBodyBytes(request, 1000))._unsafeUnwrapErr().type).toBe("payload_too_large");
    expect(pulledChunks()).toBe(0);
  });

  it("does not trust a Content-Length that understates the body", async () => {
    const { request } = chunkedRequest([new Uint8Array(600), new Uint8Array(600)], {
      "content-length": "10",
    });
    expect((await readBodyBytes(request, 1000))._unsafeUnwrapErr().type).toBe("payload_too_large");
  });

  it("accepts a body of exactly the limit", async () => {
    const { request } = chunkedRequest([new Uint8Array(1000)]);
    expect((await readBodyBytes(request, 1000))._unsafeUnwrap().byteLength).toBe(1000);
  });

  it("reads no body as empty", async () => {
    expect(await readJsonBody(new Request("http://x/", { method: "POST" }), 10)).toEqual(
      expect.objectContaining({ value: NO_BODY }),
    );
  });
});

describe("parsing a JSON body", () => {
  it("parses JSON", () => {
    expect(parseJsonBody(encoder.encode(' {"x": [1, "é"]} '))._unsafeUnwrap()).toEqual({ x: [1, "é"] });
  });

  it("treats whitespace as no body", () => {
    expect(parseJsonBody(encoder.encode(" \n "))._unsafeUnwrap()).toBe(NO_BODY);
  });

  it("refuses malformed JSON as a validation error of the body", () => {
    expect(parseJsonBody(encoder.encode('{"x": '))._unsafeUnwrapErr()).toEqual({
      type: "validation",
      issues: [{ path: "", message: "body must be valid JSON" }],
    });
  });

  it("refuses bytes that are not UTF-8", () => {
    const error = parseJsonBody(new Uint8Array([0x22, 0xff, 0xfe, 0x22]))._unsafeUnwrapErr();
    expect(error).toEqual({
      type: "validation",
      issues: [{ path: "", message: "body must be UTF-8 encoded JSON" }],
    });
  });
});
