import { CLIENT_SCRIPT, CLIENT_SCRIPT_HASH, STYLESHEET, STYLESHEET_HASH } from "./assets.generated.js";

/** A file the dashboard serves from memory; its name carries a hash of its content. */
export interface Asset {
  readonly name: string;
  readonly contentType: string;
  readonly body: string;
}

/**
 * The page's one script and one stylesheet (uPlot and PapaParse bundled in), built into the
 * package by scripts/dashboard-assets.mjs. A new version has a new name, so browsers may keep
 * them forever.
 */
/** A small icon, so browsers asking for one get it from here rather than a 404. */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2f5bd3"/>' +
  '<path d="M7 17l17-8-5 16-4-6-8-2z" fill="#fff"/></svg>';

export const ASSETS: readonly Asset[] = [
  {
    name: `dashboard.${CLIENT_SCRIPT_HASH}.js`,
    contentType: "text/javascript; charset=utf-8",
    body: CLIENT_SCRIPT,
  },
  { name: `dashboard.${STYLESHEET_HASH}.css`, contentType: "text/css; charset=utf-8", body: STYLESHEET },
  { name: "icon.svg", contentType: "image/svg+xml", body: ICON },
];

export const SCRIPT_ASSET = ASSETS[0] as Asset;
export const STYLE_ASSET = ASSETS[1] as Asset;
export const ICON_ASSET = ASSETS[2] as Asset;

export const findAsset = (name: string): Asset | undefined => ASSETS.find((asset) => asset.name === name);
