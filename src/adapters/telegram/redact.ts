/**
 * Anything shaped like a bot token (`<bot id>:<secret>`), in a URL path or alone, its colon
 * written as is or percent-encoded (`%3A`, `%3a`). The look-behind starts a match only where a
 * run of digits starts, so a long run of digits costs one pass, not one per digit.
 */
const TOKEN_SHAPE = /(?<!\d)\d{5,}(?::|%3[aA])[A-Za-z0-9_-]{30,}/g;
const REDACTED = "<redacted>";
/**
 * The secret half of a token (after the colon) is removed on its own too, when it is at least this
 * long: Telegram's are 35 characters; a shorter one is no real token, and removing it everywhere
 * would cut ordinary words out of the text.
 */
const MIN_SECRET_LENGTH = 8;

/** Characters no URL encoder changes: everything else may appear percent-encoded. */
const NEVER_ENCODED = /^[A-Za-z0-9_.~-]$/;

/** `%3A` matching `%3A` and `%3a`. */
const hexEither = (byte: number): string =>
  [...byte.toString(16).toUpperCase().padStart(2, "0")]
    .map((digit) => (/[A-F]/.test(digit) ? `[${digit}${digit.toLowerCase()}]` : digit))
    .join("");

/**
 * A pattern for `text` written in any URL encoding: each character that an encoder may change as
 * is or as its UTF-8 bytes percent-encoded, in upper or lower case (`encodeURIComponent` writes
 * `%3A`, other encoders and hand-built URLs `%3a`).
 */
function anyEncodingOf(text: string): RegExp {
  let pattern = "";
  for (const char of text) {
    const literal = char.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
    if (NEVER_ENCODED.test(char)) {
      pattern += literal;
      continue;
    }
    const encoded = [...new TextEncoder().encode(char)].map((byte) => `%${hexEither(byte)}`).join("");
    pattern += `(?:${literal}|${encoded})`;
  }
  return new RegExp(pattern, "g");
}

/** The token, then its secret half alone (see `MIN_SECRET_LENGTH`), each in any URL encoding. */
function secretPatterns(token: string): RegExp[] {
  const secret = token.slice(token.indexOf(":") + 1);
  const parts = secret.length >= MIN_SECRET_LENGTH && secret !== token ? [token, secret] : [token];
  return parts.map(anyEncodingOf);
}

/**
 * Removes a bot token from text bound for logs or results. Fetch implementations put the URL,
 * and so the token, into some error messages ("Failed to parse URL from …/bot<token>/…"); the
 * known token is removed in every encoding a URL may carry, its secret half wherever it appears
 * alone, and anything token-shaped besides.
 */
export function redactToken(text: string, token: string | undefined): string {
  let safe = text;
  if (token !== undefined && token.length > 0) {
    for (const pattern of secretPatterns(token)) safe = safe.replace(pattern, REDACTED);
  }
  return safe.replace(TOKEN_SHAPE, REDACTED);
}

/** A short, secret-free name for a network failure: the system error code when there is one. */
export function networkReason(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current != null && depth < 4; depth++) {
    if (typeof current !== "object") break;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
    current = innerError(current);
  }
  return undefined;
}

/** A redacted one-line account of an error, for the logger only. */
export function describeError(error: unknown, token: string | undefined): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current != null && depth < 4; depth++) {
    if (current instanceof Error) {
      parts.push(`${current.name}: ${current.message}`);
      current = innerError(current);
    } else {
      parts.push(String(current));
      break;
    }
  }
  return redactToken(parts.join(" <- "), token);
}

/** `cause` for standard errors; grammY's `HttpError` keeps the fetch error in `error`. */
function innerError(error: object): unknown {
  const { cause, error: wrapped } = error as { cause?: unknown; error?: unknown };
  return cause ?? wrapped;
}
