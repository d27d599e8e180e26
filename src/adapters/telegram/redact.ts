/** Anything shaped like a bot token (`<bot id>:<secret>`), in a URL path or alone. */
const TOKEN_SHAPE = /\d{5,}:[A-Za-z0-9_-]{30,}/g;
const REDACTED = "<redacted>";

/**
 * Removes a bot token from text bound for logs or results. Fetch implementations put the URL,
 * and so the token, into some error messages ("Failed to parse URL from …/bot<token>/…"); the
 * known token is removed in every encoding a URL may carry, and anything token-shaped besides.
 */
export function redactToken(text: string, token: string | undefined): string {
  let safe = text;
  if (token !== undefined && token.length > 0) {
    for (const form of new Set([token, encodeURIComponent(token), encodeURI(token)])) {
      safe = safe.split(form).join(REDACTED);
    }
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
