/** What a request asks the service to do. */
export type Operation =
  | "list"
  | "create"
  | "get"
  | "start"
  | "schedule"
  | "unschedule"
  | "pause"
  | "resume"
  | "cancel"
  | "retry"
  | "recipients"
  | "add_recipients"
  | "progress"
  | "progress_stream"
  | "webhooks"
  | "broadcast_webhooks";

type Method = "GET" | "POST";

interface Route {
  /** Segments after the base path; `:id` matches any one segment, checked later as a broadcast id. */
  readonly path: readonly string[];
  readonly methods: Readonly<Partial<Record<Method, Operation>>>;
}

/**
 * SPEC §8's routes, plus `unschedule` (SPEC §2's scheduled → draft) and the webhook delivery log
 * (`webhooks` is matched before `:id`, which it would otherwise be read as).
 */
export const ROUTES: readonly Route[] = [
  { path: [], methods: { GET: "list", POST: "create" } },
  { path: ["webhooks"], methods: { GET: "webhooks" } },
  { path: [":id"], methods: { GET: "get" } },
  { path: [":id", "send"], methods: { POST: "start" } },
  { path: [":id", "schedule"], methods: { POST: "schedule" } },
  { path: [":id", "unschedule"], methods: { POST: "unschedule" } },
  { path: [":id", "pause"], methods: { POST: "pause" } },
  { path: [":id", "resume"], methods: { POST: "resume" } },
  { path: [":id", "cancel"], methods: { POST: "cancel" } },
  { path: [":id", "retry"], methods: { POST: "retry" } },
  { path: [":id", "recipients"], methods: { GET: "recipients", POST: "add_recipients" } },
  { path: [":id", "progress"], methods: { GET: "progress" } },
  { path: [":id", "progress", "stream"], methods: { GET: "progress_stream" } },
  { path: [":id", "webhooks"], methods: { GET: "broadcast_webhooks" } },
];

export type RouteMatch =
  | { readonly type: "matched"; readonly operation: Operation; readonly idSegment: string | undefined }
  | { readonly type: "method_not_allowed"; readonly allowed: readonly string[] }
  | { readonly type: "no_route" };

/** `"/api/x/"` and `"/api/x"` are the same base; `"/"` is the root. */
export function normalizeBasePath(basePath: string): string {
  if (!basePath.startsWith("/")) throw new TypeError(`basePath must start with "/": ${basePath}`);
  return basePath.replace(/\/+$/, "");
}

/** The segments after `base`, one trailing slash allowed; `null` when the path is not under `base`. */
function segmentsUnder(base: string, pathname: string): string[] | null {
  if (pathname !== base && !pathname.startsWith(`${base}/`)) return null;
  const rest = pathname.slice(base.length);
  if (rest === "" || rest === "/") return [];
  // rest starts with "/": drop it and one trailing slash, then every segment must be non-empty.
  const segments = rest.slice(1).replace(/\/$/, "").split("/");
  // "//" inside a path is no route: an empty segment is never an id or an action.
  return segments.includes("") ? null : segments;
}

export function matchRoute(base: string, pathname: string, method: string): RouteMatch {
  const segments = segmentsUnder(base, pathname);
  if (segments === null) return { type: "no_route" };
  for (const route of ROUTES) {
    if (route.path.length !== segments.length) continue;
    let idSegment: string | undefined;
    const fits = route.path.every((part, i) => {
      const segment = segments[i] ?? "";
      if (part === ":id") {
        idSegment = segment;
        return true;
      }
      return part === segment;
    });
    if (!fits) continue;
    // Own keys only: a method named "constructor" must not find Object.prototype's.
    const operation = Object.hasOwn(route.methods, method) ? route.methods[method as Method] : undefined;
    if (operation === undefined) return { type: "method_not_allowed", allowed: Object.keys(route.methods) };
    return { type: "matched", operation, idSegment };
  }
  return { type: "no_route" };
}
