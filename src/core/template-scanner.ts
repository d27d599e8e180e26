/**
 * The template grammar, read in one pass: `{{name}}` or `{{name|default}}`, where `name` is an
 * identifier with optional whitespace around it and `default` is any text up to the first `}`,
 * which must open the closing `}}`. Anything else is literal text.
 *
 * A backtracking regular expression for this grammar costs O(n²) on a template such as
 * `{{a|{{a|{{a|…}x`: every `{{` reads ahead to the far `}` and fails. Here each character is
 * read a bounded number of times whatever the input: the search for the `}` that ends a default
 * remembers where it found one, and a later placeholder that needs it again starts from there.
 */

/** A placeholder as written: `fallback` is `undefined` when it has no `|default`. */
export interface Placeholder {
  readonly name: string;
  readonly fallback: string | undefined;
}

/** A template cut into literal text (strings) and placeholders, in order. */
export type TemplatePart = string | Placeholder;

/** What the scanner reads of its text; a string is one (tests count the reads through another). */
export interface TemplateText {
  readonly length: number;
  charCodeAt(index: number): number;
  indexOf(search: string, from: number): number;
  slice(start: number, end: number): string;
}

const CLOSE_BRACE = 0x7d;
const PIPE = 0x7c;

/** Exactly the characters `\s` matches in a JavaScript regular expression. */
function isWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

const isLetterOrUnderscore = (code: number): boolean =>
  (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
const isIdentifierPart = (code: number): boolean =>
  isLetterOrUnderscore(code) || (code >= 0x30 && code <= 0x39);

function skipWhitespace(text: TemplateText, from: number): number {
  let at = from;
  while (at < text.length && isWhitespace(text.charCodeAt(at))) at++;
  return at;
}

/** The end of the identifier starting at `from`; `from` itself when none starts there. */
function skipIdentifier(text: TemplateText, from: number): number {
  if (from >= text.length || !isLetterOrUnderscore(text.charCodeAt(from))) return from;
  let at = from + 1;
  while (at < text.length && isIdentifierPart(text.charCodeAt(at))) at++;
  return at;
}

function indexOfCloseBrace(text: TemplateText, from: number): number {
  const found = text.indexOf("}", from);
  return found < 0 ? text.length : found;
}

export function scanTemplate(text: TemplateText): TemplatePart[] {
  const length = text.length;
  const parts: TemplatePart[] = [];
  /** The first `}` at or after where one was last looked for (`length` when there is none). */
  let knownClose = -1;
  let literalStart = 0;
  let at = 0;
  for (;;) {
    at = text.indexOf("{{", at);
    if (at < 0) break;
    // `{{` at `at`: whitespace, a name, whitespace, then `}}` or `|default}}`.
    const nameStart = skipWhitespace(text, at + 2);
    const nameEnd = skipIdentifier(text, nameStart);
    const next = nameEnd > nameStart ? skipWhitespace(text, nameEnd) : length;
    let end = -1;
    let fallback: string | undefined;
    if (next < length && text.charCodeAt(next) === PIPE) {
      if (knownClose <= next) knownClose = indexOfCloseBrace(text, next + 1);
      if (knownClose + 1 < length && text.charCodeAt(knownClose + 1) === CLOSE_BRACE) {
        fallback = text.slice(next + 1, knownClose);
        end = knownClose + 2;
      }
    } else if (
      next + 1 < length &&
      text.charCodeAt(next) === CLOSE_BRACE &&
      text.charCodeAt(next + 1) === CLOSE_BRACE
    ) {
      end = next + 2;
    }
    if (end < 0) {
      at++;
      continue;
    }
    if (at > literalStart) parts.push(text.slice(literalStart, at));
    parts.push({ name: text.slice(nameStart, nameEnd), fallback });
    at = end;
    literalStart = end;
  }
  if (literalStart < length) parts.push(text.slice(literalStart, length));
  return parts;
}
