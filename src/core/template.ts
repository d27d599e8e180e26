import { type Placeholder, scanTemplate, type TemplatePart } from "./template-scanner.js";
import type { ParseMode, TemplateVariables } from "./types.js";

export type { Placeholder, TemplatePart } from "./template-scanner.js";

/** Telegram's limit for one text message, checked after rendering. */
export const MAX_MESSAGE_LENGTH = 4096;

/**
 * A template read once: its literal text and placeholders in order. Rendering it for each
 * recipient then costs only the length of what it writes.
 */
export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  readonly placeholders: readonly Placeholder[];
}

/**
 * Reads `{{name}}` and `{{name|default}}` placeholders (names are identifiers, defaults are
 * literal template text) in one pass, in time linear in the text's length whatever it holds.
 */
export function parseTemplate(text: string): ParsedTemplate {
  const parts = scanTemplate(text);
  return { parts, placeholders: parts.filter((part): part is Placeholder => typeof part !== "string") };
}

export function placeholdersOf(text: string): Placeholder[] {
  return [...parseTemplate(text).placeholders];
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
  return renderParsedTemplate(parseTemplate(text), variables, parseMode);
}

/** `renderTemplate` for a template parsed once and rendered for many recipients. */
export function renderParsedTemplate(
  template: ParsedTemplate,
  variables: TemplateVariables | null | undefined,
  parseMode?: ParseMode,
): string {
  let rendered = "";
  for (const part of template.parts) {
    if (typeof part === "string") {
      rendered += part;
      continue;
    }
    const value = variables != null && Object.hasOwn(variables, part.name) ? variables[part.name] : undefined;
    rendered += value === undefined ? (part.fallback ?? "") : escapeForParseMode(String(value), parseMode);
  }
  return rendered;
}

/** Placeholders without a default: the ones some recipient must supply. */
export function requiredVariables(template: string | ParsedTemplate): Set<string> {
  const { placeholders } = typeof template === "string" ? parseTemplate(template) : template;
  return new Set(placeholders.filter((p) => p.fallback === undefined).map((p) => p.name));
}
