import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  escapeForParseMode,
  placeholdersOf,
  renderTemplate,
  requiredVariables,
} from "../../src/core/template.js";

/** The 18 characters Telegram's MarkdownV2 reserves. */
const MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!";

describe("renderTemplate: placeholders", () => {
  it("fills {{name}} from the recipient's variables", () => {
    expect(renderTemplate("Hello, {{name}}!", { name: "Ann" })).toBe("Hello, Ann!");
  });

  it("allows spaces inside the braces", () => {
    expect(renderTemplate("Hello, {{ name }}!", { name: "Ann" })).toBe("Hello, Ann!");
  });

  it("fills every occurrence, of every placeholder", () => {
    expect(renderTemplate("{{a}}{{b}}{{a}}", { a: "1", b: "2" })).toBe("121");
  });

  it("writes numbers and booleans as text", () => {
    expect(renderTemplate("{{n}} {{ok}}", { n: 42, ok: true })).toBe("42 true");
  });

  it("uses {{name|default}} when the variable is missing", () => {
    expect(renderTemplate("Hello, {{name|friend}}!", {})).toBe("Hello, friend!");
    expect(renderTemplate("Hello, {{name|friend}}!", null)).toBe("Hello, friend!");
  });

  it("prefers the variable to the default when both exist", () => {
    expect(renderTemplate("Hello, {{name|friend}}!", { name: "Ann" })).toBe("Hello, Ann!");
  });

  it("renders a missing variable without a default as nothing", () => {
    expect(renderTemplate("Hello, {{name}}!", undefined)).toBe("Hello, !");
  });

  it("keeps an empty string variable empty rather than taking the default", () => {
    expect(renderTemplate("[{{name|friend}}]", { name: "" })).toBe("[]");
  });

  it("leaves text that is not a placeholder alone", () => {
    expect(renderTemplate("{name} {{ }} {{1abc}} {{a-b}}", { name: "x", "1abc": "y", "a-b": "z" })).toBe(
      "{name} {{ }} {{1abc}} {{a-b}}",
    );
  });

  it("writes the default as template text: the author's markup, not escaped", () => {
    expect(renderTemplate("{{name|<b>friend</b>}}", {}, "HTML")).toBe("<b>friend</b>");
  });
});

describe("renderTemplate: templates are data, never code", () => {
  it("does not expand a placeholder that a variable's value contains", () => {
    expect(renderTemplate("{{a}}", { a: "{{b}}", b: "secret" })).toBe("{{b}}");
  });

  it("does not evaluate expressions or replacement patterns", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the point is that this stays text
    const text = "${1+1} {{a}} `${process.exit(1)}`";
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the point is that this stays text
    const expected = "${1+1} $& $1 $$ $` `${process.exit(1)}`";
    expect(renderTemplate(text, { a: "$& $1 $$ $`" })).toBe(expected);
  });

  it("does not read inherited properties as variables", () => {
    expect(renderTemplate("[{{constructor}}][{{toString}}][{{__proto__|none}}]", {})).toBe("[][][none]");
  });
});

describe("escapeForParseMode", () => {
  it("escapes <, >, & and quotes for HTML", () => {
    expect(escapeForParseMode(`<b>Tom & "Jerry's"</b>`, "HTML")).toBe(
      "&lt;b&gt;Tom &amp; &quot;Jerry&#39;s&quot;&lt;/b&gt;",
    );
  });

  it("escapes each of MarkdownV2's 18 reserved characters, and the backslash", () => {
    expect(escapeForParseMode(MARKDOWN_V2_RESERVED, "MarkdownV2")).toBe(
      [...MARKDOWN_V2_RESERVED].map((c) => `\\${c}`).join(""),
    );
    expect(escapeForParseMode("a\\b", "MarkdownV2")).toBe("a\\\\b");
  });

  it("leaves plain text (no parse mode) as it is", () => {
    expect(escapeForParseMode("<b>*x*</b>", undefined)).toBe("<b>*x*</b>");
  });
});

describe("renderTemplate: a variable never becomes markup", () => {
  it("delivers a variable holding <b> as text in HTML", () => {
    expect(renderTemplate("<i>{{name}}</i>", { name: "<b>boss</b>" }, "HTML")).toBe(
      "<i>&lt;b&gt;boss&lt;/b&gt;</i>",
    );
  });

  it("keeps a variable inside the attribute it was placed in", () => {
    expect(
      renderTemplate('<a href="https://x.example/?u={{id}}">go</a>', { id: '1" onclick="x' }, "HTML"),
    ).toBe('<a href="https://x.example/?u=1&quot; onclick=&quot;x">go</a>');
  });

  it("delivers a variable holding MarkdownV2 markup as text", () => {
    expect(renderTemplate("*{{name}}*", { name: "_x_ [a](b) 1.5!" }, "MarkdownV2")).toBe(
      "*\\_x\\_ \\[a\\]\\(b\\) 1\\.5\\!*",
    );
  });

  it("escapes numbers too (a MarkdownV2 '-' or '.' in 1.5 or -3 is reserved)", () => {
    expect(renderTemplate("{{a}} {{b}}", { a: 1.5, b: -3 }, "MarkdownV2")).toBe("1\\.5 \\-3");
  });
});

// ---- properties -------------------------------------------------------------------------

type Segment =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "var"; readonly name: string };

const NAMES = ["a", "b", "c"] as const;
const variablesArb = fc.record({ a: fc.string(), b: fc.string({ unit: "binary" }), c: fc.string() });

const renderSegments = (segments: readonly Segment[]) =>
  segments.map((s) => (s.kind === "text" ? s.text : `{{${s.name}}}`)).join("");
const templateMarkupText = (segments: readonly Segment[]) =>
  segments.map((s) => (s.kind === "text" ? s.text : "")).join("");

const placeholderArb = fc.constantFrom(...NAMES).map((name): Segment => ({ kind: "var", name }));

/** Template text made of plain words and whole tags: every tag in it is one the author wrote. */
const htmlTemplateArb = fc.array(
  fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9 ,.!?:;-]{0,8}$/).map((text): Segment => ({ kind: "text", text })),
    fc
      .constantFrom(
        "<b>",
        "</b>",
        "<i>",
        "</i>",
        "<code>",
        "</code>",
        '<a href="https://x.example/">',
        "</a>",
      )
      .map((text): Segment => ({ kind: "text", text })),
    placeholderArb,
  ),
  { maxLength: 12 },
);

const tagsOf = (html: string) => html.match(/<[^<>]*>/g) ?? [];
const unescapeHtml = (html: string) =>
  html.replace(/&(lt|gt|quot|#39|amp);/g, (_, name: string) =>
    name === "lt" ? "<" : name === "gt" ? ">" : name === "quot" ? '"' : name === "#39" ? "'" : "&",
  );

/** Template text made of plain words, markup characters and escaped characters, as an author writes MarkdownV2. */
const markdownTemplateArb = fc.array(
  fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9 ,:;]{0,8}$/).map((text): Segment => ({ kind: "text", text })),
    fc.constantFrom(...MARKDOWN_V2_RESERVED).map((text): Segment => ({ kind: "text", text })),
    fc.constantFrom(...MARKDOWN_V2_RESERVED, "\\").map((c): Segment => ({ kind: "text", text: `\\${c}` })),
    placeholderArb,
  ),
  { maxLength: 12 },
);

/** The characters MarkdownV2 reads as markup: reserved ones not preceded by an escaping backslash. */
function markdownMarkupOf(text: string): string[] {
  const markup: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === "\\") i++;
    else if (MARKDOWN_V2_RESERVED.includes(c)) markup.push(c);
  }
  return markup;
}
const unescapeMarkdown = (text: string) => text.replace(/\\(.)/gs, "$1");

describe("renderTemplate: properties", () => {
  test.prop([htmlTemplateArb, variablesArb])(
    "HTML: the rendered message holds exactly the template's tags, whatever the variables",
    (segments, variables) => {
      const rendered = renderTemplate(renderSegments(segments), variables, "HTML");
      expect(tagsOf(rendered)).toEqual(tagsOf(templateMarkupText(segments)));
    },
  );

  test.prop([fc.string({ unit: "binary" })])("HTML: an escaped value reads back as the value", (value) => {
    expect(unescapeHtml(renderTemplate("{{v}}", { v: value }, "HTML"))).toBe(value);
  });

  test.prop([markdownTemplateArb, variablesArb])(
    "MarkdownV2: the rendered message holds exactly the template's markup characters",
    (segments, variables) => {
      const rendered = renderTemplate(renderSegments(segments), variables, "MarkdownV2");
      expect(markdownMarkupOf(rendered)).toEqual(markdownMarkupOf(templateMarkupText(segments)));
    },
  );

  test.prop([fc.string({ unit: "binary" })])(
    "MarkdownV2: every reserved character of a value is preceded by a backslash, and reads back",
    (value) => {
      const rendered = renderTemplate("{{v}}", { v: value }, "MarkdownV2");
      expect(markdownMarkupOf(rendered)).toEqual([]);
      expect(unescapeMarkdown(rendered)).toBe(value);
    },
  );
});

describe("requiredVariables and placeholdersOf", () => {
  it("lists placeholders without a default, once each", () => {
    expect(requiredVariables("{{a}} {{b|x}} {{a}} {{ c }}")).toEqual(new Set(["a", "c"]));
  });

  it("treats an empty default as a default", () => {
    expect(requiredVariables("{{a|}}")).toEqual(new Set());
  });

  it("reports every placeholder with its default", () => {
    expect(placeholdersOf("{{a}} {{b|x y}}")).toEqual([
      { name: "a", fallback: undefined },
      { name: "b", fallback: "x y" },
    ]);
  });
});
