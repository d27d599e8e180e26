import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { escapeHtml, Html, html } from "../../src/dashboard/html.js";

const decode = (text: string) =>
  text
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&#96;", "`")
    .replaceAll("&amp;", "&");

describe("the html tag", () => {
  test.prop([fc.string({ unit: "binary" })])(
    "turns any text into inert text that reads back as given",
    (text) => {
      const out = html`<p title="${text}">${text}</p>`.toString();
      const inner = out.slice('<p title="'.length, out.indexOf('">'));
      expect(inner).not.toMatch(/[<>"'`]/);
      expect(decode(inner)).toBe(text);
      expect(out.endsWith(`>${inner}</p>`)).toBe(true);
    },
  );

  it("keeps Html made by the tag, joins lists and leaves out null, undefined and false", () => {
    const item = (name: string) => html`<li>${name}</li>`;
    expect(html`<ul>${["<a>", "b"].map(item)}${null}${undefined}${false}${0}</ul>`.toString()).toBe(
      "<ul><li>&lt;a&gt;</li><li>b</li>0</ul>",
    );
  });

  it("cannot be forged: an object that looks like Html is still escaped, and Html has no public maker", () => {
    const forged = { toString: () => "<script>alert(1)</script>" };
    expect(html`${forged as unknown as string}`.toString()).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(() => new Html(Symbol("html") as never, "<b>")).toThrow(TypeError);
  });

  it("escapes the characters that end text or a quoted attribute", () => {
    expect(escapeHtml(`<>&"'\``)).toBe("&lt;&gt;&amp;&quot;&#39;&#96;");
  });
});
