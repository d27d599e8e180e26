import { isJsonMediaType } from "../http/body.js";

/**
 * Only this origin's files run, nothing inline; Trusted Types make the browser refuse any HTML
 * string assigned to the page (`innerHTML` and the like), so no value can become markup even
 * through a bug in the page's code or a library. Styles set through the CSSOM (a bar's width) are
 * not inline styles and stay allowed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Headers every answer of the dashboard carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

export type ApiCallRefusal = "not_json" | "cross_site";

/**
 * Whether a state-changing call to the dashboard's API could have come from another site. The
 * dashboard's own code sends every POST as JSON, which a form on another site cannot do (and a
 * script there cannot without a CORS preflight this handler never approves); a browser that says
 * the call came from another site (`Sec-Fetch-Site`) is refused as well. So an administrator's
 * cookie or saved password cannot be used by another site, even for bodyless actions.
 */
export function refuseCrossSite(request: Request): ApiCallRefusal | null {
  if (request.method === "GET" || request.method === "HEAD") return null;
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return "cross_site";
  return isJsonMediaType(request.headers.get("content-type")) ? null : "not_json";
}
