import type { ParseMode, TemplateVariables } from "./types.js";

/** Telegram's limit for one text message, checked after rendering. */
export const MAX_MESSAGE_LENGTH = 4096;

/** `{{name}}` or `{{name|default}}`; names are identifiers, defaults are literal template text. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^}]*))?\}\}/g;

export interface Placeholder {
  readonly name: string;
  /** `undefined` when the placeholder has no `|default`. */
  readonly fallback: string | undefined;
}

export function placeholdersOf(text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1] ?? "", fallback: m[2] }));
}

/**
 * `<`, `>` and `&` keep a value out of the markup; quotes keep it inside an attribute value it was
 * placed in (`<a href="https://x.example/?u={{id}}">`), which it could otherwise close, turning the
 * rest into a malformed tag that makes Telegram refuse the whole broadcast. Telegram decodes
 * `&quot;` and numeric entities, so the text shown is unchanged.
 */
const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "<": "&lt;",
  ">": "&gt;",
  "&": "&amp;",
  '"': "&quot;",
  "'": "&#39;",
};
/** The 18 characters MarkdownV2 reserves, plus the backslash that escapes them. */
const MARKDOWN_V2_RESERVED = /[_*[\]()~`>#+\-=|{}.!\\]/g;

/** Makes a variable's value inert in the given parse mode: it can never become markup. */
export function escapeForParseMode(value: string, parseMode: ParseMode | undefined): string {
  switch (parseMode) {
    case "HTML":
      return value.replace(/[<>&"']/g, (c) => HTML_ESCAPES[c] ?? c);
    case "MarkdownV2":
      return value.replace(MARKDOWN_V2_RESERVED, (c) => `\\${c}`);
    case undefined:
      return value;
  }
}

/**
 * Fills placeholders from `variables`, escaping every value for `parseMode`. A missing variable
 * takes the placeholder's default, or nothing. Templates are data: nothing in them is evaluated.
 */
export function renderTemplate(
  text: string,
  variables: TemplateVariables | null | undefined,
  parseMode?: ParseMode,
): string {
  return text.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const value = variables != null && Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (value === undefined) return fallback ?? "";
    return escapeForParseMode(String(value), parseMode);
  });
}

/** Placeholders without a default: the ones some recipient must supply. */
export function requiredVariables(text: string): Set<string> {
  return new Set(
    placeholdersOf(text)
      .filter((p) => p.fallback === undefined)
      .map((p) => p.name),
  );
}
