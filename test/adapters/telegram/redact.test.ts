import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { describeError, redactToken } from "../../../src/adapters/telegram/redact.js";
import { TOKEN } from "./support.js";

const [BOT_ID = "", SECRET = ""] = TOKEN.split(":");
const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());

describe("redactToken removes the known token", () => {
  it.each([
    ["as is", TOKEN],
    ["with the colon encoded in upper case", encodeURIComponent(TOKEN)],
    ["with the colon encoded in lower case", lowerHex(encodeURIComponent(TOKEN))],
  ])("%s, inside a URL", (_, written) => {
    const redacted = redactToken(`Failed to parse URL from not a url/bot${written}/sendMessage`, TOKEN);
    expect(redacted).toBe("Failed to parse URL from not a url/bot<redacted>/sendMessage");
  });

  it("removes the secret half where it appears alone, and keeps the bot id (it is public)", () => {
    expect(redactToken(`password ${SECRET} rejected for user ${BOT_ID}`, TOKEN)).toBe(
      `password <redacted> rejected for user ${BOT_ID}`,
    );
    expect(redactToken(`https://${BOT_ID}:${SECRET}@proxy.example/`, TOKEN)).toBe(
      "https://<redacted>@proxy.example/",
    );
  });

  it("removes every occurrence, in every form, in one text", () => {
    const text = [TOKEN, encodeURIComponent(TOKEN), lowerHex(encodeURIComponent(TOKEN)), SECRET].join(" | ");
    expect(redactToken(text, TOKEN)).toBe("<redacted> | <redacted> | <redacted> | <redacted>");
  });

  it("reads a secret's characters literally, never as a pattern", () => {
    const token = "12345:a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o";
    expect(redactToken("axbxxc d e f", token)).toBe("axbxxc d e f");
    expect(redactToken(`x ${token.slice(6)} y`, token)).toBe("x <redacted> y");
  });

  it("leaves ordinary words alone when a token's secret half is too short to be a real one", () => {
    expect(redactToken("abc is not a secret; 123:abc is", "123:abc")).toBe(
      "abc is not a secret; <redacted> is",
    );
  });
});

describe("redactToken removes anything shaped like a token", () => {
  const other = "987654321:ZZZdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9";

  it.each([
    ["as is", other],
    ["with %3A", other.replace(":", "%3A")],
    ["with %3a", other.replace(":", "%3a")],
  ])("%s, even when it is not the sender's token", (_, written) => {
    expect(redactToken(`GET /bot${written}/getMe`, TOKEN)).toBe("GET /bot<redacted>/getMe");
    expect(redactToken(`GET /bot${written}/getMe`, undefined)).toBe("GET /bot<redacted>/getMe");
  });

  it("leaves digits and words that are no token alone", () => {
    const text = "Too Many Requests: retry after 12345, chat 1234567890, code 429";
    expect(redactToken(text, TOKEN)).toBe(text);
  });
});

describe("describeError", () => {
  it("redacts every form of the token in an error and its causes", () => {
    const cause = new Error(`connect ECONNREFUSED for /bot${lowerHex(encodeURIComponent(TOKEN))}/`);
    const error = new Error(`request to ${SECRET} failed`, { cause });
    const described = describeError(error, TOKEN);
    expect(described).not.toContain(SECRET);
    expect(described).toContain("<redacted>");
  });
});

/** Telegram tokens: a bot id, a colon, 35 characters of [A-Za-z0-9_-]. */
const tokenArb = fc
  .tuple(fc.integer({ min: 10_000, max: 9_999_999_999 }), fc.stringMatching(/^[A-Za-z0-9_-]{35}$/))
  .map(([id, secret]) => `${id}:${secret}`);

/** Every way the token (or its secret) can be written into a text. */
const writtenArb = (token: string) =>
  fc.constantFrom(
    token,
    encodeURIComponent(token),
    lowerHex(encodeURIComponent(token)),
    encodeURI(token),
    token.slice(token.indexOf(":") + 1),
  );

describe("redactToken: properties", () => {
  test.prop([
    tokenArb.chain((token) => fc.tuple(fc.constant(token), writtenArb(token))),
    fc.string(),
    fc.string(),
  ])("no form of the token survives, whatever text surrounds it", ([token, written], before, after) => {
    const redacted = redactToken(before + written + after, token);
    expect(redacted).not.toContain(token.slice(token.indexOf(":") + 1));
  });
});
