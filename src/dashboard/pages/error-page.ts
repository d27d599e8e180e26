import { html } from "../html.js";
import { layout, type PageContext } from "./layout.js";

/** A page that says what went wrong and shows nothing else: no data, no links for the signed-out. */
export function errorPage(ctx: PageContext, title: string, detail: string, signedIn: boolean) {
  return layout(ctx, {
    title,
    page: "error",
    bare: !signedIn,
    body: html`<section class="error-page"><h1>${title}</h1><p class="muted">${detail}</p>${
      signedIn ? html`<p><a href="${ctx.base}/">${ctx.catalog.backToList}</a></p>` : ""
    }</section>`,
  });
}
