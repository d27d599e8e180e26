/*
 * The browser code builds the page from text nodes and properties only: no HTML string is ever
 * parsed (the page's Content-Security-Policy also refuses it with Trusted Types), so a value can
 * never become markup.
 */

type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  readonly className?: string;
  readonly title?: string;
  readonly [attribute: `data-${string}`]: string;
}

/** An element with text children: strings become text nodes, never markup. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  ...children: readonly Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (name === "className") element.className = value;
    else if (name === "title") element.title = value;
    else element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "object" ? child : String(child));
  }
  return element;
}

/** The element with this id, of the expected kind, or an error naming what the page lacks. */
export function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`dashboard page has no #${id}`);
  return found;
}

export function maybeById<T extends HTMLElement>(id: string, kind: new () => T): T | null {
  const found = document.getElementById(id);
  return found instanceof kind ? found : null;
}

/** Shows a message in a live region (role="alert" or "status"); empty text hides it. */
export function say(region: HTMLElement, text: string): void {
  region.textContent = text;
  region.hidden = text === "";
}
