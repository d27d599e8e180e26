/**
 * HTML built only through the `html` tag: every interpolated value is escaped unless it is itself
 * `Html` made by the tag. A value can never become markup by accident, so pages need no review
 * for escaping, only for what they say.
 */
const madeHere: unique symbol = Symbol("html");

export class Html {
  readonly #text: string;
  /** Only this module makes `Html`: from the tag's literal parts and escaped values. */
  constructor(key: typeof madeHere, text: string) {
    if (key !== madeHere) throw new TypeError("Html is made by the html tag only");
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Text made safe for element content and for quoted attribute values alike. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);

/** What may be interpolated: text and numbers are escaped; `Html` is kept; lists are joined; nothing else. */
export type HtmlValue = Html | string | number | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.toString();
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new Html(madeHere, out);
}
