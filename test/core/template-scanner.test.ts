import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { escapeForParseMode, placeholdersOf, renderTemplate } from "../../src/core/template.js";
import { scanTemplate, type TemplateText } from "../../src/core/template-scanner.js";
import type { ParseMode, TemplateVariables } from "../../src/core/types.js";

/**
 * The regular expression the scanner replaced: the grammar's definition, right on every input but
 * quadratic on some (`{{a|{{a|…}x`). On small inputs it is the reference.
 */
const REFERENCE_PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^}]*))?\}\}/g;

function referenceRender(text: string, variables: TemplateVariables, parseMode: ParseMode | undefined) {
  return text.replace(REFERENCE_PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
    return value === undefined ? (fallback ?? "") : escapeForParseMode(String(value), parseMode);
  });
}

const referencePlaceholders = (text: string) =>
  [...text.matchAll(REFERENCE_PLACEHOLDER)].map((m) => ({ name: m[1] ?? "", fallback: m[2] }));

/**
 * Pieces that make the grammar's near misses: unclosed and nested braces, pipes without a closing
 * `}}`, names next to digits; `spacedOpening` adds every character `\s` matches, and some it does not.
 */
const PIECES = [
  "{",
  "}",
  "{{",
  "}}",
  "|",
  "{{a|",
  "{{ b }}",
  "{{a}}",
  "}x",
  "a",
  "b",
  "_",
  "1",
  "-",
  "x",
  " ",
  "\t",
  "\n",
  "<",
  "*",
];
const WHITESPACE = [
  " ",
  "\t",
  "\n",
  "\v",
  "\f",
  "\r",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u200a",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u205f",
  "\u3000",
  "\ufeff",
];
const NOT_WHITESPACE = ["\u0085", "\u180e", "\u200b", "\u00a1"];
/** `{{`, then whitespace or not, around a name: where whitespace decides whether it is a placeholder. */
const spacedOpening = fc
  .tuple(fc.constantFrom(...WHITESPACE, ...NOT_WHITESPACE), fc.constantFrom("a", "b", "1"))
  .map(([space, name]) => `{{${space}${name}${space}`);
const adversarialTemplate = fc
  .array(fc.oneof(fc.constantFrom(...PIECES), spacedOpening), { maxLength: 40 })
  .map((pieces) => pieces.join(""));
/** Small inputs are cheap: many runs reach the rare near misses. */
const MANY = { numRuns: 2_000 };
const variables = fc.dictionary(fc.constantFrom("a", "b", "_", "a1", "x"), fc.string({ maxLength: 4 }));
const parseMode = fc.constantFrom<ParseMode | undefined>(undefined, "HTML", "MarkdownV2");

describe("the template scanner reads exactly what the regular expression read", () => {
  test.prop([adversarialTemplate, variables, parseMode], MANY)(
    "renders every adversarial template as the reference does",
    (template, vars, mode) => {
      expect(renderTemplate(template, vars, mode)).toBe(referenceRender(template, vars, mode));
    },
  );

  test.prop([adversarialTemplate], MANY)(
    "finds the same placeholders, with the same defaults",
    (template) => {
      expect(placeholdersOf(template)).toEqual(referencePlaceholders(template));
    },
  );

  test.prop([adversarialTemplate])("keeps the literal text between placeholders as written", (template) => {
    // split() with the reference's two groups gives [text, name, default, text, name, default, …, text].
    const literals = template.split(REFERENCE_PLACEHOLDER).filter((piece, i) => i % 3 === 0 && piece !== "");
    expect(scanTemplate(template).filter((part) => typeof part === "string")).toEqual(literals);
  });
});

/** A template text that counts every character the scanner reads or copies. */
function counting(text: string): { source: TemplateText; work: () => number } {
  let work = 0;
  return {
    source: {
      length: text.length,
      charCodeAt(index) {
        work += 1;
        return text.charCodeAt(index);
      },
      indexOf(search, from) {
        const found = text.indexOf(search, from);
        work += (found < 0 ? text.length : found + search.length) - from;
        return found;
      },
      slice(start, end) {
        work += Math.max(0, end - start);
        return text.slice(start, end);
      },
    },
    work: () => work,
  };
}

/**
 * Each character is read a bounded number of times: the searches for `{{` never cover a stretch
 * twice, nor do the searches for the `}` that ends a default; a name and the whitespace around it
 * are scanned once per `{{` (the character that stops a scan is read up to three times); and each
 * character is copied at most once. The worst inputs a random search found reach 5.5 per character.
 */
const WORK_PER_CHARACTER = 8;

/** Repeated fragments make long templates of every shape the pieces can make. */
const longAdversarialTemplate = fc
  .tuple(
    fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 6 }),
    fc.integer({ min: 1, max: 800 }),
    fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }),
  )
  .map(([unit, times, tail]) => unit.join("").repeat(times) + tail.join(""));

describe("the template scanner's work is linear in the template's length", () => {
  test.prop([fc.oneof(adversarialTemplate, longAdversarialTemplate)])(
    `reads and copies at most ${WORK_PER_CHARACTER} characters per character of template`,
    (template) => {
      const { source, work } = counting(template);
      scanTemplate(source);
      expect(work()).toBeLessThanOrEqual(WORK_PER_CHARACTER * template.length);
    },
  );

  it("scans the review's 4,007-character template in one pass, not one per `{{`", () => {
    const template = "{{a|".repeat(1000) + "}x{{b}}";
    const { source, work } = counting(template);
    const parts = scanTemplate(source);
    expect(parts).toEqual(["{{a|".repeat(1000) + "}x", { name: "b", fallback: undefined }]);
    expect(work()).toBeLessThanOrEqual(WORK_PER_CHARACTER * template.length);
  });

  it("keeps the same work per character when the template grows tenfold", () => {
    const workFor = (times: number) => {
      const { source, work } = counting("{{a|".repeat(times) + "}x{{ b |".repeat(times) + "}");
      scanTemplate(source);
      return work() / (8 * times + 1);
    };
    expect(workFor(1000)).toBeLessThanOrEqual(workFor(100) * 1.01);
  });
});
